//! Server-only personal data services: the export, the erasure (self-service, on request, and by
//! the retention), consents, and the retention job with its lease.
//!
//! # The export (`GET /me/data.json`, format `tessera-personal-data/1`)
//!
//! One JSON object, keys in this order:
//! - `format`, `generated_at`, `user_id`, `about` (one sentence in the person's language);
//! - `profile`: `email`, `first_name`, `last_name`, `phone`, `company`, `locale`, `role`, `status`,
//!   `email_verified_at`, `created_at`, `updated_at`, `last_login_at`, `programme_mail_since`;
//! - `consents`: `type` (`TERMS_ACCEPTED`, `PRIVACY_ACCEPTED`, `MARKETING_OPTIN`), `version`,
//!   `accepted_at`, `granted` (false: a withdrawal), `user_agent`;
//! - `orders`: `id`, `status`, `total_cents`, `currency`, `created_at`, `updated_at`, `items`
//!   (`pass`, `quantity`, `unit_price_cents`, `line_total_cents`) and `payments` (`id`,
//!   `provider`, `status`, `refunded_cents`, `created_at`, `updated_at`; no card data: Tessera
//!   never sees any);
//! - `tickets`: `id`, `order_id`, `pass`, `status`, `holder_name`, `holder_email`, `issued_at`,
//!   `checked_in_at` (the first entry);
//! - `check_ins`: every entry and exit of their tickets (`ticket_id`, `list`, `at`, `direction`);
//! - `workshops`: their workshop seats (`talk_id`, `title`, `booked_at`);
//! - `programme`: the saved talks (`talk_id`, `title`, `start_at`, `end_at`, `room`, `saved_at`),
//!   and `calendar_feed_created_at` (the private calendar URL, if one was made);
//! - `waiting_lists`: `pass`, `status`, `joined_at`, `offered_until`;
//! - `invoices`: the invoices and credit notes of their orders (`number`, `kind`, `order_id`,
//!   `issued_at`, `buyer`, `company`, `gross_cents`, `currency`); kept after an erasure, since the
//!   law requires invoices to be kept (see the README's privacy notes);
//! - `sessions`: `created_at`, `last_seen_at`, `expires_at`, `user_agent`;
//! - `mails`: `type`, `status`, `created_at`, `sent_at`, `attempts` (never the bodies);
//! - `audit`: entries whose actor is the person or whose entity is the person, one of their
//!   orders or tickets (`action`, `entity_type`, `entity_id`, `at`, `by_me`, and `meta` for
//!   entries about them only: an entry they merely performed may describe other people).
//!
//! Nothing of another person is in it: other people's orders, tickets and audit details are
//! never selected, and the actors of entries about them are not named.
use super::{ConsentView, PrivacyStatus, RetentionCounts, RetentionOverview, RetentionRunView};
use crate::{
    accounts::{
        service::{limited, unless_busy, verify_password},
        session, AuthUser, ConsentType, Role,
    },
    server::audit::audit,
    db_run,
    error::AppError,
    i18n::{tr, Locale},
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
    server::{
        config::Config,
        db::{Db, Tx},
        state::now, state::AppState,
    },
    tx_run,
};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

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
// Export

