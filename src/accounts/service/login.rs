//! Login, logout and sessions (listed, revoked, all ended).
use super::*;

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
