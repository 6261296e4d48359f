//! Sessions (Better Auth's job, done here): an opaque random token in an `HttpOnly` cookie, only its
//! SHA-256 stored; sliding expiry; and the one guard every server function uses.
use super::{AuthUser, Role, UserStatus};
use crate::{
    db_run,
    error::AppError,
    i18n::Locale,
    server::{config::Config, db::Db, state::fail, state::now, state::AppState},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use http::{header, HeaderValue};
use leptos::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use uuid::Uuid;

pub use crate::server::cookies::{cookie_value, session_token, SESSION_COOKIE};

pub const SESSION_DAYS: i64 = 30;
/// A session's expiry slides forward on use, at most once per this many minutes (fewer writes).
const TOUCH_EVERY_MINUTES: i64 = 5;

/// 256 random bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are random and long, so a fast hash is enough: the database never holds a usable token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A keyed hash of an IP address: proof for consents and sessions, never the address itself.
pub fn ip_hash(config: &Config, ip: IpAddr) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&config.secret_key).expect("any key length");
    mac.update(b"ip\0");
    mac.update(ip.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What the current request says about its sender.
#[derive(Clone, Debug, Default)]
pub struct RequestInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub session_token: Option<String>,
}

/// The client's address as the trusted proxies saw it: each proxy appends the address it received
/// the request from to `X-Forwarded-For`, so only the last `hops` entries were written by proxies
/// we trust; everything to their left was written by the client and proves nothing.
pub fn forwarded_client(headers: &http::HeaderMap, hops: usize) -> Option<IpAddr> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let index = entries.len().checked_sub(hops)?;
    entries.get(index)?.parse::<IpAddr>().ok()
}

pub fn request_info(config: &Config) -> RequestInfo {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return RequestInfo::default();
    };
    let forwarded = config
        .trust_proxy
        .then(|| forwarded_client(&parts.headers, config.trusted_proxies))
        .flatten();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    RequestInfo {
        ip: forwarded.or(peer),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(300).collect()),
        session_token: session_token(&parts.headers),
    }
}

fn set_cookie(value: String) {
    if let (Some(resp), Ok(v)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(&value),
    ) {
        resp.append_header(header::SET_COOKIE, v);
    }
}

pub fn session_cookie(config: &Config, token: &str, max_age_secs: i64) -> String {
    let secure = if config.is_dev() { "" } else { "; Secure" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    )
}

/// Opens a session for `user_id` and sets its cookie on the response. Records the login on the
/// account too (`last_login_at`: the retention spares accounts that came back after the event).
pub async fn start_session(state: &AppState, user_id: Uuid) -> Result<(), AppError> {
    let info = request_info(&state.config);
    let token = new_token();
    let now = now();
    let mut tx = state.db.begin().await?;
    crate::tx_run!(&mut tx, c => {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, token_hash, user_agent, ip_hash, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)")
            .bind(Uuid::new_v4()).bind(user_id).bind(hash_token(&token)).bind(&info.user_agent)
            .bind(info.ip.map(|ip| ip_hash(&state.config, ip))).bind(now).bind(now + Duration::days(SESSION_DAYS))
            .execute(&mut *c).await?;
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now).bind(user_id).execute(&mut *c).await?;
    });
    tx.commit().await?;
    set_cookie(session_cookie(&state.config, &token, SESSION_DAYS * 86400));
    Ok(())
}

pub fn clear_session_cookie(config: &Config) {
    set_cookie(session_cookie(config, "", 0));
}

#[derive(sqlx::FromRow)]
struct SessionUserRow {
    session_id: Uuid,
    last_seen_at: DateTime<Utc>,
    id: Uuid,
    email: String,
    #[sqlx(try_from = "String")]
    role: Role,
    #[sqlx(try_from = "String")]
    status: UserStatus,
    email_verified_at: Option<DateTime<Utc>>,
    locale: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// The user of a session token, if the session is live and the account active. Slides the expiry.
pub async fn user_for_token(db: &Db, token: &str) -> Result<Option<(AuthUser, Uuid)>, AppError> {
    let now = now();
    let row: Option<SessionUserRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT s.id AS session_id, s.last_seen_at, u.id, u.email, u.role, u.status, u.email_verified_at, u.locale, p.first_name, p.last_name \
         FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN profiles p ON p.user_id = u.id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.deleted_at IS NULL")
        .bind(hash_token(token)).bind(now).fetch_optional(pool).await)?;
    let Some(row) = row else { return Ok(None) };
    if row.status != UserStatus::Active {
        return Ok(None);
    }
    if now - row.last_seen_at > Duration::minutes(TOUCH_EVERY_MINUTES) {
        crate::db_write!(db, pool => sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3")
            .bind(now).bind(now + Duration::days(SESSION_DAYS)).bind(row.session_id).execute(pool).await.map(|_| ()))?;
    }
    Ok(Some((
        AuthUser {
            id: row.id,
            email: row.email,
            role: row.role,
            first_name: row.first_name,
            last_name: row.last_name,
            verified: row.email_verified_at.is_some(),
            locale: Locale::from_code(&row.locale).unwrap_or_default(),
        },
        row.session_id,
    )))
}

