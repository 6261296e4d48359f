//! One-time links (verification, change of address, password reset): issued and used.
use super::*;

pub(crate) const VERIFY_HOURS: i64 = 48;

/// The one-time link a mail carries: its token's purpose, lifetime and page.
pub(crate) struct Link<'a> {
    pub(crate) user_id: Uuid,
    pub(crate) purpose: &'a str,
    pub(crate) new_email: Option<&'a str>,
    pub(crate) ttl: Duration,
    pub(crate) path: &'a str,
}

/// Makes the link's one-time token (only its hash is stored) and returns the link,
/// `{base_url}{path}?token=…`.
pub(crate) async fn issue_link(
    tx: &mut Tx,
    base_url: &str,
    link: Link<'_>,
) -> Result<String, sqlx::Error> {
    let token = session::new_token();
    let now = now();
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO verification_tokens (id, user_id, purpose, token_hash, new_email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(Uuid::new_v4()).bind(link.user_id).bind(link.purpose).bind(session::hash_token(&token)).bind(link.new_email).bind(now).bind(now + link.ttl)
        .execute(c).await.map(|_| ()))?;
    Ok(format!("{base_url}{}?token={token}", link.path))
}

/// Uses a one-time token: marks it used if it is live, unused and of one of `purposes`, all in one
/// conditional UPDATE, so two clicks on one link cannot both succeed.
pub(crate) async fn consume_token(
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
