//! Messages to attendees on the server: the form checked, the test sent to the admin, the job that
//! queues a due message's mails in the outbox spaced at `MESSAGE_RATE_PER_MINUTE` (claimed by a
//! conditional UPDATE in the transaction that queues them: several instances never queue a message
//! twice), and the back office's list with delivery figures.
//!
//! Children: `recipients` chooses who a message goes to (one mail per address, in their language,
//! promotional ones only with a marketing opt-in); `links` the unsubscribe links that withdraw that
//! opt-in without logging in.
use super::{
    CheckedIn, Filter, MessageDraft, MessageKind, MessagePreview, MessageRow, MessageStatus,
    MessagesAdmin, OrderFilter, PassChoice, QuestionChoice,
};
use crate::server::prelude::*;
use crate::{
    accounts::{service::limited, AuthUser},
    i18n::Locale,
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
};
use chrono::Duration;
use std::collections::HashSet;

mod links;
mod recipients;
pub use links::*;
pub use recipients::Recipient;
use recipients::{holders, pick};

/// The longest subject, body and answer a message may have (characters).
const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 20_000;
const ANSWER_MAX: usize = 500;
/// How many masked addresses a preview shows.
const SAMPLE: usize = 5;
/// Test messages one admin may send per hour.
const TESTS_PER_HOUR: usize = 30;

/// A message as checked: its kind, its texts (cleaned) and its filter.
pub struct Checked {
    pub kind: MessageKind,
    pub subject_fr: String,
    pub subject_en: String,
    pub body_fr: String,
    pub body_en: String,
    pub filter: Filter,
}

impl Checked {
    /// The subject and body as a reader of `locale` gets them (French when there is no English).
    fn texts(&self, locale: Locale) -> (String, String) {
        let pick = |fr: &String, en: &String| {
            if locale == Locale::En && !en.is_empty() {
                en.clone()
            } else {
                fr.clone()
            }
        };
        (
            pick(&self.subject_fr, &self.subject_en),
            pick(&self.body_fr, &self.body_en),
        )
    }
}

