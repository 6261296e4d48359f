//! The personal data export, and its audited variant (the downloads are in `http`).
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
//! - `answers`: their tickets' answers to the organiser's questions (`ticket_id`, `question`,
//!   `answer`, `updated_at`);
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
use super::*;

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
        let items = objects(&items, "pass quantity unit_price_cents line_total_cents");
        let payments = objects(
            &payments,
            "id provider status refunded_cents created_at updated_at",
        );
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
         FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id WHERE t.user_id = $1 OR t.holder_user_id = $1 ORDER BY t.issued_at, t.id")
        .bind(user_id).fetch_all(pool).await)?;
    // The answers given for their tickets (bought or claimed).
    let answers: Vec<(Uuid, String, String, DateTime<Utc>)> = db_run!(db, pool => sqlx::query_as(
        "SELECT a.ticket_id, q.label_fr, a.answer, a.updated_at FROM ticket_answers a JOIN questions q ON q.id = a.question_id \
         JOIN tickets t ON t.id = a.ticket_id WHERE t.user_id = $1 OR t.holder_user_id = $1 ORDER BY a.ticket_id, q.position, q.id")
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
    let waiting_lists = objects(&waits, "pass status joined_at offered_until");

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
    let invoices = objects(
        &invoices,
        "number kind order_id issued_at buyer company gross_cents currency",
    );

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

    let consents = objects(&consents, "type version accepted_at granted user_agent");
    let tickets = objects(
        &tickets,
        "id order_id pass status holder_name holder_email issued_at checked_in_at",
    );
    let programme = objects(&programme, "talk_id title start_at end_at room saved_at");
    let sessions = objects(&sessions, "created_at last_seen_at expires_at user_agent");
    let mails = objects(&mails, "type status created_at sent_at attempts");
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
        "answers": objects(&answers, "ticket_id question answer updated_at"),
        "check_ins": objects(&check_ins, "ticket_id list at direction"),
        "workshops": objects(&workshops, "talk_id title booked_at"),
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
pub(crate) fn rows_in(export: &Value) -> usize {
    [
        "consents",
        "orders",
        "tickets",
        "answers",
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
    let tx = db.begin().await?;
    Audit::new(actor, "EXPORT_PERSONAL_DATA", "user", user_id)
        .meta(json!({ "rows": rows, "by": by }))
        .commit(tx)
        .await?;
    Ok(value)
}

/// Each row (a tuple as read) as a JSON object with `keys` (separated by spaces), in the tuple's
/// order.
fn objects<T: serde::Serialize>(rows: &[T], keys: &str) -> Vec<Value> {
    let object = |row: &T| match serde_json::to_value(row) {
        Ok(Value::Array(values)) => {
            Value::Object(keys.split(' ').map(str::to_string).zip(values).collect())
        }
        _ => Value::Null,
    };
    rows.iter().map(object).collect()
}
