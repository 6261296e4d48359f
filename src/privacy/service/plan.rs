//! The retention policy: its instants for a run, its bulk steps, and the dry run that counts
//! what a run would change.
use super::*;

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
    pub(crate) fn event_end_due(&self) -> Option<DateTime<Utc>> {
        match (self.event_end, self.due_at) {
            (Some(end), Some(due)) if due <= self.now => Some(end),
            _ => None,
        }
    }
}

/// The first instant of `year` in the conference's time zone.
pub(crate) fn year_start(config: &Config, year: i32) -> Option<DateTime<Utc>> {
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
pub(crate) const ACCOUNTS_DUE: &str =
    "role = 'USER' AND anonymized_at IS NULL AND created_at < $1 \
     AND (last_login_at IS NULL OR last_login_at < $1) \
     AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = users.id AND s.last_seen_at >= $1) \
     AND NOT EXISTS (SELECT 1 FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE t.user_id = users.id AND t.status = 'VALID' AND tt.valid_until > $1)";

/// Door searches and resent tickets' addresses older than `$1` not redacted yet (over `audit_logs`).
pub(crate) const SCAN_DETAILS: &str =
    "action IN ('SCAN_SEARCH', 'RESEND_TICKETS') AND created_at < $1 \
     AND CAST(meta AS TEXT) NOT LIKE '%[redacted]%'";
/// The meta keys of those entries that name people.
pub(crate) const SCAN_DETAIL_KEYS: [&str; 2] = ["query", "to"];

/// Orders past their accounting retention (over `orders`; `$1` the cutoff, `$2` the system account).
pub(crate) const ORDERS_DUE: &str =
    "created_at < $1 AND user_id <> $2 AND status <> 'PENDING_PAYMENT'";

/// Which counter a bulk step adds to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    TicketHolders,
    MailBodies,
    IpHashes,
    ExpiredSessions,
    ExpiredTokens,
    ErasedMailAddresses,
}

pub(crate) fn add(counts: &mut RetentionCounts, kind: Kind, n: i64) {
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
pub(crate) struct Step {
    pub(crate) kind: Kind,
    pub(crate) table: &'static str,
    pub(crate) filter: &'static str,
    pub(crate) set: Option<&'static str>,
    pub(crate) at: Option<DateTime<Utc>>,
}

/// The bulk steps, in the order a run applies them: before the accounts, so that the counts of a
/// dry run and of the run that follows are the same (each step counts rows as the state is
/// before the run; anonymising accounts last touches none that a step counted).
pub(crate) fn steps(p: &Policy) -> Vec<Step> {
    vec![
        Step {
            kind: Kind::TicketHolders,
            table: "tickets",
            filter: "(holder_name IS NOT NULL OR holder_email IS NOT NULL) AND issued_at < $1",
            set: Some("holder_name = NULL, holder_email = NULL, holder_user_id = NULL, claim_hash = NULL"),
            at: p.event_end_due(),
        },
        // Their answers to the organiser's questions go with them.
        Step {
            kind: Kind::TicketHolders,
            table: "ticket_answers",
            filter: "updated_at < $1",
            set: None,
            at: p.event_end_due(),
        },
        // What buyers typed for seats of orders never paid.
        Step {
            kind: Kind::TicketHolders,
            table: "orders",
            filter: "attendees IS NOT NULL AND created_at < $1",
            set: Some("attendees = NULL"),
            at: Some(p.window_start),
        },
        Step {
            kind: Kind::MailBodies,
            table: "message_recipients",
            filter: "due_at < $1",
            set: None,
            at: Some(p.window_start),
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

pub(crate) async fn count_at(db: &Db, sql: &str, at: DateTime<Utc>) -> Result<i64, sqlx::Error> {
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
