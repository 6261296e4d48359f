//! Live programme changes: when an admin moves a talk (time or room), the talk as it was is kept, so
//! that attendees who saved it see "moved from 10:00" on their programme, and those who asked for
//! it get one mail per batch of changes (a talk's changes are mailed once it has been left alone for
//! `PROGRAMME_MAIL_DELAY_MINUTES`, so an admin fixing a typo twice sends one mail, not three).
use super::TalkChange;
use crate::server::prelude::*;
use crate::{
    i18n::{date_long, tr, tr_with, Locale},
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
};
use chrono::Duration;
use std::collections::HashMap;

/// A talk's time and room at one moment.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Placement {
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub location: Option<String>,
}

/// A talk as it was when a change was recorded, and as it is now.
#[derive(sqlx::FromRow)]
struct Moved {
    talk_id: Uuid,
    old_start_at: DateTime<Utc>,
    old_end_at: DateTime<Utc>,
    old_location: Option<String>,
    #[sqlx(flatten)]
    is: Placement,
}

impl Moved {
    fn was(&self) -> Placement {
        Placement {
            start_at: self.old_start_at,
            end_at: self.old_end_at,
            location: self.old_location.clone(),
        }
    }
}

/// A change to mail: to whom, in which language, about which talk.
#[derive(sqlx::FromRow)]
struct MovedFor {
    user_id: Uuid,
    email: String,
    locale: String,
    title: String,
    #[sqlx(flatten)]
    moved: Moved,
}

/// Records that a talk is about to leave `before` (inside the admin's transaction).
pub async fn record(tx: &mut Tx, talk_id: Uuid, before: &Placement) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO talk_changes (id, conference_id, old_start_at, old_end_at, old_location, changed_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(Uuid::new_v4()).bind(talk_id).bind(before.start_at).bind(before.end_at).bind(before.location.clone()).bind(now())
        .execute(c).await.map(|_| ()))
}

/// What differs between the talk as it was and as it is, in the conference's local time; `None`
/// when nothing a reader would notice changed (e.g. moved and moved back).
pub fn difference(config: &Config, was: &Placement, is: &Placement) -> Option<TalkChange> {
    let local = |t: DateTime<Utc>| t.with_timezone(&config.timezone).naive_local();
    let from_time = (was.start_at != is.start_at || was.end_at != is.end_at).then(|| {
        let (s, e) = (local(was.start_at), local(was.end_at));
        (s.date(), s.time(), e.time())
    });
    let norm = |l: &Option<String>| l.clone().unwrap_or_default();
    let from_room = (norm(&was.location) != norm(&is.location)).then(|| norm(&was.location));
    (from_time.is_some() || from_room.is_some()).then_some(TalkChange {
        from_time,
        from_room,
    })
}

/// For each talk the user saved: how it changed since they saved it (the oldest placement recorded
/// after the save, compared with now). One query for all talks.
pub async fn since_saved(
    db: &Db,
    config: &Config,
    user_id: Uuid,
) -> Result<HashMap<Uuid, TalkChange>, AppError> {
    let rows: Vec<Moved> = db_run!(db, pool => sqlx::query_as(
        "SELECT ch.conference_id AS talk_id, ch.old_start_at, ch.old_end_at, ch.old_location, c.start_at, c.end_at, c.location \
         FROM talk_changes ch JOIN user_program_items i ON i.conference_id = ch.conference_id \
         JOIN conferences c ON c.id = ch.conference_id \
         WHERE i.user_id = $1 AND ch.changed_at >= i.created_at ORDER BY ch.changed_at")
        .bind(user_id).fetch_all(pool).await)?;
    let mut out = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for moved in rows {
        if !seen.insert(moved.talk_id) {
            continue;
        }
        if let Some(change) = difference(config, &moved.was(), &moved.is) {
            out.insert(moved.talk_id, change);
        }
    }
    Ok(out)
}

/// Turns the programme mail on or off for a user.
pub async fn set_mail(db: &Db, user_id: Uuid, on: bool) -> Result<(), AppError> {
    let since = on.then(now);
    crate::db_write!(db, pool => sqlx::query("UPDATE users SET programme_mail_since = $1, updated_at = $2 WHERE id = $3")
        .bind(since).bind(now()).bind(user_id).execute(pool).await.map(|_| ()))?;
    Ok(())
}

pub async fn mail_on(db: &Db, user_id: Uuid) -> Result<bool, AppError> {
    let row: Option<(Option<DateTime<Utc>>,)> = db_run!(db, pool => sqlx::query_as("SELECT programme_mail_since FROM users WHERE id = $1")
        .bind(user_id).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| r.0).is_some())
}

/// One line of a change mail: "Title — now Friday 11 June, 14:00–14:45, Salle B (was …)".
fn line(
    locale: Locale,
    title: &str,
    is: &Placement,
    change: &TalkChange,
    config: &Config,
) -> String {
    let local = |t: DateTime<Utc>| t.with_timezone(&config.timezone).naive_local();
    let (s, e) = (local(is.start_at), local(is.end_at));
    let room = |r: &str| {
        if r.is_empty() {
            tr(locale, "programme.changes.no_room")
        } else {
            r.to_string()
        }
    };
    let now_text = tr_with(
        locale,
        "programme.changes.mail_now",
        &[
            ("date", &date_long(locale, s.date())),
            ("start", &s.format("%H:%M").to_string()),
            ("end", &e.format("%H:%M").to_string()),
            ("room", &room(is.location.as_deref().unwrap_or(""))),
        ],
    );
    let mut was = vec![];
    if let Some((day, start, end)) = change.from_time {
        was.push(tr_with(
            locale,
            "programme.changes.mail_was_time",
            &[
                ("date", &date_long(locale, day)),
                ("start", &start.format("%H:%M").to_string()),
                ("end", &end.format("%H:%M").to_string()),
            ],
        ));
    }
    if let Some(r) = &change.from_room {
        was.push(tr_with(
            locale,
            "programme.changes.mail_was_room",
            &[("room", &room(r))],
        ));
    }
    format!("• {title} — {now_text} ({})", was.join(", "))
}