/// The user of a plain HTTP request (downloads outside server functions), from its session cookie.
pub async fn user_from_headers(db: &Db, headers: &http::HeaderMap) -> Option<AuthUser> {
    let token = session_token(headers)?;
    user_for_token(db, &token)
        .await
        .ok()
        .flatten()
        .map(|(u, _)| u)
}

/// The caller of one request, looked up at most once, from that request's own session cookie. The
/// [`identify`] middleware puts an empty one in every request's extensions; leptos_axum hands the
/// request's `Parts` (extensions included) to its pages and server functions.
#[derive(Clone, Default)]
pub struct Caller(std::sync::Arc<tokio::sync::OnceCell<Option<(AuthUser, Uuid)>>>);

/// Gives every request its own, empty [`Caller`]: identity is never carried from one request to
/// another, whatever state a worker thread was left in.
pub async fn identify(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    req.extensions_mut().insert(Caller::default());
    next.run(req).await
}

/// The caller, if logged in: from the current request only (looked up once per request). No request
/// (the router renders the app once to list its routes) means nobody.
pub async fn current_user() -> Result<Option<(AuthUser, Uuid)>, AppError> {
    let (Some(parts), Some(state)) = (
        use_context::<http::request::Parts>(),
        use_context::<AppState>(),
    ) else {
        return Ok(None);
    };
    // Defence in depth: the request whose work is running must be the one whose parts we read.
    let parts_id = parts.extensions.get::<crate::server::contain::RequestId>();
    if let (Some(running), Some(read)) = (crate::server::contain::current_request_id(), parts_id) {
        if &running != read {
            tracing::error!(running = %running.0, read = %read.0, "a request read another request's context");
            return Err(AppError::Internal);
        }
    }
    let Some(caller) = parts.extensions.get::<Caller>().cloned() else {
        return Ok(None);
    };
    let token = session_token(&parts.headers);
    caller
        .0
        .get_or_try_init(|| async {
            match token {
                Some(token) => user_for_token(&state.db, &token).await,
                None => Ok(None),
            }
        })
        .await
        .cloned()
}

/// The guard for logged-in callers: 401 otherwise.
pub async fn require_user() -> Result<AuthUser, AppError> {
    match current_user().await? {
        Some((user, _)) => Ok(user),
        None => Err(fail(AppError::Unauthorized)),
    }
}

/// The guard for logged-in callers and the application's state, which most server functions start
/// with: 401 when anonymous.
pub async fn user_state() -> Result<(AuthUser, crate::server::state::AppState), AppError> {
    let user = require_user().await?;
    Ok((user, crate::server::state::state()?))
}

/// The back office's guard and the application's state, which every admin server function starts
/// with: 401 when anonymous, 403 for another role.
pub async fn admin_state() -> Result<(AuthUser, crate::server::state::AppState), AppError> {
    let admin = require_role(&[Role::Admin]).await?;
    Ok((admin, crate::server::state::state()?))
}

/// What an admin reads of the back office: the guard, then `read` with the database and the
/// configuration (the list pages' server functions are this one call).
pub async fn admin_read<T>(
    read: impl AsyncFnOnce(
        &crate::server::db::Db,
        &crate::server::config::Config,
    ) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let (_, state) = admin_state().await?;
    read(&state.db, &state.config).await
}

/// What an admin changes in the back office: the guard, then `write` with the database, the
/// configuration and the admin's id (who the audit log names).
pub async fn admin_write<T>(
    write: impl AsyncFnOnce(
        &crate::server::db::Db,
        &crate::server::config::Config,
        Uuid,
    ) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let (admin, state) = admin_state().await?;
    write(&state.db, &state.config, admin.id).await
}

/// The guard for roles: 401 when anonymous, 403 when the role is not among `roles`.
pub async fn require_role(roles: &[Role]) -> Result<AuthUser, AppError> {
    let user = require_user().await?;
    if roles.contains(&user.role) {
        Ok(user)
    } else {
        Err(fail(AppError::Forbidden))
    }
}