/// A subject on one line: what is not printable becomes a space, spaces are collapsed.
fn one_line(raw: &str) -> String {
    raw.chars()
        .map(|c| if crate::text::printable(c) { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A body: its lines kept, tabs as spaces, other invisible characters dropped, trimmed.
fn body_text(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\t' | '\r' => Some(' '),
            c if crate::text::printable(c) => Some(c),
            _ => None,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// "a***@example.org".
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Checks the form: the kind, the texts (French required, English optional), and the filter
/// (unknown passes and questions refused next to their field).
pub async fn check(db: &Db, d: &MessageDraft) -> Result<Checked, AppError> {
    let bad = |field: &str, key: &str| AppError::invalid(field, key);
    let kind = d
        .kind
        .trim()
        .to_ascii_uppercase()
        .parse::<MessageKind>()
        .map_err(|_| bad("kind", "messages.error.kind"))?;
    let (subject_fr, subject_en) = (one_line(&d.subject_fr), one_line(&d.subject_en));
    if subject_fr.is_empty() || subject_fr.chars().count() > SUBJECT_MAX {
        return Err(bad("subject_fr", "messages.error.subject"));
    }
    if subject_en.chars().count() > SUBJECT_MAX {
        return Err(bad("subject_en", "messages.error.subject"));
    }
    let (body_fr, body_en) = (body_text(&d.body_fr), body_text(&d.body_en));
    if body_fr.is_empty() || body_fr.chars().count() > BODY_MAX {
        return Err(bad("body_fr", "messages.error.body"));
    }
    if body_en.chars().count() > BODY_MAX {
        return Err(bad("body_en", "messages.error.body"));
    }
    let mut passes: Vec<Uuid> = vec![];
    for raw in d
        .passes
        .split([',', ' ', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let id = Uuid::parse_str(raw).map_err(|_| bad("passes", "messages.error.passes"))?;
        if !passes.contains(&id) {
            passes.push(id);
        }
        if passes.len() > 500 {
            return Err(bad("passes", "messages.error.passes"));
        }
    }
    if !passes.is_empty() {
        let known: Vec<(Uuid,)> = db_run!(db, pool => sqlx::query_as("SELECT id FROM ticket_types").fetch_all(pool).await)?;
        let known: HashSet<Uuid> = known.into_iter().map(|k| k.0).collect();
        if passes.iter().any(|p| !known.contains(p)) {
            return Err(bad("passes", "messages.error.passes"));
        }
    }
    let order_status = choice(&d.order_status, OrderFilter::Paid, "order_status")?;
    let checked_in = choice(&d.checked_in, CheckedIn::Any, "checked_in")?;
    let question_id = match d.question_id.trim() {
        "" => None,
        raw => {
            let id =
                Uuid::parse_str(raw).map_err(|_| bad("question_id", "messages.error.question"))?;
            let found: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as("SELECT id FROM questions WHERE id = $1")
                .bind(id).fetch_optional(pool).await)?;
            found.ok_or_else(|| bad("question_id", "messages.error.question"))?;
            Some(id)
        }
    };
    let answer = one_line(&d.answer);
    if answer.chars().count() > ANSWER_MAX || (question_id.is_none() && !answer.is_empty()) {
        return Err(bad("answer", "messages.error.answer"));
    }
    Ok(Checked {
        kind,
        subject_fr,
        subject_en,
        body_fr,
        body_en,
        filter: Filter {
            passes,
            order_status,
            checked_in,
            question_id,
            answer,
        },
    })
}

/// The mail of a message to one recipient, in their language; a promotional one carries the
/// recipient's unsubscribe link.
fn mail(config: &Config, message: &Checked, to: &Recipient) -> Mail {
    let (subject, body) = message.texts(to.locale);
    let link = match (message.kind, to.user_id) {
        (MessageKind::Promotional, Some(user)) => Some(unsubscribe_link(config, user)),
        _ => None,
    };
    Mail {
        kind: MailKind::AttendeeMessage,
        user_id: to.user_id,
        to: to.email.clone(),
        locale: to.locale,
        vars: vec![("subject", subject), ("body", body)],
        link,
        order_id: None,
    }
}

pub async fn preview(db: &Db, d: &MessageDraft) -> Result<MessagePreview, AppError> {
    let message = check(db, d).await?;
    let rows = holders(db, message.filter.question_id).await?;
    let chosen = pick(rows, message.kind, &message.filter);
    let count = chosen.recipients.len() as i64;
    let count_en = chosen
        .recipients
        .iter()
        .filter(|r| r.locale == Locale::En)
        .count() as i64;
    Ok(MessagePreview {
        count,
        count_fr: count - count_en,
        count_en,
        without_consent: chosen.without_consent,
        sample: chosen
            .recipients
            .iter()
            .take(SAMPLE)
            .map(|r| mask(&r.email))
            .collect(),
        subject_fr: message.texts(Locale::Fr).0,
        subject_en: message.texts(Locale::En).0,
    })
}

/// The message to the admin alone, in their language (a promotional one with their own link).
pub async fn send_test(
    state: &AppState,
    admin: &AuthUser,
    d: &MessageDraft,
) -> Result<String, AppError> {
    let message = check(&state.db, d).await?;
    limited(
        state,
        &format!("message-test:{}", admin.id),
        TESTS_PER_HOUR,
        3600,
    )?;
    let to = Recipient {
        email: admin.email.clone(),
        user_id: Some(admin.id),
        locale: admin.locale,
    };
    let mut tx = state.db.begin().await?;
    let outbox = enqueue(&mut tx, &mail(&state.config, &message, &to)).await?;
    Audit::new(admin.id, "SEND_TEST_MESSAGE", "outbox_email", outbox)
        .meta(serde_json::json!({
            "kind": message.kind.as_str(),
            "subject_fr": message.subject_fr,
            "to": admin.email,
        }))
        .commit(tx)
        .await?;
    state.mailer.wake();
    Ok(admin.email.clone())
}

/// Records a message to send now (`send_at` empty: its mails are queued at once) or at a time
/// (conference time, in the future).
pub async fn create(
    state: &AppState,
    admin: &AuthUser,
    d: &MessageDraft,
    send_at: &str,
) -> Result<Uuid, AppError> {
    let message = check(&state.db, d).await?;
    let at = now();
    let send_now = send_at.trim().is_empty();
    let when = if send_now {
        at
    } else {
        let t = state
            .config
            .parse_local_input(send_at)
            .ok_or_else(|| AppError::invalid("send_at", "messages.error.send_at"))?;
        if t <= at {
            return Err(AppError::invalid("send_at", "messages.error.send_at_past"));
        }
        t
    };
    let id = Uuid::new_v4();
    let filter = serde_json::to_string(&message.filter).map_err(|_| AppError::Internal)?;
    let mut tx = state.db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO messages (id, kind, subject_fr, subject_en, body_fr, body_en, filter, status, send_at, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'SCHEDULED', $8, $9, $10)")
        .bind(id).bind(message.kind.as_str()).bind(&message.subject_fr).bind(&message.subject_en)
        .bind(&message.body_fr).bind(&message.body_en).bind(&filter).bind(when).bind(admin.id).bind(at)
        .execute(c).await.map(|_| ()))?;
    Audit::new(admin.id, "CREATE_MESSAGE", "message", id)
        .meta(serde_json::json!({
            "kind": message.kind.as_str(),
            "subject_fr": message.subject_fr,
            "filter": message.filter,
            "send_at": when,
            "now": send_now,
        }))
        .commit(tx)
        .await?;
    if send_now {
        // Queued now; should that fail, the job queues it at its next run.
        if let Err(e) = run_due(state).await {
            tracing::warn!(error = %e, id = %id, "message to attendees not queued yet");
        }
    }
    Ok(id)
}

/// The job: queues the mails of the messages whose time has come (ten per run; the next run goes
/// on). Returns the mails queued.
pub async fn run_due(state: &AppState) -> Result<usize, AppError> {
    let due: Vec<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT id FROM messages WHERE status = 'SCHEDULED' AND send_at <= $1 ORDER BY send_at, id LIMIT 10")
        .bind(now()).fetch_all(pool).await)?;
    let mut queued = 0;
    for (id,) in due {
        queued += queue(state, id).await?;
    }
    if queued > 0 {
        state.mailer.wake();
    }
    Ok(queued)
}

#[derive(sqlx::FromRow)]
struct Stored {
    kind: String,
    subject_fr: String,
    subject_en: String,
    body_fr: String,
    body_en: String,
    filter: String,
    created_by: Uuid,
}

/// Queues one due message, in one transaction: claims it, writes one mail per recipient, the
/// i-th due at start + i × 60 / rate seconds (start: now, or after the last mail of the messages
/// queued before, so that messages together keep the rate), and marks it SENT. The outbox worker
/// sends them, retrying failures: an SMTP outage delays them, it loses none.
async fn queue(state: &AppState, id: Uuid) -> Result<usize, AppError> {
    let at = now();
    let mut tx = state.db.begin().await?;
    let claimed = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE messages SET status = 'SENDING' WHERE id = $1 AND status = 'SCHEDULED' AND send_at <= $2")
        .bind(id).bind(at).execute(c).await.map(|r| r.rows_affected()))?;
    if claimed != 1 {
        return Ok(0);
    }
    let stored: Stored = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT kind, subject_fr, subject_en, body_fr, body_en, filter, created_by FROM messages WHERE id = $1")
        .bind(id).fetch_one(c).await)?;
    let created_by = stored.created_by;
    let message = Checked {
        kind: stored.kind.parse().map_err(|_| AppError::Internal)?,
        filter: serde_json::from_str(&stored.filter).map_err(|_| AppError::Internal)?,
        subject_fr: stored.subject_fr,
        subject_en: stored.subject_en,
        body_fr: stored.body_fr,
        body_en: stored.body_en,
    };
    let rows = holders(&state.db, message.filter.question_id).await?;
    let chosen = pick(rows, message.kind, &message.filter);
    let rate = state.config.message_rate_per_minute.max(1);
    let step = |i: usize| Duration::microseconds((i as i64).saturating_mul(60_000_000) / rate);
    let (last,): (Option<DateTime<Utc>>,) = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT MAX(last_due_at) FROM messages WHERE status = 'SENT'").fetch_one(c).await)?;
    let start = match last {
        Some(t) if t + step(1) > at => t + step(1),
        _ => at,
    };
    let mut last_due = None;
    for (i, to) in chosen.recipients.iter().enumerate() {
        let due = start + step(i);
        let outbox = enqueue(&mut tx, &mail(&state.config, &message, to)).await?;
        tx_run!(&mut tx, c => sqlx::query("UPDATE outbox_emails SET next_attempt_at = $1 WHERE id = $2")
            .bind(due).bind(outbox).execute(c).await.map(|_| ()))?;
        tx_run!(&mut tx, c => sqlx::query(
            "INSERT INTO message_recipients (message_id, email, user_id, locale, outbox_id, due_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id).bind(&to.email).bind(to.user_id).bind(to.locale.code()).bind(outbox).bind(due)
            .execute(c).await.map(|_| ()))?;
        last_due = Some(due);
    }
    let n = chosen.recipients.len();
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE messages SET status = 'SENT', sent_at = $1, recipients = $2, last_due_at = $3 WHERE id = $4")
        .bind(at).bind(n as i64).bind(last_due).bind(id).execute(c).await.map(|_| ()))?;
    Audit::new(created_by, "SEND_MESSAGE", "message", id)
        .meta(serde_json::json!({
            "recipients": n,
            "first_due": start,
            "last_due": last_due,
            "rate_per_minute": rate,
        }))
        .commit(tx)
        .await?;
    tracing::info!(id = %id, recipients = n, "message to attendees queued");
    Ok(n)
}

