//! The audit log writer: one function, always called inside the transaction of the change it
//! records. Every domain calls it; it imports none of them.
use super::{db::Tx, state::now};
use crate::tx_run;
use sqlx::types::Json;
use uuid::Uuid;

/// Records who did what to which entity. Call it with the transaction of the change it records,
/// so that the change and its trace commit together or not at all.
pub async fn audit(
    tx: &mut Tx,
    actor: Uuid,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    meta: serde_json::Value,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO audit_logs (id, actor_user_id, action, entity_type, entity_id, meta, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(Uuid::new_v4()).bind(actor).bind(action).bind(entity_type).bind(entity_id).bind(Json(meta)).bind(now())
        .execute(c).await.map(|_| ()))
}