/// Everything Tessera holds about one person (see the module's documentation for the keys).
pub async fn export(db: &Db, user_id: Uuid) -> Result<Value, AppError> {
    #[derive(sqlx::FromRow)]
    struct Person {
        email: String,
        role: String,
        status: String,
        locale: String,
        email_verified_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        last_login_at: Option<DateTime<Utc>>,
        programme_mail_since: Option<DateTime<Utc>>,
        first_name: Option<String>,
        last_name: Option<String>,
        phone: Option<String>,
        company: Option<String>,
    }
    let person: Option<Person> = db_run!(db, pool => sqlx::query_as(
        "SELECT u.email, u.role, u.status, u.locale, u.email_verified_at, u.created_at, u.updated_at, u.last_login_at, u.programme_mail_since, \
         p.first_name, p.last_name, p.phone, p.company FROM users u LEFT JOIN profiles p ON p.user_id = u.id \
         WHERE u.id = $1 AND u.anonymized_at IS NULL")
        .bind(user_id).fetch_optional(pool).await)?;
    let p = person.ok_or(AppError::NotFound)?;
    let locale = Locale::from_code(&p.locale).unwrap_or_default();

    type ConsentRow = (String, String, DateTime<Utc>, bool, Option<String>);
    let consents: Vec<ConsentRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT type, version, accepted_at, granted, user_agent FROM user_consents WHERE user_id = $1 ORDER BY accepted_at, id")
        .bind(user_id).fetch_all(pool).await)?;

    type OrderRow = (Uuid, String, i64, String, DateTime<Utc>, DateTime<Utc>);
    let orders: Vec<OrderRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, status, total_cents, currency, created_at, updated_at FROM orders WHERE user_id = $1 ORDER BY created_at, id")
        .bind(user_id).fetch_all(pool).await)?;
    let mut orders_json = Vec::with_capacity(orders.len());
    for (id, status, total_cents, currency, created_at, updated_at) in &orders {
        let items: Vec<(String, i64, i64, i64)> = db_run!(db, pool => sqlx::query_as(
            "SELECT t.name, i.quantity, i.unit_price_cents, i.line_total_cents FROM order_items i JOIN ticket_types t ON t.id = i.ticket_type_id \
             WHERE i.order_id = $1 ORDER BY t.name")
            .bind(id).fetch_all(pool).await)?;
        type PaymentRow = (Uuid, String, String, i64, DateTime<Utc>, DateTime<Utc>);
        let payments: Vec<PaymentRow> = db_run!(db, pool => sqlx::query_as(
            "SELECT id, provider, status, refunded_cents, created_at, updated_at FROM payments WHERE order_id = $1 ORDER BY created_at, id")
            .bind(id).fetch_all(pool).await)?;
        let items: Vec<Value> = items
            .iter()
            .map(|(pass, quantity, unit, line)| {
                json!({ "pass": pass, "quantity": quantity, "unit_price_cents": unit, "line_total_cents": line })
            })
            .collect();
        let payments: Vec<Value> = payments
            .iter()
            .map(|(id, provider, status, refunded, created, updated)| {
                json!({
                    "id": id, "provider": provider, "status": status, "refunded_cents": refunded,
                    "created_at": created, "updated_at": updated
                })
            })
            .collect();
        orders_json.push(json!({
            "id": id,
            "status": status,
            "total_cents": total_cents,
            "currency": currency,
            "created_at": created_at,
            "updated_at": updated_at,
            "items": items,
            "payments": payments
        }));
    }

    type TicketRow = (
        Uuid,
        Uuid,
        String,
        String,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    // Their entries at the door (per check-in list) and their workshop seats.
    let check_ins: Vec<(Uuid, String, DateTime<Utc>, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT c.ticket_id, l.name, c.at, c.direction FROM checkins c JOIN checkin_lists l ON l.id = c.list_id \
         JOIN tickets t ON t.id = c.ticket_id WHERE t.user_id = $1 ORDER BY c.at, c.id")
        .bind(user_id).fetch_all(pool).await)?;
    let workshops: Vec<(Uuid, String, DateTime<Utc>)> = db_run!(db, pool => sqlx::query_as(
        "SELECT b.talk_id, c.title, b.created_at FROM workshop_bookings b JOIN conferences c ON c.id = b.talk_id \
         WHERE b.user_id = $1 ORDER BY b.created_at")
        .bind(user_id).fetch_all(pool).await)?;
    let tickets: Vec<TicketRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT t.id, t.order_id, tt.name, t.status, t.holder_name, t.holder_email, t.issued_at, t.used_at \
         FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id WHERE t.user_id = $1 ORDER BY t.issued_at, t.id")
        .bind(user_id).fetch_all(pool).await)?;

    type SavedRow = (
        Uuid,
        String,
        DateTime<Utc>,
        DateTime<Utc>,
        Option<String>,
        DateTime<Utc>,
    );
    let programme: Vec<SavedRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT c.id, c.title, c.start_at, c.end_at, c.location, i.created_at FROM user_program_items i \
         JOIN conferences c ON c.id = i.conference_id WHERE i.user_id = $1 ORDER BY c.start_at, c.id")
        .bind(user_id).fetch_all(pool).await)?;
    let feed: Option<(DateTime<Utc>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT created_at FROM calendar_feeds WHERE user_id = $1")
        .bind(user_id).fetch_optional(pool).await)?;

    type WaitRow = (String, String, DateTime<Utc>, Option<DateTime<Utc>>);
    let waits: Vec<WaitRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT t.name, w.status, w.created_at, w.offered_until FROM waitlist_entries w JOIN ticket_types t ON t.id = w.ticket_type_id \
         WHERE w.user_id = $1 ORDER BY w.created_at")
        .bind(user_id).fetch_all(pool).await)?;
    let waiting_lists: Vec<Value> = waits
        .into_iter()
        .map(|(pass, status, joined_at, offered_until)| {
            json!({ "pass": pass, "status": status, "joined_at": joined_at, "offered_until": offered_until })
        })
        .collect();

    type InvoiceRow = (
        String,
        String,
        Uuid,
        DateTime<Utc>,
        String,
        Option<String>,
        i64,
        String,
    );
    let invoices: Vec<InvoiceRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT i.number, i.kind, i.order_id, i.issued_at, i.buyer_name, i.buyer_company, i.gross_cents, i.currency FROM invoices i \
         JOIN orders o ON o.id = i.order_id WHERE o.user_id = $1 ORDER BY i.issued_at, i.number")
        .bind(user_id).fetch_all(pool).await)?;
    let invoices: Vec<Value> = invoices
        .into_iter()
        .map(|(number, kind, order_id, issued_at, buyer, company, gross_cents, currency)| {
            json!({ "number": number, "kind": kind, "order_id": order_id, "issued_at": issued_at, "buyer": buyer,
                    "company": company, "gross_cents": gross_cents, "currency": currency })
        })
        .collect();

    type SessionRow = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, Option<String>);
    let sessions: Vec<SessionRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT created_at, last_seen_at, expires_at, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at")
        .bind(user_id).fetch_all(pool).await)?;

    type MailRow = (String, String, DateTime<Utc>, Option<DateTime<Utc>>, i64);
    let mails: Vec<MailRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT type, status, created_at, sent_at, CAST(attempts AS BIGINT) FROM outbox_emails \
         WHERE user_id = $1 OR (user_id IS NULL AND to_address = $2) ORDER BY created_at")
        .bind(user_id).bind(&p.email).fetch_all(pool).await)?;

    // Audit entries: performed by them, or about them, their orders or their tickets.
    type AuditRow = (
        Uuid,
        Uuid,
        String,
        String,
        String,
        Json<Value>,
        DateTime<Utc>,
    );
    let mut audit_rows: BTreeMap<Uuid, AuditRow> = BTreeMap::new();
    let by_or_about: Vec<AuditRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, actor_user_id, action, entity_type, entity_id, meta, created_at FROM audit_logs \
         WHERE actor_user_id = $1 OR (entity_type = 'user' AND entity_id = $2)")
        .bind(user_id).bind(user_id.to_string()).fetch_all(pool).await)?;
    audit_rows.extend(by_or_about.into_iter().map(|r| (r.0, r)));
    let mut mine: Vec<(&str, String)> = vec![("user", user_id.to_string())];
    mine.extend(orders.iter().map(|o| ("order", o.0.to_string())));
    mine.extend(tickets.iter().map(|t| ("ticket", t.0.to_string())));
    for (entity_type, entity_id) in mine.iter().skip(1) {
        let rows: Vec<AuditRow> = db_run!(db, pool => sqlx::query_as(
            "SELECT id, actor_user_id, action, entity_type, entity_id, meta, created_at FROM audit_logs \
             WHERE entity_type = $1 AND entity_id = $2")
            .bind(*entity_type).bind(entity_id).fetch_all(pool).await)?;
        audit_rows.extend(rows.into_iter().map(|r| (r.0, r)));
    }
    let mut audit_rows: Vec<AuditRow> = audit_rows.into_values().collect();
    audit_rows.sort_by_key(|r| (r.6, r.0));
    let audit_json: Vec<Value> = audit_rows
        .into_iter()
        .map(|(_, actor, action, entity_type, entity_id, meta, at)| {
            let about_me = mine
                .iter()
                .any(|(t, id)| *t == entity_type.as_str() && *id == entity_id);
            let meta = if about_me { meta.0 } else { Value::Null };
            let by_me = actor == user_id;
            json!({
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "at": at,
                "by_me": by_me,
                "meta": meta
            })
        })
        .collect();

    let consents: Vec<Value> = consents
        .iter()
        .map(|(kind, version, at, granted, ua)| {
            json!({ "type": kind, "version": version, "accepted_at": at, "granted": granted, "user_agent": ua })
        })
        .collect();
    let tickets: Vec<Value> = tickets
        .iter()
        .map(
            |(id, order_id, pass, status, holder_name, holder_email, issued_at, used_at)| {
                json!({
                    "id": id, "order_id": order_id, "pass": pass, "status": status,
                    "holder_name": holder_name, "holder_email": holder_email,
                    "issued_at": issued_at, "checked_in_at": used_at
                })
            },
        )
        .collect();
    let programme: Vec<Value> = programme
        .iter()
        .map(|(id, title, start, end, room, saved)| {
            json!({ "talk_id": id, "title": title, "start_at": start, "end_at": end, "room": room, "saved_at": saved })
        })
        .collect();
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|(created, seen, expires, ua)| {
            json!({ "created_at": created, "last_seen_at": seen, "expires_at": expires, "user_agent": ua })
        })
        .collect();
    let mails: Vec<Value> = mails
        .iter()
        .map(|(kind, status, created, sent, attempts)| {
            json!({ "type": kind, "status": status, "created_at": created, "sent_at": sent, "attempts": attempts })
        })
        .collect();
    let about = tr(locale, "privacy.export.about");
    let calendar_feed_created_at = feed.map(|f| f.0);
    Ok(json!({
        "format": "tessera-personal-data/1",
        "generated_at": now(),
        "user_id": user_id,
        "about": about,
        "profile": {
            "email": p.email,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "phone": p.phone,
            "company": p.company,
            "locale": p.locale,
            "role": p.role,
            "status": p.status,
            "email_verified_at": p.email_verified_at,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "last_login_at": p.last_login_at,
            "programme_mail_since": p.programme_mail_since
        },
        "consents": consents,
        "orders": orders_json,
        "tickets": tickets,
        "check_ins": check_ins.iter().map(|(ticket, list, at, direction)| {
            json!({ "ticket_id": ticket, "list": list, "at": at, "direction": direction })
        }).collect::<Vec<_>>(),
        "workshops": workshops.iter().map(|(talk, title, at)| {
            json!({ "talk_id": talk, "title": title, "booked_at": at })
        }).collect::<Vec<_>>(),
        "programme": programme,
        "calendar_feed_created_at": calendar_feed_created_at,
        "waiting_lists": waiting_lists,
        "invoices": invoices,
        "sessions": sessions,
        "mails": mails,
        "audit": audit_json
    }))
}