/// Cancels a message still SCHEDULED (it goes back to DRAFT).
pub async fn cancel(db: &Db, admin: Uuid, id: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => sqlx::query("UPDATE messages SET status = 'DRAFT' WHERE id = $1 AND status = 'SCHEDULED'")
        .bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        let exists: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT id FROM messages WHERE id = $1")
            .bind(id).fetch_optional(c).await)?;
        return Err(match exists {
            Some(_) => AppError::invalid("message", "messages.error.not_scheduled"),
            None => AppError::NotFound,
        });
    }
    Audit::new(admin, "CANCEL_MESSAGE", "message", id)
        .commit(tx)
        .await
}

// ---------------------------------------------------------------------------------------------
// The back office's list

#[derive(sqlx::FromRow)]
struct ListedRow {
    id: Uuid,
    #[sqlx(try_from = "String")]
    kind: MessageKind,
    subject_fr: String,
    #[sqlx(try_from = "String")]
    status: MessageStatus,
    send_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    recipients: i64,
    sent: i64,
    failed: i64,
    pending: i64,
}

/// Delivery figures from the mails' statuses: sent; failed (retried: the outbox never gives up);
/// not tried yet.
const LISTED: &str = "SELECT m.id, m.kind, m.subject_fr, m.status, m.send_at, m.sent_at, m.recipients, \
     (SELECT COUNT(*) FROM message_recipients r JOIN outbox_emails e ON e.id = r.outbox_id \
      WHERE r.message_id = m.id AND e.status = 'SENT') AS sent, \
     (SELECT COUNT(*) FROM message_recipients r JOIN outbox_emails e ON e.id = r.outbox_id \
      WHERE r.message_id = m.id AND (e.status = 'FAILED' OR (e.status = 'PENDING' AND e.attempts > 0))) AS failed, \
     (SELECT COUNT(*) FROM message_recipients r JOIN outbox_emails e ON e.id = r.outbox_id \
      WHERE r.message_id = m.id AND e.status = 'PENDING' AND e.attempts = 0) AS pending \
     FROM messages m ORDER BY m.created_at DESC, m.id LIMIT 200";

