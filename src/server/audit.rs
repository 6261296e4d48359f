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

/// An entry of the audit log, written with the transaction of the change it records:
/// `Audit::new(actor, "CREATE_TALK", "talk", id).meta(json!({ .. })).write(&mut tx).await?`.
pub struct Audit<'a> {
    actor: Uuid,
    action: &'a str,
    entity_type: &'a str,
    entity_id: String,
    meta: serde_json::Value,
}

impl<'a> Audit<'a> {
    /// Who did what to which entity (its type and id).
    pub fn new(actor: Uuid, action: &'a str, entity_type: &'a str, id: impl ToString) -> Self {
        let (entity_id, meta) = (id.to_string(), serde_json::json!({}));
        Audit {
            actor,
            action,
            entity_type,
            entity_id,
            meta,
        }
    }

    /// What the entry says of the change (before/after, amounts…).
    pub fn meta(self, meta: serde_json::Value) -> Self {
        Audit { meta, ..self }
    }

    /// Records it in `tx`: it commits with the change, or not at all.
    pub async fn write(self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        let Audit {
            actor,
            action,
            entity_type,
            entity_id,
            meta,
        } = self;
        audit(tx, actor, action, entity_type, &entity_id, meta).await
    }

    /// Writes the entry, then commits the transaction: the change and its audit land together.
    pub async fn commit(self, mut tx: Tx) -> Result<(), crate::error::AppError> {
        self.write(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
