//! Password reset: the link mailed, and the new password set from it.
use super::*;

pub(crate) const RESET_MINUTES: i64 = 60;

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
    let mail = Mail::new(
        MailKind::ResetPassword,
        Some(user_id),
        email,
        Locale::from_code(&locale).unwrap_or_default(),
        Some(link),
    )
    .with(vec![("minutes", RESET_MINUTES.to_string())]);
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
