//! Whether login must ask for consent to new terms.
use super::*;
use crate::server::config::Config;

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
