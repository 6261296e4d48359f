//! Server-only personal data services: the export, the erasure (self-service, on request, and by
//! the retention), consents, and the retention job with its lease.
//!
//! Children: `export` the personal data export (its format is documented there) and `http`
//! its downloads; `consent` the consents and the account page's status; `erasure` the
//! anonymisation of an account, with `redaction` finding the person in audit details; `plan`
//! the retention policy and its dry run, `retention` the run, its lease and the worker;
//! `admin_views` the admin page's summary and history.
use super::{ConsentView, PrivacyStatus, RetentionCounts, RetentionOverview, RetentionRunView};
use crate::server::prelude::*;
use crate::{
    accounts::{
        service::{limited, unless_busy, verify_password},
        session, AuthUser, ConsentType, Role,
    },
    i18n::{tr, Locale},
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use std::collections::BTreeMap;

/// Exports one account may download per hour.
pub const EXPORTS_PER_HOUR: usize = 5;

/// The account that performs scheduled runs and holds orders past their accounting retention:
/// the nil UUID, created on first use (disabled, deleted, without credentials: it never logs in).
pub const SYSTEM_ACTOR: Uuid = Uuid::nil();

/// The address of mails whose person was erased (outbox rows are not unique by address).
pub const ERASED_ADDRESS: &str = "erased@invalid";

/// What replaces a personal detail in an audit entry's meta.
pub const REDACTED: &str = "[redacted]";

/// The lease row of the retention job.
pub const RETENTION_JOB: &str = "retention";
/// How long a run may hold the lease before another instance may take it over (renewed as it goes).
const LEASE_MINUTES: i64 = 15;
/// The scheduled run happens at most once per this many hours, across all instances.
pub const RUN_EVERY_HOURS: i64 = 24;
/// How often each instance's worker wakes (to try the scheduled run and scrub sent mails).
const WORKER_EVERY_SECS: u64 = 5 * 60;
/// A mail still unsent this long after its account was erased is given up (and its address erased).
const STALE_MAIL_DAYS: i64 = 7;

/// The address that replaces an erased account's: unique (the account's id), and not an address
/// anyone can sign up with (`normalise_email` wants a dot in the domain), so it is never routed.
pub fn placeholder_email(user_id: Uuid) -> String {
    format!("erased-{}@invalid", user_id.simple())
}

// ---------------------------------------------------------------------------------------------
// Shared by the account page, the erasure and the retention

/// A valid ticket whose pass still gives access after `$2` (or, for a pass without an end, while
/// the event is not over: `$3`). Over tickets `tickets`, `$1` being the owner.
const VALID_NOT_OVER: &str = "user_id = $1 AND status = 'VALID' AND ticket_type_id IN \
     (SELECT id FROM ticket_types WHERE valid_until > $2 OR (valid_until IS NULL AND $3))";

/// The end of the conference: the end of its last talk.
async fn event_end(db: &Db) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let row: Option<(DateTime<Utc>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT end_at FROM conferences ORDER BY end_at DESC LIMIT 1").fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}

async fn event_end_tx(tx: &mut Tx) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let row: Option<(DateTime<Utc>,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT end_at FROM conferences ORDER BY end_at DESC LIMIT 1").fetch_optional(c).await)?;
    Ok(row.map(|r| r.0))
}

/// Whether the event is still to come or running at `now` (no programme: not over).
fn not_over(event_end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    event_end.is_none_or(|end| end > now)
}

async fn tickets_at_risk(db: &Db, user_id: Uuid, now: DateTime<Utc>) -> Result<i64, AppError> {
    let open = not_over(event_end(db).await?, now);
    let sql = format!("SELECT COUNT(*) FROM tickets WHERE {VALID_NOT_OVER}");
    let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(&sql).bind(user_id).bind(now).bind(open).fetch_one(pool).await)?;
    Ok(n)
}

/// Mails of erased accounts sent, or unsent since before `$1` (over `outbox_emails`).
const ERASED_MAIL: &str = "to_address <> 'erased@invalid' AND user_id IN (SELECT id FROM users WHERE anonymized_at IS NOT NULL) \
     AND (status <> 'PENDING' OR created_at < $1)";
const ERASED_MAIL_SET: &str =
    "to_address = 'erased@invalid', body_text = NULL, body_html = NULL, last_error = NULL, \
     status = CASE WHEN status = 'PENDING' THEN 'FAILED' ELSE status END";

mod admin_views;
mod consent;
mod erasure;
mod export;
mod plan;
mod redaction;
mod retention;
pub use admin_views::*;
pub use consent::*;
pub use erasure::*;
pub use export::*;
pub use plan::*;
pub(crate) use redaction::*;
pub use retention::*;

pub mod http;

#[cfg(test)]
mod tests;