pub async fn admin_view(db: &Db, config: &Config) -> Result<MessagesAdmin, AppError> {
    let rows: Vec<ListedRow> = db_run!(db, pool => sqlx::query_as(LISTED).fetch_all(pool).await)?;
    let messages = rows
        .into_iter()
        .map(|r| MessageRow {
            id: r.id,
            kind: r.kind,
            subject: r.subject_fr,
            status: r.status,
            send_at: r
                .sent_at
                .or(r.send_at)
                .map(|t| config.short_local(t))
                .unwrap_or_default(),
            recipients: r.recipients,
            sent: r.sent,
            failed: r.failed,
            pending: r.pending,
        })
        .collect();
    let passes: Vec<(Uuid, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, name FROM ticket_types ORDER BY name, id").fetch_all(pool).await)?;
    let questions: Vec<(Uuid, String, String, String, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, kind, label_fr, label_en, options FROM questions WHERE archived_at IS NULL ORDER BY position, created_at, id")
        .fetch_all(pool).await)?;
    Ok(MessagesAdmin {
        messages,
        passes: passes
            .into_iter()
            .map(|(id, name)| PassChoice { id, name })
            .collect(),
        questions: questions
            .into_iter()
            .map(|(id, kind, label_fr, label_en, options)| {
                let options = match kind.as_str() {
                    "YES_NO" => vec!["yes".to_string(), "no".to_string()],
                    "CHOICE" | "MULTIPLE" => options
                        .lines()
                        .map(|l| one_line(l.split_once('|').map_or(l, |(fr, _)| fr)))
                        .filter(|o| !o.is_empty())
                        .collect(),
                    _ => vec![],
                };
                QuestionChoice {
                    id,
                    kind,
                    label_fr,
                    label_en,
                    options,
                }
            })
            .collect(),
        rate_per_minute: config.message_rate_per_minute,
    })
}

/// One of a filter's choices (any case; empty: `default`), refused on `field`.
fn choice<T: std::str::FromStr>(raw: &str, default: T, field: &str) -> Result<T, AppError> {
    match raw.trim() {
        "" => Ok(default),
        s => s
            .to_ascii_uppercase()
            .parse::<T>()
            .map_err(|_| AppError::invalid(field, &format!("messages.error.{field}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cleaned_and_addresses_masked() {
        assert_eq!(one_line(" Infos\u{202e}  pratiques\n"), "Infos pratiques");
        assert_eq!(
            body_text("\r\nLigne 1\r\n\tLigne 2\u{200b}\n"),
            "Ligne 1\n Ligne 2"
        );
        assert_eq!(mask("ada@example.org"), "a***@example.org");
    }
}
