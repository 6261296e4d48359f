//! Password hashing (argon2id, on the hashing threads) and checking.
use super::*;

/// argon2id with OWASP's first recommended set (19 MiB, 2 passes, 1 lane); the parameters are
/// recorded in every hash string, so they can be raised later.
pub(crate) fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Whether a stored hash was made with other parameters than today's (then it is redone at login).
pub(crate) fn needs_rehash(hash: &str) -> bool {
    PasswordHash::new(hash).map_or(true, |h| {
        h.algorithm != Algorithm::Argon2id.ident()
            || Params::try_from(&h).map_or(true, |p| {
                p.m_cost() != 19 * 1024 || p.t_cost() != 2 || p.p_cost() != 1
            })
    })
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    hashers()
        .run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|_| AppError::Internal)
}

/// Whether `password` matches `hash`; an error only when the check could not be made.
pub async fn verify_password(password: String, hash: String) -> Result<bool, AppError> {
    // No account has a longer password (sign-up takes 256 characters at most): it cannot match,
    // and it is not worth a place in the hashing queue.
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    hashers()
        .run(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
}

/// 256 characters of at most 4 bytes each: the longest password sign-up takes.
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;
