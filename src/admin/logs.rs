//! The logs an organiser reads: the audit log filtered by actor, action, entity and date, its meta
//! shown as fields; and the mail log (every mail the outbox holds, its attempts and last error), with
//! "retry now" for a mail that has not gone out.
use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the audit viewer filters on (every field optional; dates `YYYY-MM-DD`, conference time).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One audit line, its meta as (key, value) pairs to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: Uuid,
    pub when: String,
    pub actor_email: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub meta: Vec<(String, String)>,
}

/// One mail of the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailLine {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The actions the log holds, for the filter's list.
#[server(prefix = "/api", endpoint = "admin_audit_actions")]
pub async fn admin_audit_actions() -> Result<Vec<String>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::actions(&state.db).await
}

/// The audit log, filtered (each filter optional, so a plain form or an empty call works).
#[server(prefix = "/api", endpoint = "admin_audit_log")]
pub async fn admin_audit_log(
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<AuditLine>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    let filter = AuditFilter {
        actor,
        action,
        entity,
        from,
        to,
    };
    service::audit_lines(&state.db, &state.config, &filter).await
}

#[server(prefix = "/api", endpoint = "admin_mail_log")]
pub async fn admin_mail_log(status: Option<String>) -> Result<Vec<MailLine>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::mails(&state.db, status.filter(|s| !s.is_empty()).as_deref()).await
}

/// Sends a mail that has not gone out at its next chance, now (audited `RETRY_MAIL`).
#[server(prefix = "/api", endpoint = "admin_retry_mail")]
pub async fn admin_retry_mail(id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::retry(&state.db, admin.id, id).await?;
    state.mailer.wake();
    Ok(())
}

/// A JSON meta as lines to read: `before: 7000`, `after: 7550`…
pub fn meta_fields(meta: &serde_json::Value) -> Vec<(String, String)> {
    match meta {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "—".into(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        serde_json::Value::Null => vec![],
        other => vec![(String::new(), other.to_string())],
    }
}

#[cfg(feature = "ssr")]
pub mod service;

#[cfg(test)]
mod tests {
    #[test]
    fn meta_reads_as_fields() {
        let meta = serde_json::json!({ "before": 7000, "after": "7550", "who": null });
        assert_eq!(
            super::meta_fields(&meta),
            vec![
                ("after".into(), "7550".into()),
                ("before".into(), "7000".into()),
                ("who".into(), "—".into())
            ]
        );
    }
}
