//! Server-only account services: creating users and hashing passwords.
use super::{
    check_password, hashing::hashers, session, AuthUser, ConsentType, Profile, Role, SessionInfo,
    UserStatus,
};
use crate::{
    db_run,
    error::AppError,
    i18n::Locale,
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
    server::{
        db::{Db, Tx},
        state::now, state::AppState,
    },
    tx_run,
};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use chrono::{DateTime, Duration, Utc};
use std::time::Duration as StdDuration;
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

/// Whether a stored hash was made with other parameters than today's (then it is redone at login).
fn needs_rehash(hash: &str) -> bool {
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
const MAX_PASSWORD_BYTES: usize = 1024;

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
    let now = crate::server::state::now();
    let verified = new.verified.then_some(now);
    let result: Result<(), sqlx::Error> = async {
        let mut tx = db.begin().await?;
        tx_run!(&mut tx, c => {
            sqlx::query("INSERT INTO users (id, email, role, status, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $5)")
                .bind(id).bind(&email).bind(new.role.as_str()).bind(verified).bind(now)
                .execute(&mut *c).await?;
            sqlx::query("INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)")
                .bind(id).bind(&hash).bind(now)
                .execute(&mut *c).await?;
            sqlx::query("INSERT INTO profiles (user_id, first_name, last_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                .bind(id).bind(new.first_name).bind(new.last_name).bind(now)
                .execute(&mut *c).await?;
        });
        tx.commit().await
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
    let done = crate::db_write!(db, pool => sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE email = $3")
        .bind(role.as_str()).bind(crate::server::state::now()).bind(&email)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

const VERIFY_HOURS: i64 = 48;
const RESET_MINUTES: i64 = 60;

/// The one-time link a mail carries: its token's purpose, lifetime and page.
struct Link<'a> {
    user_id: Uuid,
    purpose: &'a str,
    new_email: Option<&'a str>,
    ttl: Duration,
    path: &'a str,
}

/// Makes the link's one-time token (only its hash is stored) and returns the link,
/// `{base_url}{path}?token=…`.
async fn issue_link(tx: &mut Tx, base_url: &str, link: Link<'_>) -> Result<String, sqlx::Error> {
    let token = session::new_token();
    let now = now();
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO verification_tokens (id, user_id, purpose, token_hash, new_email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(Uuid::new_v4()).bind(link.user_id).bind(link.purpose).bind(session::hash_token(&token)).bind(link.new_email).bind(now).bind(now + link.ttl)
        .execute(c).await.map(|_| ()))?;
    Ok(format!("{base_url}{}?token={token}", link.path))
}

pub struct SignupForm {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub terms: bool,
    pub privacy: bool,
    pub marketing: bool,
    pub locale: Locale,
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().chars().take(100).collect::<String>())
        .filter(|v| !v.is_empty())
}

/// Gives `budget`'s hit back when the hashing it paid for was turned away busy: being asked to come
/// back in a minute is not an attempt (a venue's sign-ins share one address's budget).
pub(crate) fn unless_busy<T>(
    state: &AppState,
    budget: &str,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    if matches!(result, Err(AppError::Busy)) {
        state.rate_limiter.forgive(budget);
    }
    result
}

/// One attempt counted against `key`'s budget of `max` per `window_secs`; 429 past it.
pub(crate) fn limited(
    state: &AppState,
    key: &str,
    max: usize,
    window_secs: u64,
) -> Result<(), AppError> {
    state
        .rate_limiter
        .hit(key, max, StdDuration::from_secs(window_secs))
        .map_err(|secs| AppError::RateLimited {
            minutes: secs.div_ceil(60),
        })
}

/// The request's client address, as a rate-limit key.
pub(crate) fn ip_key(state: &AppState) -> String {
    session::request_info(&state.config)
        .ip
        .map(address_block)
        .unwrap_or_else(|| "unknown".into())
}

/// The block an address's budget is counted on: the address for IPv4, its /64 for IPv6 (one
/// subscriber gets a whole /64, and would otherwise have 2^64 budgets).
fn address_block(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Sign-up. The answer is the same whether the address is new or taken (the owner of a taken
/// address gets a mail saying so), so sign-up never tells who has an account.
pub async fn signup(state: &AppState, form: SignupForm) -> Result<(), AppError> {
    let email = normalise_email(&form.email)?;
    check_password(&form.password, &email)?;
    if !form.terms {
        return Err(AppError::invalid("terms", "accounts.error.terms_required"));
    }
    if !form.privacy {
        return Err(AppError::invalid(
            "privacy",
            "accounts.error.privacy_required",
        ));
    }
    let budget = format!("signup:ip:{}", ip_key(state));
    limited(state, &budget, 10, 3600)?;
    let hash = unless_busy(state, &budget, hash_password(form.password.clone()).await)?;
    let info = session::request_info(&state.config);
    let ip_hash = info.ip.map(|ip| session::ip_hash(&state.config, ip));
    let id = Uuid::new_v4();
    let now = now();
    let mut tx = state.db.begin().await?;
    let inserted = tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO users (id, email, role, status, locale, created_at, updated_at) VALUES ($1, $2, 'USER', 'ACTIVE', $3, $4, $4) \
         ON CONFLICT (email) DO NOTHING")
        .bind(id).bind(&email).bind(form.locale.code()).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if inserted == 0 {
        let (owner, locale): (Uuid, String) = tx_run!(&mut tx, c => sqlx::query_as("SELECT id, locale FROM users WHERE email = $1").bind(&email).fetch_one(&mut *c).await)?;
        let mail = Mail {
            order_id: None,
            kind: MailKind::AccountExists,
            user_id: Some(owner),
            to: email.clone(),
            locale: Locale::from_code(&locale).unwrap_or_default(),
            vars: vec![],
            link: Some(format!("{}/forgot-password", state.config.base_url)),
        };
        enqueue(&mut tx, &mail).await?;
        tx.commit().await?;
        state.mailer.wake();
        return Ok(());
    }
    tx_run!(&mut tx, c => {
        sqlx::query("INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)")
            .bind(id).bind(&hash).bind(now).execute(&mut *c).await?;
        sqlx::query("INSERT INTO profiles (user_id, first_name, last_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(id).bind(clean(form.first_name.clone())).bind(clean(form.last_name.clone())).bind(now).execute(&mut *c).await?;
        let consents = [(ConsentType::Terms, true), (ConsentType::Privacy, true), (ConsentType::Marketing, form.marketing)];
        for (kind, given) in consents {
            if given {
                sqlx::query("INSERT INTO user_consents (id, user_id, type, version, accepted_at, ip_hash, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(Uuid::new_v4()).bind(id).bind(kind.as_str()).bind(&state.config.consent_version).bind(now)
                    .bind(&ip_hash).bind(&info.user_agent).execute(&mut *c).await?;
            }
        }
    });
    let link = issue_link(
        &mut tx,
        &state.config.base_url,
        Link {
            user_id: id,
            purpose: "VERIFY_EMAIL",
            new_email: None,
            ttl: Duration::hours(VERIFY_HOURS),
            path: "/verify-email",
        },
    )
    .await?;
    let mail = Mail {
        order_id: None,
        kind: MailKind::VerifyEmail,
        user_id: Some(id),
        to: email,
        locale: form.locale,
        vars: vec![("name", clean(form.first_name).unwrap_or_default())],
        link: Some(link),
    };
    enqueue(&mut tx, &mail).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Sends a new verification link to a logged-in user whose address is not verified yet.
pub async fn send_verification(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
    if user.verified {
        return Ok(());
    }
    limited(state, &format!("verify:acct:{}", user.id), 5, 3600)?;
    let mut tx = state.db.begin().await?;
    let link = issue_link(
        &mut tx,
        &state.config.base_url,
        Link {
            user_id: user.id,
            purpose: "VERIFY_EMAIL",
            new_email: None,
            ttl: Duration::hours(VERIFY_HOURS),
            path: "/verify-email",
        },
    )
    .await?;
    let mail = Mail {
        order_id: None,
        kind: MailKind::VerifyEmail,
        user_id: Some(user.id),
        to: user.email.clone(),
        locale: user.locale,
        vars: vec![("name", user.first_name.clone().unwrap_or_default())],
        link: Some(link),
    };
    enqueue(&mut tx, &mail).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Uses a one-time token: marks it used if it is live, unused and of one of `purposes`, all in one
/// conditional UPDATE, so two clicks on one link cannot both succeed.
async fn consume_token(
    tx: &mut Tx,
    token: &str,
    purposes: &[&str],
) -> Result<Option<(Uuid, String, Option<String>)>, AppError> {
    let now = now();
    let row: Option<(Uuid, String, Option<String>)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE verification_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, purpose, new_email")
        .bind(now).bind(session::hash_token(token.trim())).fetch_optional(c).await)?;
    Ok(row.filter(|(_, purpose, _)| purposes.contains(&purpose.as_str())))
}

/// Uses the link of a verification or change-of-address mail. Answers whether the reader's session
/// is the link's account.
///
/// A link logs no one in and never replaces a session: it proves that its reader reads the
/// mailbox, not that they chose the account's password (someone else may have signed up with
/// that address, or asked for the change), so the reader then logs in as usual. A change of
/// address also tells the old address, and ends every other link still out for the account.
pub async fn verify_email(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut tx = state.db.begin().await?;
    let Some((user_id, purpose, new_email)) =
        consume_token(&mut tx, token, &["VERIFY_EMAIL", "CHANGE_EMAIL"]).await?
    else {
        return Err(AppError::invalid("token", "accounts.error.token_invalid"));
    };
    let now = now();
    // A change of address: the new address, and the old one with its reader's language.
    let change: Option<(String, String, String)> = match (purpose.as_str(), new_email) {
        ("CHANGE_EMAIL", Some(new_email)) => {
            let old: Option<(String, String)> = tx_run!(&mut tx, c => sqlx::query_as(
                "SELECT email, locale FROM users WHERE id = $1 AND deleted_at IS NULL")
                .bind(user_id).fetch_optional(c).await)?;
            let Some((old_email, locale)) = old else {
                return Err(AppError::invalid("token", "accounts.error.token_invalid"));
            };
            Some((new_email, old_email, locale))
        }
        ("CHANGE_EMAIL", None) => return Err(AppError::Internal),
        _ => None,
    };
    let changed = if let Some((new_email, _, _)) = &change {
        tx_run!(&mut tx, c => sqlx::query("UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3")
            .bind(new_email).bind(now).bind(user_id).execute(c).await.map(|r| r.rows_affected()))
    } else {
        tx_run!(&mut tx, c => sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 WHERE id = $2 AND status = 'ACTIVE'")
            .bind(now).bind(user_id).execute(c).await.map(|r| r.rows_affected()))
    };
    match changed {
        Ok(1) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::invalid("token", "accounts.error.email_taken"))
        }
        Ok(_) => return Err(AppError::invalid("token", "accounts.error.token_invalid")),
        Err(e) => return Err(e.into()),
    }
    let address_changed = change.is_some();
    if let Some((new_email, old_email, locale)) = change {
        // Links mailed to the old address (a reset, a verification) die with it: whoever still
        // reads that mailbox no longer holds the account.
        tx_run!(&mut tx, c => sqlx::query("UPDATE verification_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(now).bind(user_id).execute(c).await.map(|_| ()))?;
        let mail = Mail {
            order_id: None,
            kind: MailKind::EmailChanged,
            user_id: Some(user_id),
            to: old_email,
            locale: Locale::from_code(&locale).unwrap_or_default(),
            vars: vec![("new_email", new_email)],
            link: Some(format!("{}/account", state.config.base_url)),
        };
        enqueue(&mut tx, &mail).await?;
    }
    tx.commit().await?;
    if address_changed {
        state.mailer.wake();
    }
    Ok(session::current_user()
        .await?
        .is_some_and(|(u, _)| u.id == user_id))
}

/// Login. Unknown address, wrong password and disabled account get one and the same answer, after
/// the same work (a password hash is checked in every case). Answers the account's id.
pub async fn login(state: &AppState, email: &str, password: &str) -> Result<Uuid, AppError> {
    let email = normalise_email(email)
        .map_err(|_| AppError::invalid("form", "accounts.error.bad_credentials"))?;
    // The address's budget counts failed attempts: a successful login gives its hit back (a
    // venue's Wi-Fi puts hundreds of attendees behind one address).
    let ip_limit = format!("login:ip:{}", ip_key(state));
    limited(state, &ip_limit, 30, 15 * 60)?;
    let account_key = format!("login:acct:{email}");
    state
        .rate_limiter
        .check(&account_key, 8, StdDuration::from_secs(15 * 60))
        .map_err(|secs| AppError::RateLimited {
            minutes: secs.div_ceil(60),
        })?;
    let row: Option<(Uuid, String, String)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT u.id, u.status, c.password_hash FROM users u JOIN user_credentials c ON c.user_id = u.id \
         WHERE u.email = $1 AND u.deleted_at IS NULL")
        .bind(&email).fetch_optional(pool).await)?;
    // A real hash of a random password: unknown addresses cost the same time as known ones.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let h = unless_busy(state, &ip_limit, hash_password(session::new_token()).await)?;
            DUMMY.get_or_init(|| h).clone()
        }
    };
    let (user_id, status, hash) = row.unwrap_or((Uuid::nil(), "NONE".into(), dummy));
    let ok = unless_busy(
        state,
        &ip_limit,
        verify_password(password.to_string(), hash.clone()).await,
    )?;
    if !ok || status != UserStatus::Active.as_str() {
        let _ = state
            .rate_limiter
            .hit(&account_key, usize::MAX, StdDuration::from_secs(15 * 60));
        return Err(AppError::invalid("form", "accounts.error.bad_credentials"));
    }
    state.rate_limiter.clear(&account_key);
    state.rate_limiter.forgive(&ip_limit);
    // Rehashed with today's parameters, unless the hashers are busy: then at a later login.
    if needs_rehash(&hash) {
        if let Ok(new_hash) = hash_password(password.to_string()).await {
            crate::db_write!(&state.db, pool => sqlx::query("UPDATE user_credentials SET password_hash = $1, updated_at = $2 WHERE user_id = $3")
                .bind(new_hash).bind(now()).bind(user_id).execute(pool).await.map(|_| ()))?;
        }
    }
    session::start_session(state, user_id).await?;
    Ok(user_id)
}

pub async fn logout(state: &AppState) -> Result<(), AppError> {
    if let Some(token) = session::request_info(&state.config).session_token {
        crate::db_write!(&state.db, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(session::hash_token(&token)).execute(pool).await.map(|_| ()))?;
    }
    session::clear_session_cookie(&state.config);
    Ok(())
}

pub async fn end_all_sessions(db: &Db, user_id: Uuid) -> Result<(), AppError> {
    crate::db_write!(db, pool => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(pool).await.map(|_| ()))?;
    Ok(())
}

pub async fn sessions_of(
    db: &Db,
    user_id: Uuid,
    current: Option<Uuid>,
) -> Result<Vec<SessionInfo>, AppError> {
    type Row = (Uuid, Option<String>, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, user_agent, created_at, last_seen_at FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC")
        .bind(user_id).bind(now()).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, user_agent, created_at, last_seen_at)| SessionInfo {
            id,
            user_agent,
            created_at,
            last_seen_at,
            current: Some(id) == current,
        })
        .collect())
}

pub async fn revoke_session(db: &Db, user_id: Uuid, session_id: Uuid) -> Result<(), AppError> {
    let n = crate::db_write!(db, pool => sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(session_id).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 1 {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Always answers the same; mails a reset link only to an active account.
pub async fn request_password_reset(state: &AppState, email: &str) -> Result<(), AppError> {
    let email = normalise_email(email)?;
    limited(state, &format!("reset:ip:{}", ip_key(state)), 10, 3600)?;
    if state
        .rate_limiter
        .hit(
            &format!("reset:acct:{email}"),
            3,
            StdDuration::from_secs(3600),
        )
        .is_err()
    {
        return Ok(()); // silently: saying "too many" would tell that the account exists
    }
    let user: Option<(Uuid, String)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT id, locale FROM users WHERE email = $1 AND status = 'ACTIVE' AND deleted_at IS NULL")
        .bind(&email).fetch_optional(pool).await)?;
    let Some((user_id, locale)) = user else {
        return Ok(());
    };
    let now = now();
    let mut tx = state.db.begin().await?;
    tx_run!(&mut tx, c => {
        // A new link replaces the older ones.
        sqlx::query("UPDATE verification_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = 'RESET_PASSWORD' AND used_at IS NULL")
            .bind(now).bind(user_id).execute(&mut *c).await?;
    });
    let link = issue_link(
        &mut tx,
        &state.config.base_url,
        Link {
            user_id,
            purpose: "RESET_PASSWORD",
            new_email: None,
            ttl: Duration::minutes(RESET_MINUTES),
            path: "/reset-password",
        },
    )
    .await?;
    let mail = Mail {
        order_id: None,
        kind: MailKind::ResetPassword,
        user_id: Some(user_id),
        to: email,
        locale: Locale::from_code(&locale).unwrap_or_default(),
        vars: vec![("minutes", RESET_MINUTES.to_string())],
        link: Some(link),
    };
    enqueue(&mut tx, &mail).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Sets a new password from a reset link: the link works once, every session of the account ends,
/// every other link still out for it (a change of address, a verification, another reset) stops
/// working, and the reader is logged in afresh.
pub async fn reset_password(state: &AppState, token: &str, password: &str) -> Result<(), AppError> {
    let budget = format!("reset-use:ip:{}", ip_key(state));
    limited(state, &budget, 20, 3600)?;
    let peek: Option<(String,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT u.email FROM verification_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1")
        .bind(session::hash_token(token.trim())).fetch_optional(pool).await)?;
    check_password(password, peek.map(|p| p.0).as_deref().unwrap_or(""))?;
    let hash = unless_busy(state, &budget, hash_password(password.to_string()).await)?;
    let mut tx = state.db.begin().await?;
    let Some((user_id, _, _)) = consume_token(&mut tx, token, &["RESET_PASSWORD"]).await? else {
        return Err(AppError::invalid("token", "accounts.error.token_invalid"));
    };
    let now = now();
    tx_run!(&mut tx, c => {
        sqlx::query("UPDATE user_credentials SET password_hash = $1, updated_at = $2 WHERE user_id = $3")
            .bind(&hash).bind(now).bind(user_id).execute(&mut *c).await?;
        sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 WHERE id = $2")
            .bind(now).bind(user_id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        // Whoever knew the old password may have asked for a change of address: its link dies here.
        sqlx::query("UPDATE verification_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(now).bind(user_id).execute(&mut *c).await?;
    });
    tx.commit().await?;
    session::start_session(state, user_id).await
}

pub async fn profile(db: &Db, user_id: Uuid) -> Result<Profile, AppError> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let row: Option<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT u.email, p.first_name, p.last_name, p.phone, u.locale, u.email_verified_at, p.company FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = $1")
        .bind(user_id).fetch_optional(pool).await)?;
    let (email, first_name, last_name, phone, locale, verified, company) =
        row.ok_or(AppError::NotFound)?;
    Ok(Profile {
        email,
        first_name,
        last_name,
        phone,
        company,
        locale: Locale::from_code(&locale).unwrap_or_default(),
        verified: verified.is_some(),
    })
}

/// Normalises a phone number to E.164 (`+33612345678`); French national numbers get `+33`.
pub fn normalise_phone(raw: &str) -> Result<String, AppError> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
        .collect();
    let e164 = if let Some(rest) = compact.strip_prefix("00") {
        format!("+{rest}")
    } else if compact.starts_with('0') && compact.len() == 10 {
        format!("+33{}", &compact[1..])
    } else {
        compact
    };
    let digits = e164.strip_prefix('+').unwrap_or("");
    let valid = digits.len() >= 8
        && digits.len() <= 15
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(e164)
    } else {
        Err(AppError::invalid("phone", "accounts.error.phone_invalid"))
    }
}

/// The names a profile form sets.
pub struct ProfileNames {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The company printed on the badge (one line, at most 120 characters).
    pub company: Option<String>,
}

pub async fn update_profile(
    db: &Db,
    user_id: Uuid,
    names: ProfileNames,
    phone: Option<String>,
    locale: &str,
) -> Result<(), AppError> {
    let ProfileNames {
        first_name,
        last_name,
        company,
    } = names;
    if company
        .as_ref()
        .is_some_and(|c| c.trim().chars().count() > 120)
    {
        return Err(AppError::invalid("company", "accounts.error.company_long"));
    }
    let company = company.map(|c| crate::text::one_line(&c));
    let phone = match clean(phone) {
        Some(p) => Some(normalise_phone(&p)?),
        None => None,
    };
    let locale = Locale::from_code(locale)
        .ok_or_else(|| AppError::invalid("locale", "accounts.error.locale_invalid"))?;
    let now = now();
    let mut tx = db.begin().await?;
    tx_run!(&mut tx, c => {
        sqlx::query("UPDATE profiles SET first_name = $1, last_name = $2, phone = $3, updated_at = $4, company = $6 WHERE user_id = $5")
            .bind(clean(first_name)).bind(clean(last_name)).bind(phone).bind(now).bind(user_id)
            .bind(company.filter(|c| !c.is_empty())).execute(&mut *c).await?;
        sqlx::query("UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3").bind(locale.code()).bind(now).bind(user_id).execute(&mut *c).await?;
    });
    tx.commit().await?;
    Ok(())
}

/// Starts an email change: a link goes to the new address, and only that link changes it.
pub async fn request_email_change(
    state: &AppState,
    user: &AuthUser,
    new_email: &str,
    password: &str,
) -> Result<(), AppError> {
    let new_email = normalise_email(new_email)
        .map_err(|_| AppError::invalid("new_email", "accounts.error.email_invalid"))?;
    let budget = format!("email-change:acct:{}", user.id);
    limited(state, &budget, 5, 3600)?;
    let (hash,): (String,) = db_run!(&state.db, pool => sqlx::query_as("SELECT password_hash FROM user_credentials WHERE user_id = $1")
        .bind(user.id).fetch_one(pool).await)?;
    if !unless_busy(
        state,
        &budget,
        verify_password(password.to_string(), hash).await,
    )? {
        return Err(AppError::invalid(
            "password",
            "accounts.error.password_wrong",
        ));
    }
    if new_email == user.email {
        return Ok(());
    }
    let taken: Option<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(&new_email).fetch_optional(pool).await)?;
    let mut tx = state.db.begin().await?;
    let mail = if taken.is_some() {
        Mail {
            order_id: None,
            kind: MailKind::AccountExists,
            user_id: None,
            to: new_email,
            locale: user.locale,
            vars: vec![],
            link: Some(format!("{}/forgot-password", state.config.base_url)),
        }
    } else {
        let link = issue_link(
            &mut tx,
            &state.config.base_url,
            Link {
                user_id: user.id,
                purpose: "CHANGE_EMAIL",
                new_email: Some(&new_email),
                ttl: Duration::hours(VERIFY_HOURS),
                path: "/verify-email",
            },
        )
        .await?;
        Mail {
            order_id: None,
            kind: MailKind::ChangeEmail,
            user_id: Some(user.id),
            to: new_email,
            locale: user.locale,
            vars: vec![],
            link: Some(link),
        }
    };
    enqueue(&mut tx, &mail).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Whether login must send the person to the consent page: their latest acceptance of the terms
/// or of the privacy policy is of another version than `CONSENT_VERSION`. An account that never
/// accepted anything through sign-up (made by `create-admin`, the demo data or an admin) is not
/// asked.
pub async fn needs_consent(db: &Db, config: &Config, user_id: Uuid) -> Result<bool, AppError> {
    let rows: Vec<(String, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT type, version FROM user_consents WHERE user_id = $1 AND type IN ('TERMS_ACCEPTED', 'PRIVACY_ACCEPTED') \
         ORDER BY accepted_at DESC")
        .bind(user_id).fetch_all(pool).await)?;
    if rows.is_empty() {
        return Ok(false);
    }
    let latest = |kind: ConsentType| {
        rows.iter()
            .find(|(t, _)| t == kind.as_str())
            .map(|(_, v)| v.as_str())
    };
    Ok([ConsentType::Terms, ConsentType::Privacy]
        .into_iter()
        .any(|kind| latest(kind) != Some(config.consent_version.as_str())))
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

    #[test]
    fn phones_become_e164() {
        assert_eq!(normalise_phone("06 12 34 56 78").unwrap(), "+33612345678");
        assert_eq!(
            normalise_phone("+44 20 7946 0958").unwrap(),
            "+442079460958"
        );
        assert_eq!(normalise_phone("0049 30 1234567").unwrap(), "+49301234567");
        for bad in ["12", "+0612345678", "06 12 AB 56 78", "+1234567890123456"] {
            assert!(normalise_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn old_parameters_are_rehashed() {
        assert!(needs_rehash(
            "$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"
        ));
        assert!(!needs_rehash(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"
        ));
    }

    #[test]
    fn an_ipv6_subscriber_has_one_budget_for_its_64() {
        let block = |a: &str| super::address_block(a.parse().unwrap());
        assert_eq!(block("2001:db8:1:2::1"), block("2001:db8:1:2:ffff::9"));
        assert_ne!(block("2001:db8:1:2::1"), block("2001:db8:1:3::1"));
        assert_eq!(block("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(block("192.0.2.7"), "192.0.2.7");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_their_parameters_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery".into(), h.clone())
            .await
            .unwrap());
        assert!(!verify_password("wrong".into(), h.clone()).await.unwrap());
        assert!(!verify_password("x".repeat(1025), h).await.unwrap());
    }
}
