//! Server-only account services: creating users and hashing passwords.
use super::Role;
use crate::{db_tx, error::AppError, server::db::Db};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use uuid::Uuid;

/// argon2id with OWASP's first recommended set (19 MiB, 2 passes, 1 lane); the parameters are
/// recorded in every hash string, so they can be raised later.
fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Hashes on the blocking pool: a hash takes tens of milliseconds and must not stall the runtime.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| AppError::Internal)?
    .map_err(|_| AppError::Internal)
}

pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// Trims and lower-cases an email address; refuses what cannot be one.
pub fn normalise_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace())
        && email.matches('@').count() == 1;
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid("email", "accounts.error.email_invalid"))
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub verified: bool,
}

/// Creates a user with credentials and profile in one transaction. A taken email (in any case) is refused.
pub async fn create_user(db: &Db, new: NewUser<'_>) -> Result<Uuid, AppError> {
    let email = normalise_email(new.email)?;
    let hash = hash_password(new.password.to_string()).await?;
    let id = Uuid::new_v4();
    let now = crate::server::now();
    let verified = new.verified.then_some(now);
    let result: Result<(), sqlx::Error> = async {
        db_tx!(db, tx => {
            sqlx::query("INSERT INTO users (id, email, role, status, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $5)")
                .bind(id).bind(&email).bind(new.role.as_str()).bind(verified).bind(now)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)")
                .bind(id).bind(&hash).bind(now)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO profiles (user_id, first_name, last_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                .bind(id).bind(new.first_name).bind(new.last_name).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(AppError::invalid("email", "accounts.error.email_taken"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets a user's role (by email); used by the `create-admin` command for an existing account.
pub async fn set_role_by_email(db: &Db, email: &str, role: Role) -> Result<bool, AppError> {
    let email = normalise_email(email)?;
    let done = crate::db_run!(db, pool => sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE email = $3")
        .bind(role.as_str()).bind(crate::server::now()).bind(&email)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalise_email("  Alice@Example.ORG ").unwrap(),
            "alice@example.org"
        );
        for bad in [
            "",
            "alice",
            "a@b",
            "a b@c.org",
            "@c.org",
            "a@@c.org",
            "a@c.org.",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_their_parameters_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("wrong".into(), h).await);
    }
}