/// How many records an export holds (for its audit entry).
fn rows_in(export: &Value) -> usize {
    [
        "consents",
        "orders",
        "tickets",
        "check_ins",
        "workshops",
        "programme",
        "waiting_lists",
        "invoices",
        "sessions",
        "mails",
        "audit",
    ]
    .iter()
    .filter_map(|k| export.get(*k).and_then(Value::as_array))
    .map(Vec::len)
    .sum::<usize>()
        + 1
}

/// The export of `user_id`, audited `EXPORT_PERSONAL_DATA` (who, whose, how many rows).
pub async fn export_audited(db: &Db, user_id: Uuid, actor: Uuid) -> Result<Value, AppError> {
    let value = export(db, user_id).await?;
    let rows = rows_in(&value);
    let by = if actor == user_id { "self" } else { "admin" };
    let mut tx = db.begin().await?;
    audit(
        &mut tx,
        actor,
        "EXPORT_PERSONAL_DATA",
        "user",
        &user_id.to_string(),
        json!({ "rows": rows, "by": by }),
    )
    .await?;
    tx.commit().await?;
    Ok(value)
}

// ---------------------------------------------------------------------------------------------
// Consents

pub use crate::accounts::service::needs_consent;

/// The technical proof recorded with a consent: a keyed hash of the IP and the user agent.
struct Proof {
    ip_hash: Option<String>,
    user_agent: Option<String>,
}

fn proof(config: &Config) -> Proof {
    let info = session::request_info(config);
    Proof {
        ip_hash: info.ip.map(|ip| session::ip_hash(config, ip)),
        user_agent: info.user_agent,
    }
}

async fn insert_consent(
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

// ---------------------------------------------------------------------------------------------
// Erasure

/// What one erasure did, beyond the account itself.
#[derive(Debug, Default)]
pub struct Erased {
    /// Valid tickets of an event not over yet, canceled (no refund; the order stays paid).
    pub tickets_canceled: u64,
    /// Orders awaiting payment, canceled and their seats given back (their Stripe sessions are
    /// expired by the caller after commit).
    pub orders_released: Vec<Uuid>,
    /// The confirmation mail to the old address, if one was asked for.
    pub mail_id: Option<Uuid>,
}

/// The personal values of a person, to find them where they were copied (audit entries' meta).
/// The keys of audit details that name people, in entries about someone else.
const PERSONAL_KEYS: [&str; 10] = [
    "to",
    "query",
    "who",
    "email",
    "holder",
    "holder_name",
    "holder_email",
    "name",
    "phone",
    "used_by",
];

/// [`redact`], only under [`PERSONAL_KEYS`] (at any depth).
fn redact_personal_keys(value: &mut Value, needles: &Needles) -> bool {
    let mut changed = false;
    match value {
        Value::Array(items) => {
            for v in items {
                changed |= redact_personal_keys(v, needles);
            }
        }
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                changed |= if PERSONAL_KEYS.contains(&key.as_str()) {
                    redact(v, needles)
                } else {
                    redact_personal_keys(v, needles)
                };
            }
        }
        _ => {}
    }
    changed
}

struct Needles {
    /// Found anywhere in a text: the email, the phone, the full name.
    whole: Vec<String>,
    /// Found as a word of a text: each word of the first and last names (3 letters or more).
    words: Vec<String>,
    /// Every needle as typed and lowercased, for the database's first pass (`LIKE`).
    patterns: Vec<String>,
}

impl Needles {
    fn new(
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        phone: Option<&str>,
    ) -> Needles {
        let names: Vec<&str> = [first_name, last_name]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        let mut whole: Vec<String> = vec![email.to_lowercase()];
        whole.extend(
            phone
                .map(|p| p.trim().to_lowercase())
                .filter(|p| p.len() >= 6),
        );
        if names.len() == 2 {
            whole.push(format!("{} {}", names[0], names[1]).to_lowercase());
            whole.push(format!("{} {}", names[1], names[0]).to_lowercase());
        }
        let words: Vec<String> = names
            .iter()
            .flat_map(|n| n.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect();
        // SQLite lowers ASCII letters only: each needle is also looked for as typed (`Élodie`).
        let mut patterns: Vec<String> = vec![];
        for n in whole.iter().chain(&words) {
            patterns.push(contains_pattern(n));
        }
        for n in names
            .iter()
            .flat_map(|n| n.split(|c: char| !c.is_alphanumeric()))
        {
            if n.chars().count() >= 3 && n.to_lowercase() != n {
                patterns.push(contains_pattern(n));
            }
        }
        patterns.sort();
        patterns.dedup();
        Needles {
            whole,
            words,
            patterns,
        }
    }

    fn matches(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        self.whole.iter().any(|n| lower.contains(n.as_str()))
            || lower
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| !w.is_empty() && self.words.iter().any(|n| n == w))
    }
}

/// A `LIKE` pattern finding `s` anywhere, its `%`, `_` and backslash taken literally (with
/// `ESCAPE '\'`). Unlike `db::like_pattern`, the case is kept.
fn contains_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Replaces every string of `value` that holds a needle by [`REDACTED`]; answers whether any did.
fn redact(value: &mut Value, needles: &Needles) -> bool {
    match value {
        Value::String(s) if needles.matches(s.as_str()) => {
            *s = REDACTED.to_string();
            true
        }
        // Every value is visited (no short circuit): all of them are redacted, not the first.
        Value::Array(items) => {
            items
                .iter_mut()
                .map(|v| redact(v, needles))
                .filter(|changed| *changed)
                .count()
                > 0
        }
        Value::Object(map) => {
            map.values_mut()
                .map(|v| redact(v, needles))
                .filter(|changed| *changed)
                .count()
                > 0
        }
        _ => false,
    }
}

