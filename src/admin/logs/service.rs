use super::{AuditFilter, AuditLine, MailLine};
use crate::server::prelude::*;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::types::Json;

pub async fn actions(db: &Db) -> Result<Vec<String>, AppError> {
    let rows: Vec<(String,)> = db_run!(db, pool => sqlx::query_as("SELECT DISTINCT action FROM audit_logs ORDER BY action").fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The first instant, in the conference's zone, of the filter's day `raw` plus `plus_days`.
fn day_start(
    config: &Config,
    field: &str,
    raw: &Option<String>,
    plus_days: i64,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(day) = crate::dates::optional_day(field, raw.as_deref())? else {
        return Ok(None);
    };
    day.checked_add_signed(chrono::Duration::days(plus_days))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| config.timezone.from_local_datetime(&t).earliest())
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(|| AppError::invalid(field, "admin.error.date_invalid"))
}

fn like(raw: &Option<String>) -> Option<String> {
    raw.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(crate::server::db::like_pattern)
}

/// The newest 300 lines matching every filter given.
pub async fn audit_lines(
    db: &Db,
    config: &Config,
    f: &AuditFilter,
) -> Result<Vec<AuditLine>, AppError> {
    let from = day_start(config, "from", &f.from, 0)?;
    let until = day_start(config, "to", &f.to, 1)?;
    let action = f.action.as_deref().map(str::trim).filter(|s| !s.is_empty());
    type Row = (
        Uuid,
        String,
        String,
        String,
        String,
        Json<serde_json::Value>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT a.id, u.email, a.action, a.entity_type, a.entity_id, a.meta, a.created_at FROM audit_logs a JOIN users u ON u.id = a.actor_user_id \
         WHERE ($1 IS NULL OR LOWER(u.email) LIKE $1 ESCAPE '\\') AND ($2 IS NULL OR a.action = $2) \
         AND ($3 IS NULL OR LOWER(a.entity_type) LIKE $3 ESCAPE '\\' OR LOWER(a.entity_id) LIKE $3 ESCAPE '\\') \
         AND ($4 IS NULL OR a.created_at >= $4) AND ($5 IS NULL OR a.created_at < $5) \
         ORDER BY a.created_at DESC LIMIT 300")
        .bind(like(&f.actor)).bind(action).bind(like(&f.entity)).bind(from).bind(until).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, actor_email, action, entity_type, entity_id, meta, created_at)| AuditLine {
                id,
                when: created_at
                    .with_timezone(&config.timezone)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                actor_email,
                action,
                entity_type,
                entity_id,
                meta: super::meta_fields(&meta.0),
            },
        )
        .collect())
}

pub async fn mails(db: &Db, status: Option<&str>) -> Result<Vec<MailLine>, AppError> {
    type Row = (
        Uuid,
        DateTime<Utc>,
        String,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, created_at, to_address, type, subject, status, CAST(attempts AS BIGINT), last_error, sent_at FROM outbox_emails \
         WHERE ($1 IS NULL OR status = $1 OR ($1 = 'FAILED' AND status = 'PENDING' AND last_error IS NOT NULL)) \
         ORDER BY created_at DESC LIMIT 300")
        .bind(status).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, created_at, to, kind, subject, status, attempts, last_error, sent_at)| {
                MailLine {
                    // A mail whose last attempt failed is shown FAILED until it goes out.
                    status: if status == "PENDING" && last_error.is_some() {
                        "FAILED".into()
                    } else {
                        status
                    },
                    id,
                    created_at,
                    to,
                    kind,
                    subject,
                    attempts,
                    last_error,
                    sent_at,
                }
            },
        )
        .collect())
}

pub async fn retry(db: &Db, actor: Uuid, id: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => sqlx::query("UPDATE outbox_emails SET status = 'PENDING', next_attempt_at = $1 WHERE id = $2 AND status <> 'SENT'")
        .bind(now()).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::invalid("mail", "admin.error.mail_sent"));
    }
    Audit::new(actor, "RETRY_MAIL", "mail", id).commit(tx).await
}
