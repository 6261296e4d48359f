//! Consents (the terms and privacy policy accepted, marketing given or withdrawn) and the
//! account page's privacy status.
use super::*;

pub use crate::accounts::service::needs_consent;

/// The technical proof recorded with a consent: a keyed hash of the IP and the user agent.
pub(crate) struct Proof {
    ip_hash: Option<String>,
    user_agent: Option<String>,
}

pub(crate) fn proof(config: &Config) -> Proof {
    let info = session::request_info(config);
    Proof {
        ip_hash: info.ip.map(|ip| session::ip_hash(config, ip)),
        user_agent: info.user_agent,
    }
}

pub(crate) async fn insert_consent(
    tx: &mut Tx,
    user_id: Uuid,
    kind: ConsentType,
    granted: bool,
    version: &str,
    proof: &Proof,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO user_consents (id, user_id, type, version, accepted_at, ip_hash, user_agent, granted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(Uuid::new_v4()).bind(user_id).bind(kind.as_str()).bind(version).bind(now())
        .bind(&proof.ip_hash).bind(&proof.user_agent).bind(granted)
        .execute(c).await.map(|_| ()))
}

/// Records the acceptance of the current terms and privacy policy (those not accepted yet in
/// this version).
pub async fn accept_terms(state: &AppState, user_id: Uuid) -> Result<(), AppError> {
    limited(state, &format!("consent:acct:{user_id}"), 30, 3600)?;
    let proof = proof(&state.config);
    let version = state.config.consent_version.clone();
    let mut tx = state.db.begin().await?;
    for kind in [ConsentType::Terms, ConsentType::Privacy] {
        let latest: Option<(String,)> = tx_run!(&mut tx, c => sqlx::query_as(
            "SELECT version FROM user_consents WHERE user_id = $1 AND type = $2 ORDER BY accepted_at DESC LIMIT 1")
            .bind(user_id).bind(kind.as_str()).fetch_optional(c).await)?;
        if latest.map(|l| l.0) != Some(version.clone()) {
            insert_consent(&mut tx, user_id, kind, true, &version, &proof).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Gives or withdraws marketing consent: a new row when the choice changes (none otherwise).
pub async fn set_marketing(state: &AppState, user_id: Uuid, granted: bool) -> Result<(), AppError> {
    limited(state, &format!("consent:acct:{user_id}"), 30, 3600)?;
    let proof = proof(&state.config);
    let mut tx = state.db.begin().await?;
    let current: Option<(bool,)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT granted FROM user_consents WHERE user_id = $1 AND type = 'MARKETING_OPTIN' ORDER BY accepted_at DESC LIMIT 1")
        .bind(user_id).fetch_optional(c).await)?;
    if current.is_some_and(|c| c.0) == granted {
        return Ok(());
    }
    let version = state.config.consent_version.clone();
    insert_consent(
        &mut tx,
        user_id,
        ConsentType::Marketing,
        granted,
        &version,
        &proof,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The account page

pub async fn status(db: &Db, config: &Config, user: &AuthUser) -> Result<PrivacyStatus, AppError> {
    let rows: Vec<(String, String, DateTime<Utc>, bool)> = db_run!(db, pool => sqlx::query_as(
        "SELECT type, version, accepted_at, granted FROM user_consents WHERE user_id = $1 ORDER BY accepted_at DESC, id")
        .bind(user.id).fetch_all(pool).await)?;
    let consents: Vec<ConsentView> = rows
        .into_iter()
        .filter_map(|(kind, version, accepted_at, granted)| {
            Some(ConsentView {
                kind: kind.parse().ok()?,
                version,
                accepted_at,
                granted,
            })
        })
        .collect();
    let marketing = consents
        .iter()
        .find(|c| c.kind == ConsentType::Marketing)
        .is_some_and(|c| c.granted);
    let (paid_orders,): (i64,) = db_run!(db, pool => sqlx::query_as(
        "SELECT COUNT(*) FROM orders WHERE user_id = $1 AND status IN ('PAID', 'REFUNDED')")
        .bind(user.id).fetch_one(pool).await)?;
    Ok(PrivacyStatus {
        consent_version: config.consent_version.clone(),
        consent_required: needs_consent(db, config, user.id).await?,
        marketing,
        consents,
        tickets_at_risk: tickets_at_risk(db, user.id, now()).await?,
        paid_orders,
        accounting_retention_years: config.accounting_retention_years,
        retention_days_after_event: config.retention_days_after_event,
        must_be_demoted: user.role == Role::Admin,
    })
}