/// Redacts the person's details in every audit entry's meta (entries are kept, never deleted).
///
/// In the entries about them (they did it, or it is about their account) every value is looked at;
/// in the others only the values that name people ([`PERSONAL_KEYS`]: a door search, a mail's
/// address): a person who names themselves "stripe admin" must not blank other people's entries.
async fn redact_audit(tx: &mut Tx, needles: &Needles, user_id: Uuid) -> Result<u64, sqlx::Error> {
    if needles.patterns.is_empty() {
        return Ok(0);
    }
    let n = needles.patterns.len();
    let filter = (1..=n)
        .map(|i| format!("LOWER(CAST(meta AS TEXT)) LIKE ${i} ESCAPE '\\'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT id, meta, CASE WHEN actor_user_id = ${} OR entity_id = ${} THEN 1 ELSE 0 END FROM audit_logs WHERE {filter}",
        n + 1,
        n + 2
    );
    let rows: Vec<(Uuid, Json<Value>, i32)> = tx_run!(tx, c => {
        let mut q = sqlx::query_as(&sql);
        for p in &needles.patterns {
            q = q.bind(p.as_str());
        }
        q.bind(user_id).bind(user_id.to_string()).fetch_all(c).await
    })?;
    let mut changed = 0;
    for (id, Json(mut meta), about_them) in rows {
        let changed_meta = if about_them == 1 {
            redact(&mut meta, needles)
        } else {
            redact_personal_keys(&mut meta, needles)
        };
        if changed_meta {
            tx_run!(tx, c => sqlx::query("UPDATE audit_logs SET meta = $1 WHERE id = $2")
                .bind(Json(&meta)).bind(id).execute(c).await.map(|_| ()))?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Anonymises one account inside the caller's transaction; `None` when there is no such account
/// or it is anonymised already (then nothing changed). Refuses an admin's account: an admin is
/// demoted by another admin first (the last admin cannot be, so the back office is never left
/// without one, and a stolen admin session cannot erase an admin in one click).
///
/// Erased: the profile (names, phone), the credentials and OAuth links, every session and one-time
/// link, the personal programme and calendar feed, the holder names and emails of their tickets
/// (and of tickets naming their address), mail bodies, addresses and errors, the IP hashes and
/// user agents of their consents, their details in audit entries' meta. Set: `deleted_at`,
/// `anonymized_at`, the status (DISABLED) and a placeholder address, unique and never routed.
/// Kept: the users row (its id), consents (type, version, date: the proof), orders with their
/// items and payments (accounting), tickets (canceled when valid for an event not over yet:
/// no refund unless an admin grants one), audit entries.
///
/// With `confirm_mail`, a last mail goes to the old address, enqueued here, in this transaction:
/// the outbox row must hold the address until it is sent, so it alone keeps it; once sent, the
/// privacy worker (every few minutes) and every retention run erase its address and bodies
/// ([`scrub_erased_mail`]). One that cannot be sent for [`STALE_MAIL_DAYS`] is given up.
pub async fn anonymise(
    tx: &mut Tx,
    config: &Config,
    user_id: Uuid,
    now: DateTime<Utc>,
    confirm_mail: bool,
) -> Result<Option<Erased>, AppError> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = tx_run!(tx, c => sqlx::query_as(
        "SELECT u.email, u.role, u.locale, p.first_name, p.last_name, p.phone FROM users u LEFT JOIN profiles p ON p.user_id = u.id \
         WHERE u.id = $1 AND u.anonymized_at IS NULL AND u.id <> $2")
        .bind(user_id).bind(SYSTEM_ACTOR).fetch_optional(c).await)?;
    let Some((email, role, locale, first_name, last_name, phone)) = row else {
        return Ok(None);
    };
    if role == Role::Admin.as_str() {
        return Err(AppError::invalid("user", "privacy.error.demote_first"));
    }
    // The claim: of two erasures at once, one changes the row, the other finds it done.
    let claimed = tx_run!(tx, c => sqlx::query(
        "UPDATE users SET email = $1, status = 'DISABLED', email_verified_at = NULL, programme_mail_since = NULL, last_login_at = NULL, \
         deleted_at = COALESCE(deleted_at, $2), anonymized_at = $2, updated_at = $2 WHERE id = $3 AND anonymized_at IS NULL AND role <> 'ADMIN'")
        .bind(placeholder_email(user_id)).bind(now).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    if claimed != 1 {
        return Ok(None);
    }
    let mut erased = Erased::default();
    if confirm_mail {
        let locale = Locale::from_code(&locale).unwrap_or_default();
        let mail = Mail {
            kind: MailKind::AccountDeleted,
            user_id: Some(user_id),
            to: email.clone(),
            locale,
            vars: vec![("years", config.accounting_retention_years.to_string())],
            link: Some(format!("{}/signup", config.base_url)),
            order_id: None,
        };
        erased.mail_id = Some(enqueue(tx, &mail).await?);
    }
    let keep_mail = erased.mail_id.unwrap_or_default();

    tx_run!(tx, c => {
        // Waiting-list places go (an offer's seat is freed below, with its voucher's hold).
        for (voucher,) in sqlx::query_as::<_, (Uuid,)>("SELECT voucher_id FROM waitlist_entries WHERE user_id = $1 AND voucher_id IS NOT NULL")
            .bind(user_id).fetch_all(&mut *c).await? {
            sqlx::query("UPDATE vouchers SET valid_until = $1 WHERE id = $2 AND (valid_until IS NULL OR valid_until > $1)").bind(now).bind(voucher).execute(&mut *c).await?;
        }
        for table in ["user_credentials", "accounts", "sessions", "verification_tokens", "profiles", "user_program_items", "calendar_feeds", "waitlist_entries", "workshop_waitlist"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1")).bind(user_id).execute(&mut *c).await?;
        }
        // Consents stay as proof, with the account's id only.
        sqlx::query("UPDATE user_consents SET ip_hash = NULL, user_agent = NULL WHERE user_id = $1")
            .bind(user_id).execute(&mut *c).await?;
        // The company addresses they typed go; the invoices issued keep their copy (the law
        // requires invoices to be kept: see the README's privacy notes).
        sqlx::query("DELETE FROM billing_details WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)")
            .bind(user_id).execute(&mut *c).await?;
        // What an admin typed about their payments (a refund's reason) may name them.
        sqlx::query("UPDATE payments SET note = NULL WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)")
            .bind(user_id).execute(&mut *c).await?;
    });

    // Orders awaiting payment: canceled, their seats given back.
    let pending: Vec<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id FROM orders WHERE user_id = $1 AND status = 'PENDING_PAYMENT'")
        .bind(user_id).fetch_all(c).await)?;
    for (order_id,) in pending {
        if crate::ticketing::service::release(tx, order_id).await? {
            erased.orders_released.push(order_id);
        }
    }

    // Valid tickets of an event not over yet: canceled and their QR codes revoked. Sold seats are
    // not given back (the order stays paid; an admin's refund gives them back).
    let open = not_over(event_end_tx(tx).await?, now);
    // A ticket the person bought for someone else (another holder's address) stays theirs.
    let cancel = format!("UPDATE tickets SET status = 'CANCELED' WHERE {VALID_NOT_OVER} AND (holder_email IS NULL OR holder_email = $4)");
    erased.tickets_canceled = tx_run!(tx, c => sqlx::query(&cancel)
        .bind(user_id).bind(now).bind(open).bind(&email).execute(c).await.map(|r| r.rows_affected()))?;
    tx_run!(tx, c => {
        sqlx::query("UPDATE ticket_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND ticket_id IN (SELECT id FROM tickets WHERE user_id = $2 AND status = 'CANCELED')")
            .bind(now).bind(user_id).execute(&mut *c).await?;
        // Holder names and emails: on their tickets, and wherever their address names a holder.
        sqlx::query("UPDATE tickets SET holder_name = NULL, holder_email = NULL WHERE (user_id = $1 AND (holder_email IS NULL OR holder_email = $2)) OR holder_email = $2")
            .bind(user_id).bind(&email).execute(&mut *c).await?;
        // Mails: the log keeps kind, date and status; errors may quote the address.
        sqlx::query("UPDATE email_logs SET error = NULL WHERE user_id = $1 OR outbox_id IN (SELECT id FROM outbox_emails WHERE to_address = $2)")
            .bind(user_id).bind(&email).execute(&mut *c).await?;
        // The outbox: bodies and addresses erased, unsent ones given up; the confirmation mail
        // just enqueued keeps its address until it is sent.
        sqlx::query("UPDATE outbox_emails SET to_address = $1, body_text = NULL, body_html = NULL, last_error = NULL, \
                     status = CASE WHEN status = 'PENDING' THEN 'FAILED' ELSE status END \
                     WHERE (user_id = $2 OR to_address = $3) AND id <> $4")
            .bind(ERASED_ADDRESS).bind(user_id).bind(&email).bind(keep_mail).execute(&mut *c).await?;
    });

    let needles = Needles::new(
        &email,
        first_name.as_deref(),
        last_name.as_deref(),
        phone.as_deref(),
    );
    redact_audit(tx, &needles, user_id).await?;
    Ok(Some(erased))
}

/// Erases an account now, on its owner's request (`actor == user_id`, audited `DELETE_ACCOUNT`)
/// or an admin's (audited `ERASE_ACCOUNT`), in one transaction, with a last mail to the old
/// address. See [`anonymise`] for what is erased and what is kept.
pub async fn erase_user(
    state: &AppState,
    user_id: Uuid,
    actor: Uuid,
    reason: &str,
) -> Result<(), AppError> {
    let now = now();
    let mut tx = state.db.begin().await?;
    let Some(erased) = anonymise(&mut tx, &state.config, user_id, now, true).await? else {
        return Err(AppError::NotFound);
    };
    let action = if actor == user_id {
        "DELETE_ACCOUNT"
    } else {
        "ERASE_ACCOUNT"
    };
    audit(
        &mut tx,
        actor,
        action,
        "user",
        &user_id.to_string(),
        json!({
            "reason": reason,
            "tickets_canceled": erased.tickets_canceled,
            "orders_released": erased.orders_released.len()
        }),
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    for order_id in erased.orders_released {
        crate::payments::service::expire_session_quietly(state, order_id).await;
    }
    Ok(())
}

/// The self-service deletion: the password first, then, when valid tickets for an event not over
/// yet would be canceled, the person's confirmation (`cancel_tickets`).
pub async fn delete_own_account(
    state: &AppState,
    user: &AuthUser,
    password: &str,
    cancel_tickets: bool,
) -> Result<(), AppError> {
    let budget = format!("delete:acct:{}", user.id);
    limited(state, &budget, 5, 3600)?;
    let hash: Option<(String,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT password_hash FROM user_credentials WHERE user_id = $1")
        .bind(user.id).fetch_optional(pool).await)?;
    let ok = match hash {
        Some((hash,)) => unless_busy(
            state,
            &budget,
            verify_password(password.to_string(), hash).await,
        )?,
        None => false,
    };
    if !ok {
        return Err(AppError::invalid(
            "password",
            "accounts.error.password_wrong",
        ));
    }
    if user.role == Role::Admin {
        return Err(AppError::invalid("form", "privacy.error.demote_first"));
    }
    if !cancel_tickets && tickets_at_risk(&state.db, user.id, now()).await? > 0 {
        return Err(AppError::invalid(
            "cancel_tickets",
            "privacy.error.tickets_confirm",
        ));
    }
    erase_user(state, user.id, user.id, "self_service").await
}

/// Erases the address, bodies and errors of the mails of erased accounts once they are sent (or
/// given up after [`STALE_MAIL_DAYS`]). Idempotent, safe on every instance at once; the privacy
/// worker calls it every few minutes, and every retention run does too.
pub async fn scrub_erased_mail(db: &Db, now: DateTime<Utc>) -> Result<i64, AppError> {
    let stale = now - Duration::days(STALE_MAIL_DAYS);
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => {
        let n = sqlx::query(&format!("UPDATE outbox_emails SET {ERASED_MAIL_SET} WHERE {ERASED_MAIL}"))
            .bind(stale).execute(&mut *c).await?.rows_affected();
        sqlx::query("UPDATE email_logs SET error = NULL WHERE error IS NOT NULL AND user_id IN (SELECT id FROM users WHERE anonymized_at IS NOT NULL)")
            .execute(&mut *c).await?;
        n
    });
    tx.commit().await?;
    Ok(n as i64)
}

// ---------------------------------------------------------------------------------------------
// Retention

/// Who started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The background job: at most once per [`RUN_EVERY_HOURS`] across instances; audited only
    /// when it did something (a quiet day leaves `job_leases.last_run_at` as its trace).
    Schedule,
    /// "Run now" on `/admin/privacy`: whenever no other run holds the lease; always audited.
    Admin(Uuid),
}

impl Trigger {
    fn label(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Admin(_) => "admin",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetentionOutcome {
    /// This instance ran it; what it did.
    Ran(RetentionCounts),
    /// Another run holds the lease, or (scheduled) one ran less than [`RUN_EVERY_HOURS`] ago.
    Skipped,
    /// Counted only.
    DryRun(RetentionCounts),
}

/// The policy's instants for a run at `now`.
#[derive(Clone, Debug)]
pub struct Policy {
    pub now: DateTime<Utc>,
    /// Mail bodies, IP hashes and door search details older than this go.
    pub window_start: DateTime<Utc>,
    pub event_end: Option<DateTime<Utc>>,
    /// `event_end` + `RETENTION_DAYS_AFTER_EVENT`.
    pub due_at: Option<DateTime<Utc>>,
    /// Orders placed before this go (the 1st of January, conference time, `ACCOUNTING_RETENTION_YEARS`
    /// years before the current year: their financial year ended that many years ago).
    pub accounting_cutoff: Option<DateTime<Utc>>,
    /// Mails of erased accounts still unsent since before this are given up.
    pub stale_mail: DateTime<Utc>,
}

impl Policy {
    /// The event's end when its window has passed (attendee accounts and holders are due).
    fn event_end_due(&self) -> Option<DateTime<Utc>> {
        match (self.event_end, self.due_at) {
            (Some(end), Some(due)) if due <= self.now => Some(end),
            _ => None,
        }
    }
}

/// The first instant of `year` in the conference's time zone.
fn year_start(config: &Config, year: i32) -> Option<DateTime<Utc>> {
    config
        .timezone
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

pub async fn policy(db: &Db, config: &Config, now: DateTime<Utc>) -> Result<Policy, AppError> {
    let event_end = event_end(db).await?;
    let window = Duration::days(config.retention_days_after_event);
    let local_year = now.with_timezone(&config.timezone).year();
    Ok(Policy {
        now,
        window_start: now - window,
        event_end,
        due_at: event_end.map(|e| e + window),
        accounting_cutoff: i32::try_from(config.accounting_retention_years)
            .ok()
            .and_then(|years| year_start(config, local_year - years)),
        stale_mail: now - Duration::days(STALE_MAIL_DAYS),
    })
}

/// Attendee accounts due (over `users`, `$1` the event's end): role USER, not anonymised, made
/// before the event's end, and neither logged in nor seen since.
const ACCOUNTS_DUE: &str = "role = 'USER' AND anonymized_at IS NULL AND created_at < $1 \
     AND (last_login_at IS NULL OR last_login_at < $1) \
     AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = users.id AND s.last_seen_at >= $1) \
     AND NOT EXISTS (SELECT 1 FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE t.user_id = users.id AND t.status = 'VALID' AND tt.valid_until > $1)";

/// Door searches and resent tickets' addresses older than `$1` not redacted yet (over `audit_logs`).
const SCAN_DETAILS: &str = "action IN ('SCAN_SEARCH', 'RESEND_TICKETS') AND created_at < $1 \
     AND CAST(meta AS TEXT) NOT LIKE '%[redacted]%'";
/// The meta keys of those entries that name people.
const SCAN_DETAIL_KEYS: [&str; 2] = ["query", "to"];

/// Orders past their accounting retention (over `orders`; `$1` the cutoff, `$2` the system account).
const ORDERS_DUE: &str = "created_at < $1 AND user_id <> $2 AND status <> 'PENDING_PAYMENT'";

/// Mails of erased accounts sent, or unsent since before `$1` (over `outbox_emails`).
const ERASED_MAIL: &str = "to_address <> 'erased@invalid' AND user_id IN (SELECT id FROM users WHERE anonymized_at IS NOT NULL) \
     AND (status <> 'PENDING' OR created_at < $1)";
const ERASED_MAIL_SET: &str =
    "to_address = 'erased@invalid', body_text = NULL, body_html = NULL, last_error = NULL, \
     status = CASE WHEN status = 'PENDING' THEN 'FAILED' ELSE status END";

/// Which counter a bulk step adds to.
#[derive(Clone, Copy, Debug)]
enum Kind {
    TicketHolders,
    MailBodies,
    IpHashes,
    ExpiredSessions,
    ExpiredTokens,
    ErasedMailAddresses,
}

fn add(counts: &mut RetentionCounts, kind: Kind, n: i64) {
    let field = match kind {
        Kind::TicketHolders => &mut counts.ticket_holders,
        Kind::MailBodies => &mut counts.mail_bodies,
        Kind::IpHashes => &mut counts.ip_hashes,
        Kind::ExpiredSessions => &mut counts.expired_sessions,
        Kind::ExpiredTokens => &mut counts.expired_tokens,
        Kind::ErasedMailAddresses => &mut counts.erased_mail_addresses,
    };
    *field += n;
}

/// One bulk step: the rows of `table` matching `filter` (one bound instant, `$1`) are changed by
/// `set` (`None`: deleted). `at: None`: not due at this run.
struct Step {
    kind: Kind,
    table: &'static str,
    filter: &'static str,
    set: Option<&'static str>,
    at: Option<DateTime<Utc>>,
}

/// The bulk steps, in the order a run applies them: before the accounts, so that the counts of a
/// dry run and of the run that follows are the same (each step counts rows as the state is
/// before the run; anonymising accounts last touches none that a step counted).
fn steps(p: &Policy) -> Vec<Step> {
    vec![
        Step {
            kind: Kind::TicketHolders,
            table: "tickets",
            filter: "(holder_name IS NOT NULL OR holder_email IS NOT NULL) AND issued_at < $1",
            set: Some("holder_name = NULL, holder_email = NULL"),
            at: p.event_end_due(),
        },
        Step {
            kind: Kind::MailBodies,
            table: "outbox_emails",
            filter: "(body_text IS NOT NULL OR body_html IS NOT NULL) AND status <> 'PENDING' AND created_at < $1",
            set: Some("body_text = NULL, body_html = NULL"),
            at: Some(p.window_start),
        },
        Step {
            kind: Kind::IpHashes,
            table: "sessions",
            filter: "ip_hash IS NOT NULL AND created_at < $1",
            set: Some("ip_hash = NULL"),
            at: Some(p.window_start),
        },
        Step {
            kind: Kind::IpHashes,
            table: "user_consents",
            filter: "ip_hash IS NOT NULL AND accepted_at < $1",
            set: Some("ip_hash = NULL"),
            at: Some(p.window_start),
        },
        Step {
            kind: Kind::ExpiredSessions,
            table: "sessions",
            filter: "expires_at < $1",
            set: None,
            at: Some(p.now),
        },
        Step {
            kind: Kind::ExpiredTokens,
            table: "verification_tokens",
            filter: "expires_at < $1",
            set: None,
            at: Some(p.now),
        },
        Step {
            kind: Kind::ErasedMailAddresses,
            table: "outbox_emails",
            filter: ERASED_MAIL,
            set: Some(ERASED_MAIL_SET),
            at: Some(p.stale_mail),
        },
    ]
}

async fn count_at(db: &Db, sql: &str, at: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(sql).bind(at).fetch_one(pool).await)?;
    Ok(n)
}

/// What a run at `now` will do, and the policy's instants.
#[derive(Clone, Debug)]
pub struct RetentionPlan {
    pub policy: Policy,
    pub counts: RetentionCounts,
}

/// Counts what a run at `now` would change, without changing anything (the dry run).
pub async fn retention_plan(
    db: &Db,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<RetentionPlan, AppError> {
    let p = policy(db, config, now).await?;
    let mut counts = RetentionCounts::default();
    for step in steps(&p) {
        if let Some(at) = step.at {
            let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", step.table, step.filter);
            add(&mut counts, step.kind, count_at(db, &sql, at).await?);
        }
    }
    counts.scan_details = count_at(
        db,
        &format!("SELECT COUNT(*) FROM audit_logs WHERE {SCAN_DETAILS}"),
        p.window_start,
    )
    .await?;
    if let Some(cutoff) = p.accounting_cutoff {
        let sql = format!("SELECT COUNT(*) FROM orders WHERE {ORDERS_DUE}");
        let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(&sql).bind(cutoff).bind(SYSTEM_ACTOR).fetch_one(pool).await)?;
        counts.orders_reduced = n;
    }
    if let Some(end) = p.event_end_due() {
        counts.accounts = count_at(
            db,
            &format!("SELECT COUNT(*) FROM users WHERE {ACCOUNTS_DUE}"),
            end,
        )
        .await?;
    }
    Ok(RetentionPlan { policy: p, counts })
}

/// Takes the job's lease for a run at `now` (one conditional UPDATE: of several instances trying
/// at once, one gets it). A scheduled run also needs the last run to be older than
/// `not_run_since`.
async fn claim(
    db: &Db,
    holder: Uuid,
    now: DateTime<Utc>,
    not_run_since: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    let n = crate::db_write!(db, pool => sqlx::query(
        "UPDATE job_leases SET holder = $1, lease_until = $2 WHERE name = $3 AND (lease_until IS NULL OR lease_until < $4) \
         AND ($5 IS NULL OR last_run_at IS NULL OR last_run_at < $5)")
        .bind(holder).bind(now + Duration::minutes(LEASE_MINUTES)).bind(RETENTION_JOB).bind(now).bind(not_run_since)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Extends the lease of a long run (its holder only).
async fn renew(db: &Db, holder: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    // From the wall clock (the run's `now` is when it started, or a moved clock in tests).
    let until = now.max(crate::server::state::now()) + Duration::minutes(LEASE_MINUTES);
    let renewed = crate::db_write!(db, pool => sqlx::query("UPDATE job_leases SET lease_until = $1 WHERE name = $2 AND holder = $3")
        .bind(until).bind(RETENTION_JOB).bind(holder)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    if renewed != 1 {
        // Another instance took the lease over (this run was too slow): stop here.
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(())
}

/// The system account, made on first use.
async fn ensure_system_actor(tx: &mut Tx, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO users (id, email, role, status, locale, created_at, updated_at, deleted_at, anonymized_at) \
         VALUES ($1, 'system@invalid', 'USER', 'DISABLED', 'fr', $2, $2, $2, $2) ON CONFLICT (id) DO NOTHING")
        .bind(SYSTEM_ACTOR).bind(now).execute(c).await.map(|_| ()))
}

/// Applies the retention policy at `now` (the policy's clock: the server's in production, a moved
/// one in tests). Safe with several instances: the run first takes the lease row of
/// `job_leases` with one conditional UPDATE, so two instances at once do it once; the other
/// answers [`RetentionOutcome::Skipped`]. Idempotent: a second run finds nothing left to do. A run
/// that dies leaves its lease to expire after [`LEASE_MINUTES`], then any instance takes over.
pub async fn run_retention(
    state: &AppState,
    now: DateTime<Utc>,
    dry_run: bool,
    trigger: Trigger,
) -> Result<RetentionOutcome, AppError> {
    let (db, config) = (&state.db, &state.config);
    if dry_run {
        return Ok(RetentionOutcome::DryRun(
            retention_plan(db, config, now).await?.counts,
        ));
    }
    let holder = Uuid::new_v4();
    let not_run_since = match trigger {
        Trigger::Schedule => Some(now - Duration::hours(RUN_EVERY_HOURS)),
        Trigger::Admin(_) => None,
    };
    if !claim(db, holder, now, not_run_since).await? {
        return Ok(RetentionOutcome::Skipped);
    }
    let p = policy(db, config, now).await?;
    let mut done = RetentionCounts::default();

    // 1. The bulk steps, one statement each.
    for step in steps(&p) {
        let Some(at) = step.at else { continue };
        let sql = match step.set {
            Some(set) => format!("UPDATE {} SET {set} WHERE {}", step.table, step.filter),
            None => format!("DELETE FROM {} WHERE {}", step.table, step.filter),
        };
        let n = crate::db_write!(db, pool => sqlx::query(&sql).bind(at).execute(pool).await.map(|r| r.rows_affected()))?;
        add(&mut done, step.kind, n as i64);
    }
    crate::db_write!(db, pool => sqlx::query(
        "UPDATE email_logs SET error = NULL WHERE error IS NOT NULL AND user_id IN (SELECT id FROM users WHERE anonymized_at IS NOT NULL)")
        .execute(pool).await.map(|_| ()))?;

    // 2. Door searches and resent tickets' addresses older than the window, in batches.
    let select = format!(
        "SELECT id, meta FROM audit_logs WHERE {SCAN_DETAILS} ORDER BY created_at LIMIT 500"
    );
    loop {
        let rows: Vec<(Uuid, Json<Value>)> = db_run!(db, pool => sqlx::query_as(&select).bind(p.window_start).fetch_all(pool).await)?;
        if rows.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        for (id, Json(mut meta)) in rows {
            let mut touched = false;
            if let Value::Object(map) = &mut meta {
                for key in SCAN_DETAIL_KEYS {
                    if let Some(v) = map.get_mut(key) {
                        *v = Value::String(REDACTED.into());
                        touched = true;
                    }
                }
                if !touched {
                    // Nothing to redact: marked, so that the next batch does not select it again.
                    map.insert("redacted".into(), Value::String(REDACTED.into()));
                }
            } else {
                meta = json!({ "redacted": REDACTED });
            }
            tx_run!(&mut tx, c => sqlx::query("UPDATE audit_logs SET meta = $1 WHERE id = $2")
                .bind(Json(&meta)).bind(id).execute(c).await.map(|_| ()))?;
            done.scan_details += 1;
        }
        tx.commit().await?;
        renew(db, holder, now).await?;
    }

    // 3. Orders past their accounting retention: amounts, dates and ids only.
    if let Some(cutoff) = p.accounting_cutoff {
        let mut tx = db.begin().await?;
        ensure_system_actor(&mut tx, now).await?;
        let payments = format!("UPDATE payments SET stripe_checkout_session_id = NULL, stripe_payment_intent_id = NULL, stripe_refund_id = NULL, \
             checkout_url = NULL, note = NULL WHERE order_id IN (SELECT id FROM orders WHERE {ORDERS_DUE})");
        let tickets = format!("UPDATE tickets SET user_id = $2, holder_name = NULL, holder_email = NULL, used_by_user_id = NULL \
             WHERE order_id IN (SELECT id FROM orders WHERE {ORDERS_DUE})");
        let orders = format!("UPDATE orders SET user_id = $2 WHERE {ORDERS_DUE}");
        let n = tx_run!(&mut tx, c => {
            sqlx::query(&payments).bind(cutoff).bind(SYSTEM_ACTOR).execute(&mut *c).await?;
            sqlx::query(&tickets).bind(cutoff).bind(SYSTEM_ACTOR).execute(&mut *c).await?;
            sqlx::query(&orders).bind(cutoff).bind(SYSTEM_ACTOR).execute(&mut *c).await?.rows_affected()
        });
        tx.commit().await?;
        done.orders_reduced = n as i64;
    }

    // 4. Attendee accounts of the past event, one transaction each (last: see `steps`).
    if let Some(end) = p.event_end_due() {
        let select =
            format!("SELECT id FROM users WHERE {ACCOUNTS_DUE} ORDER BY created_at, id LIMIT 200");
        loop {
            let ids: Vec<(Uuid,)> =
                db_run!(db, pool => sqlx::query_as(&select).bind(end).fetch_all(pool).await)?;
            if ids.is_empty() {
                break;
            }
            let mut progressed = false;
            for (id,) in ids {
                let mut tx = db.begin().await?;
                match anonymise(&mut tx, config, id, now, false).await {
                    Ok(Some(erased)) => {
                        tx.commit().await?;
                        done.accounts += 1;
                        progressed = true;
                        for order_id in erased.orders_released {
                            crate::payments::service::expire_session_quietly(state, order_id).await;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(user = %id, error = %e, "retention: account not anonymised")
                    }
                }
            }
            renew(db, holder, now).await?;
            if !progressed {
                break;
            }
        }
    }

    // 5. The lease back, with the time of this run, and the trace.
    let mut tx = db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE job_leases SET holder = NULL, lease_until = NULL, last_run_at = $1 WHERE name = $2 AND holder = $3")
        .bind(now).bind(RETENTION_JOB).bind(holder).execute(c).await.map(|_| ()))?;
    let actor = match trigger {
        Trigger::Admin(admin) => Some(admin),
        Trigger::Schedule if !done.is_empty() => {
            ensure_system_actor(&mut tx, now).await?;
            Some(SYSTEM_ACTOR)
        }
        Trigger::Schedule => None,
    };
    if let Some(actor) = actor {
        audit(
            &mut tx,
            actor,
            "RETENTION_RUN",
            "retention",
            RETENTION_JOB,
            json!({
                "trigger": trigger.label(),
                "policy_now": now,
                "counts": done,
                "retention_days_after_event": config.retention_days_after_event,
                "accounting_retention_years": config.accounting_retention_years,
                "event_end": p.event_end
            }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(RetentionOutcome::Ran(done))
}

/// The admin page's summary at `now`.
pub async fn overview(
    db: &Db,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<RetentionOverview, AppError> {
    let plan = retention_plan(db, config, now).await?;
    let last: Option<(Option<DateTime<Utc>>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT last_run_at FROM job_leases WHERE name = $1").bind(RETENTION_JOB).fetch_optional(pool).await)?;
    let oldest: Option<(DateTime<Utc>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT created_at FROM orders WHERE user_id <> $1 AND status <> 'PENDING_PAYMENT' ORDER BY created_at LIMIT 1")
        .bind(SYSTEM_ACTOR).fetch_optional(pool).await)?;
    // An order of year Y is kept until the end of year Y + years: due on the 1st of January after.
    let next_accounting_due = oldest.and_then(|(at,)| {
        let year = at.with_timezone(&config.timezone).year();
        i32::try_from(config.accounting_retention_years)
            .ok()
            .and_then(|years| year.checked_add(years)?.checked_add(1))
            .and_then(|y| year_start(config, y))
    });
    let p = &plan.policy;
    Ok(RetentionOverview {
        retention_days_after_event: config.retention_days_after_event,
        accounting_retention_years: config.accounting_retention_years,
        event_end: p.event_end,
        due_at: p.due_at,
        due: p.event_end_due().is_some(),
        accounting_cutoff: p.accounting_cutoff,
        next_accounting_due,
        last_run_at: last.and_then(|l| l.0),
        next: plan.counts,
    })
}

/// The past runs, newest first (their `RETENTION_RUN` audit entries).
pub async fn history(db: &Db) -> Result<Vec<RetentionRunView>, AppError> {
    let rows: Vec<(Uuid, DateTime<Utc>, String, Json<Value>)> = db_run!(db, pool => sqlx::query_as(
        "SELECT a.id, a.created_at, u.email, a.meta FROM audit_logs a JOIN users u ON u.id = a.actor_user_id \
         WHERE a.action = 'RETENTION_RUN' ORDER BY a.created_at DESC LIMIT 100")
        .fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, at, actor_email, Json(meta))| RetentionRunView {
            id,
            at,
            actor_email,
            trigger: meta
                .get("trigger")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            counts: meta
                .get("counts")
                .cloned()
                .and_then(|c| serde_json::from_value(c).ok())
                .unwrap_or_default(),
        })
        .collect())
}

/// Starts the privacy worker of this instance: every few minutes it erases the addresses of sent
/// mails of erased accounts, and tries the scheduled retention run (which one instance a day
/// gets). Its first pass comes a few minutes after start, so a fresh instance (or a test) is not
/// raced by it.
pub fn start_worker(state: AppState) {
    let shutdown = state.shutdown.clone();
    shutdown.spawn("privacy", async move {
        let every = std::time::Duration::from_secs(WORKER_EVERY_SECS);
        while state.shutdown.pause(every).await {
            let mut result = "ok";
            match scrub_erased_mail(&state.db, now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(mails = n, "addresses of erased accounts' mails erased"),
                Err(e) => {
                    result = "error";
                    tracing::warn!(error = %e, "privacy worker: mails")
                }
            }
            match run_retention(&state, now(), false, Trigger::Schedule).await {
                Ok(RetentionOutcome::Ran(counts)) if !counts.is_empty() => {
                    tracing::info!(?counts, "retention run")
                }
                Ok(_) => {}
                Err(e) => {
                    result = "error";
                    tracing::warn!(error = %e, "privacy worker: retention")
                }
            }
            crate::server::metrics::job_run("privacy", result);
        }
    });
}

/// `GET /me/data.json` (my data) and `GET /admin/privacy/export/{user}` (a person's, admins only):
/// the export as an attached JSON file, audited, rate-limited.
pub mod http {
    use crate::{accounts::Role, server::state::AppState};
    use axum::{
        extract::{Path, State},
        http::{header, HeaderMap, StatusCode},
        response::{IntoResponse, Response},
    };
    use uuid::Uuid;

    fn attachment(value: &serde_json::Value, user_id: Uuid) -> Response {
        let Ok(body) = serde_json::to_vec_pretty(value) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        (
            [
                (
                    header::CONTENT_TYPE,
                    "application/json; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"tessera-data-{}.json\"",
                        user_id.simple()
                    ),
                ),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
            body,
        )
            .into_response()
    }

    /// A download another site started (a link or an image elsewhere, a sibling subdomain
    /// included): refused, so that no other
    /// site can spend a person's export budget or fill the audit log.
    fn cross_site(headers: &HeaderMap) -> bool {
        headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| site != "same-origin" && site != "none")
    }

    pub async fn export_mine(State(state): State<AppState>, headers: HeaderMap) -> Response {
        if cross_site(&headers) {
            return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
        }
        let Some(user) = crate::accounts::session::user_from_headers(&state.db, &headers).await
        else {
            return (StatusCode::UNAUTHORIZED, "log in first").into_response();
        };
        let key = format!("export:acct:{}", user.id);
        if let Err(e) =
            crate::accounts::service::limited(&state, &key, super::EXPORTS_PER_HOUR, 3600)
        {
            return (e.status(), e.message(user.locale)).into_response();
        }
        match super::export_audited(&state.db, user.id, user.id).await {
            Ok(value) => attachment(&value, user.id),
            Err(e) => e.status().into_response(),
        }
    }

    pub async fn export_person(
        State(state): State<AppState>,
        Path(user): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        if cross_site(&headers) {
            return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
        }
        let admin = match crate::accounts::session::user_from_headers(&state.db, &headers).await {
            None => return StatusCode::UNAUTHORIZED.into_response(),
            Some(u) if u.role != Role::Admin => return StatusCode::FORBIDDEN.into_response(),
            Some(u) => u,
        };
        let Ok(user_id) = Uuid::parse_str(user.trim_end_matches(".json")) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        match super::export_audited(&state.db, user_id, admin.id).await {
            Ok(value) => attachment(&value, user_id),
            Err(e) => e.status().into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_find_a_person_in_audit_details_and_nothing_else() {
        let n = Needles::new(
            "zoe.quux@example.org",
            Some("Zoé"),
            Some("Le Quuxley"),
            Some("+33611223344"),
        );
        assert!(n.matches("ZOE.QUUX@example.org"));
        assert!(n.matches("appelé au +33611223344"));
        assert!(n.matches("zoé le quuxley"));
        assert!(n.matches("Quuxley"), "a word of the last name");
        assert!(!n.matches("Le programme"), "short words are not names");
        assert!(!n.matches("Zoéline"), "a word, not a part of one");
        let mut meta = json!({ "query": "quuxley", "found": 1, "to": ["zoe.quux@example.org"], "title": "Rust" });
        assert!(redact(&mut meta, &n));
        assert_eq!(
            meta,
            json!({ "query": REDACTED, "found": 1, "to": [REDACTED], "title": "Rust" })
        );
        assert!(n.patterns.contains(&"%zoe.quux@example.org%".to_string()));
        assert!(n.patterns.contains(&"%Zoé%".to_string()), "as typed too");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn a_name_made_of_common_words_blanks_only_the_values_that_name_people() {
        // Someone signs up as "Stripe Admin", then deletes their account: other people's audit
        // entries keep their details; only values that name people (a search for them) go.
        let n = Needles::new("x@example.org", Some("Stripe"), Some("Admin"), None);
        let mut webhook = json!({ "source": "stripe", "by": "admin", "payment_status": "paid" });
        assert!(!redact_personal_keys(&mut webhook, &n));
        assert_eq!(
            webhook,
            json!({ "source": "stripe", "by": "admin", "payment_status": "paid" })
        );
        let mut search = json!({ "query": "stripe", "found": 1, "before": { "title": "Stripe" } });
        assert!(redact_personal_keys(&mut search, &n));
        assert_eq!(
            search,
            json!({ "query": REDACTED, "found": 1, "before": { "title": "Stripe" } })
        );
    }

    #[test]
    fn placeholders_are_unique_and_never_a_valid_address() {
        let id = Uuid::new_v4();
        let p = placeholder_email(id);
        assert!(p.contains(&id.simple().to_string()));
        assert!(crate::accounts::service::normalise_email(&p).is_err());
        assert!(crate::accounts::service::normalise_email(ERASED_ADDRESS).is_err());
    }

    #[test]
    fn accounting_years_end_on_the_31st_of_december() {
        let config = crate::server::config::Config::from_map(
            &[("SECRET_KEY".to_string(), "k".repeat(32))]
                .into_iter()
                .collect(),
        )
        .unwrap();
        let start = year_start(&config, 2017).unwrap();
        assert_eq!(
            start.to_rfc3339(),
            "2016-12-31T23:00:00+00:00",
            "Paris time"
        );
    }
}