/// Mails the batch of changes that is ready: claims every unmailed change of the talks left alone
/// for the delay (one UPDATE, so two app instances never both claim a change), and writes one mail
/// per opted-in attendee listing their saved talks that really changed since they saved them.
/// Returns the number of mails written to the outbox.
pub async fn mail_batch(db: &Db, config: &Config) -> Result<usize, AppError> {
    let stamp = now();
    let quiet_since = stamp - Duration::minutes(config.programme_mail_delay_minutes);
    let batch = Uuid::new_v4();
    let mut tx = db.begin().await?;
    let claimed = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE talk_changes SET mailed_at = $1, mail_batch = $2 WHERE mailed_at IS NULL AND conference_id NOT IN \
         (SELECT conference_id FROM talk_changes WHERE mailed_at IS NULL AND changed_at > $3)")
        .bind(stamp).bind(batch).bind(quiet_since).execute(c).await.map(|r| r.rows_affected()))?;
    if claimed == 0 {
        tx.commit().await?;
        return Ok(0);
    }
    let rows: Vec<MovedFor> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT u.id AS user_id, u.email, u.locale, c.id AS talk_id, c.title, ch.old_start_at, ch.old_end_at, \
         ch.old_location, c.start_at, c.end_at, c.location \
         FROM talk_changes ch JOIN conferences c ON c.id = ch.conference_id \
         JOIN user_program_items i ON i.conference_id = ch.conference_id JOIN users u ON u.id = i.user_id \
         WHERE ch.mail_batch = $1 AND ch.changed_at >= i.created_at AND u.programme_mail_since IS NOT NULL \
         AND u.deleted_at IS NULL AND u.status = 'ACTIVE' \
         ORDER BY u.id, c.start_at, c.id, ch.changed_at")
        .bind(batch).fetch_all(c).await)?;
    // Per user, per talk: the oldest placement of this batch against the current one.
    let mut per_user: Vec<(Uuid, String, Locale, Vec<String>)> = vec![];
    let mut last_talk: Option<(Uuid, Uuid)> = None;
    for row in rows {
        let MovedFor {
            user_id: user,
            email,
            locale,
            title,
            moved,
        } = row;
        if last_talk == Some((user, moved.talk_id)) {
            continue;
        }
        last_talk = Some((user, moved.talk_id));
        let Some(change) = difference(config, &moved.was(), &moved.is) else {
            continue;
        };
        let locale = Locale::from_code(&locale).unwrap_or_default();
        let text = line(locale, &title, &moved.is, &change, config);
        match per_user.last_mut() {
            Some((u, _, _, lines)) if *u == user => lines.push(text),
            _ => per_user.push((user, email, locale, vec![text])),
        }
    }
    let link = format!("{}/me/programme", config.base_url);
    for (user, email, locale, lines) in &per_user {
        enqueue(
            &mut tx,
            &Mail::new(
                MailKind::ProgrammeChanged,
                Some(*user),
                email.clone(),
                *locale,
                Some(link.clone()),
            )
            .with(vec![("changes", lines.join("\n"))]),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(per_user.len())
}

/// Tells everyone who saved a talk that it is cancelled (inside the admin's transaction, before the
/// talk and its saves are deleted): one mail each, whatever their mail setting, since they planned
/// to be there. Returns the number of mails written.
pub async fn tell_cancelled(
    tx: &mut Tx,
    config: &Config,
    talk_id: Uuid,
) -> Result<usize, AppError> {
    type Row = (Uuid, String, String, String, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = tx_run!(tx, c => sqlx::query_as(
        "SELECT u.id, u.email, u.locale, c.title, c.start_at, c.end_at FROM user_program_items i \
         JOIN users u ON u.id = i.user_id JOIN conferences c ON c.id = i.conference_id \
         WHERE i.conference_id = $1 AND u.deleted_at IS NULL AND u.status = 'ACTIVE'")
        .bind(talk_id).fetch_all(c).await)?;
    let link = format!("{}/me/programme", config.base_url);
    for (user, email, locale, title, start, end) in &rows {
        let locale = Locale::from_code(locale).unwrap_or_default();
        let local = |t: DateTime<Utc>| t.with_timezone(&config.timezone).naive_local();
        let (s, e) = (local(*start), local(*end));
        let text = tr_with(
            locale,
            "programme.changes.mail_cancelled",
            &[
                ("title", title),
                ("date", &date_long(locale, s.date())),
                ("start", &s.format("%H:%M").to_string()),
                ("end", &e.format("%H:%M").to_string()),
            ],
        );
        enqueue(
            tx,
            &Mail::new(
                MailKind::ProgrammeChanged,
                Some(*user),
                email.clone(),
                locale,
                Some(link.clone()),
            )
            .with(vec![("changes", text)]),
        )
        .await?;
    }
    Ok(rows.len())
}
