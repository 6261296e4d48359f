//! Unsubscribe links: `/unsubscribe/<token>`, the token being the account's id and an HMAC of it
//! under the server's secret, so that the link works without logging in and names no one else.
use super::*;
use crate::messages::UnsubscribeInfo;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn unsubscribe_mac(config: &Config, user_id: Uuid) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&config.secret_key).expect("any key length");
    mac.update(b"unsubscribe\0");
    mac.update(user_id.as_bytes());
    mac
}

/// The account's id (32 hex digits) and an HMAC of it under the server's secret.
pub fn unsubscribe_token(config: &Config, user_id: Uuid) -> String {
    let mac = unsubscribe_mac(config, user_id).finalize().into_bytes();
    format!("{}{}", user_id.simple(), URL_SAFE_NO_PAD.encode(mac))
}

pub fn unsubscribe_link(config: &Config, user_id: Uuid) -> String {
    format!(
        "{}/unsubscribe/{}",
        config.base_url,
        unsubscribe_token(config, user_id)
    )
}

/// The account a link names, if the link is ours and the account still there: its id, address and
/// whether it currently opts in.
async fn link_account(state: &AppState, token: &str) -> Result<(Uuid, String, bool), AppError> {
    let invalid = || AppError::invalid("token", "messages.unsubscribe.invalid");
    let token = token.trim();
    let (id, sig) = (
        token.get(..32).ok_or_else(invalid)?,
        token.get(32..).ok_or_else(invalid)?,
    );
    let user_id = Uuid::parse_str(id).map_err(|_| invalid())?;
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| invalid())?;
    unsubscribe_mac(&state.config, user_id)
        .verify_slice(&sig)
        .map_err(|_| invalid())?;
    let row: Option<(String, bool)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT u.email, COALESCE((SELECT c.granted FROM user_consents c WHERE c.user_id = u.id AND c.type = 'MARKETING_OPTIN' \
         ORDER BY c.accepted_at DESC LIMIT 1), $2) FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL")
        .bind(user_id).bind(false).fetch_optional(pool).await)?;
    let (email, subscribed) = row.ok_or_else(invalid)?;
    Ok((user_id, email, subscribed))
}

pub async fn unsubscribe_info(state: &AppState, token: &str) -> Result<UnsubscribeInfo, AppError> {
    let (_, email, subscribed) = link_account(state, token).await?;
    Ok(UnsubscribeInfo {
        email: mask(&email),
        subscribed,
    })
}

/// Withdraws the link's account's marketing consent (a consent row, as from the account page).
pub async fn unsubscribe(state: &AppState, token: &str) -> Result<(), AppError> {
    let (user_id, _, _) = link_account(state, token).await?;
    crate::privacy::service::set_marketing(state, user_id, false).await
}
