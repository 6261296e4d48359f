//! The personal programme: who may save which talk (a valid pass covering the talk), saving and
//! removing, conflicts, and the calendar feed.
use super::calendar::{calendar, CalendarTalk, CALENDAR_COLUMNS};
use super::{PersonalState, SavedTalk, TalkSummary};
use crate::server::prelude::*;
use chrono::{DateTime, NaiveDateTime, Offset, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A pass's access window in UTC; `None` is an open side (no start, no end), never a sentinel
/// instant (`MAX_UTC` cannot even be shown in the conference's time zone).
pub type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The access windows of a user's passes: tickets that are VALID or USED (a scanned ticket still
/// gives access), in UTC.
pub async fn windows(db: &Db, user_id: Uuid) -> Result<Vec<Window>, AppError> {
    let rows: Vec<Window> = db_run!(db, pool => sqlx::query_as(
        "SELECT tt.valid_from, tt.valid_until FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE (t.user_id = $1 OR t.holder_user_id = $1) AND t.status IN ('VALID', 'USED')")
        .bind(user_id).fetch_all(pool).await)?;
    Ok(rows)
}

/// A talk is open to a pass when it lies wholly inside the pass's window.
pub fn covers(windows: &[Window], start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    super::within_a_window(windows, start, end)
}

/// Saves a talk to the user's programme if one of their passes covers it; saving twice is harmless.
pub async fn add(db: &Db, user_id: Uuid, talk_id: Uuid) -> Result<(), AppError> {
    let talk: Option<(DateTime<Utc>, DateTime<Utc>)> = db_run!(db, pool => sqlx::query_as("SELECT start_at, end_at FROM conferences WHERE id = $1").bind(talk_id).fetch_optional(pool).await)?;
    let (start, end) = talk.ok_or(AppError::NotFound)?;
    if !covers(&windows(db, user_id).await?, start, end) {
        return Err(AppError::invalid("talk", "personal.error.not_covered"));
    }
    crate::db_write!(db, pool => sqlx::query("INSERT INTO user_program_items (user_id, conference_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id, conference_id) DO NOTHING")
        .bind(user_id).bind(talk_id).bind(now()).execute(pool).await.map(|_| ()))?;
    Ok(())
}

pub async fn remove(db: &Db, user_id: Uuid, talk_id: Uuid) -> Result<(), AppError> {
    crate::db_write!(db, pool => sqlx::query("DELETE FROM user_program_items WHERE user_id = $1 AND conference_id = $2")
        .bind(user_id).bind(talk_id).execute(pool).await.map(|_| ()))?;
    Ok(())
}

/// What the programme page needs to mark talks: saved ones, and the access windows in local time.
pub async fn state(db: &Db, config: &Config, user_id: Uuid) -> Result<PersonalState, AppError> {
    let saved: Vec<(Uuid,)> = db_run!(db, pool => sqlx::query_as("SELECT conference_id FROM user_program_items WHERE user_id = $1")
        .bind(user_id).fetch_all(pool).await)?;
    // Checked: an instant the local calendar cannot show leaves that side of the window open.
    let local = |t: Option<DateTime<Utc>>| -> Option<NaiveDateTime> {
        let t = t?;
        t.naive_utc()
            .checked_add_offset(t.with_timezone(&config.timezone).offset().fix())
    };
    Ok(PersonalState {
        logged_in: true,
        saved: saved.into_iter().map(|r| r.0).collect(),
        windows: windows(db, user_id)
            .await?
            .into_iter()
            .map(|(f, u)| (local(f), local(u)))
            .collect(),
    })
}

/// My saved talks in time order, each with whether a pass still covers it.
pub async fn saved_talks(
    db: &Db,
    config: &Config,
    user_id: Uuid,
) -> Result<Vec<SavedTalk>, AppError> {
    let programme = super::service::programme(db, config).await?;
    let st = state(db, config, user_id).await?;
    let mut changes = super::changes::since_saved(db, config, user_id).await?;
    Ok(programme
        .talks
        .into_iter()
        .filter(|t| st.saved.contains(&t.id))
        .map(|t: TalkSummary| SavedTalk {
            covered: st.covers(&t),
            change: changes.remove(&t.id),
            talk: t,
        })
        .collect())
}

/// Saves per talk, in one GROUP BY (no query per talk).
pub async fn interest_counts(db: &Db) -> Result<Vec<(Uuid, i64)>, AppError> {
    Ok(
        db_run!(db, pool => sqlx::query_as("SELECT conference_id, COUNT(*) FROM user_program_items GROUP BY conference_id").fetch_all(pool).await)?,
    )
}

/// The private feed's secret for a user at a version.
pub fn feed_token(config: &Config, user_id: Uuid, version: i64) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&config.secret_key).expect("any key length");
    mac.update(b"calendar-feed\0");
    mac.update(user_id.as_bytes());
    mac.update(&version.to_be_bytes());
    hex::encode(&mac.finalize().into_bytes()[..20])
}

/// The user's feed URL (created on first use).
pub async fn feed_url(db: &Db, config: &Config, user_id: Uuid) -> Result<String, AppError> {
    crate::db_write!(db, pool => sqlx::query("INSERT INTO calendar_feeds (user_id, version, created_at) VALUES ($1, 1, $2) ON CONFLICT (user_id) DO NOTHING")
        .bind(user_id).bind(now()).execute(pool).await.map(|_| ()))?;
    let (version,): (i64,) = db_run!(db, pool => sqlx::query_as("SELECT version FROM calendar_feeds WHERE user_id = $1").bind(user_id).fetch_one(pool).await)?;
    Ok(format!(
        "{}/calendar/{user_id}/{}.ics",
        config.base_url,
        feed_token(config, user_id, version)
    ))
}

/// Revokes the old feed URL and returns the new one.
pub async fn renew_feed(db: &Db, config: &Config, user_id: Uuid) -> Result<String, AppError> {
    feed_url(db, config, user_id).await?;
    crate::db_write!(db, pool => sqlx::query("UPDATE calendar_feeds SET version = version + 1 WHERE user_id = $1").bind(user_id).execute(pool).await.map(|_| ()))?;
    feed_url(db, config, user_id).await
}

/// The user of a feed URL, if its token is the current one.
pub async fn feed_user(
    db: &Db,
    config: &Config,
    user_id: Uuid,
    token: &str,
) -> Result<Option<Uuid>, AppError> {
    let row: Option<(i64,)> = db_run!(db, pool => sqlx::query_as("SELECT version FROM calendar_feeds WHERE user_id = $1").bind(user_id).fetch_optional(pool).await)?;
    Ok(row
        .filter(|(v,)| {
            let expected = feed_token(config, user_id, *v);
            expected.len() == token.len()
                && expected
                    .bytes()
                    .zip(token.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
        .map(|_| user_id))
}

/// The iCalendar file of a user's saved talks.
pub async fn ics(db: &Db, config: &Config, user_id: Uuid) -> Result<String, AppError> {
    let rows: Vec<CalendarTalk> = db_run!(db, pool => sqlx::query_as(&format!(
        "SELECT {CALENDAR_COLUMNS} FROM user_program_items i JOIN conferences c ON c.id = i.conference_id \
         WHERE i.user_id = $1 ORDER BY c.start_at"))
        .bind(user_id).fetch_all(pool).await)?;
    Ok(calendar(config, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 6, 10, h, m, 0).unwrap()
    }

    #[test]
    fn open_windows_have_no_sentinel_instants() {
        assert!(
            covers(&[(None, None)], t(8, 0), t(9, 0)),
            "a pass without dates"
        );
        assert!(
            covers(&[(Some(t(8, 0)), None)], t(8, 0), t(23, 0)),
            "no end"
        );
        assert!(
            !covers(&[(Some(t(8, 0)), None)], t(7, 0), t(9, 0)),
            "before its start"
        );
        assert!(
            covers(&[(None, Some(t(9, 0)))], t(8, 0), t(9, 0)),
            "no start"
        );
        assert!(
            !covers(&[(None, Some(t(9, 0)))], t(8, 30), t(9, 30)),
            "past its end"
        );
    }

    #[test]
    fn a_pass_covers_talks_wholly_inside_its_window() {
        let day1 = [(Some(t(0, 0)), Some(t(21, 59)))];
        assert!(covers(&day1, t(8, 0), t(9, 0)));
        assert!(
            covers(&day1, t(21, 0), t(21, 59)),
            "ending exactly at the end"
        );
        assert!(
            !covers(&day1, t(21, 59), t(22, 30)),
            "starting exactly at validUntil"
        );
        assert!(
            !covers(&day1, t(21, 30), t(22, 30)),
            "overlapping the boundary"
        );
        assert!(!covers(&[], t(8, 0), t(9, 0)), "no pass");
        let two = [
            (Some(t(0, 0)), Some(t(10, 0))),
            (Some(t(10, 0)), Some(t(23, 0))),
        ];
        assert!(covers(&two, t(12, 0), t(13, 0)), "several passes");
    }
}

/// `GET /me/programme.ics` (logged-in download) and `GET /calendar/{user}/{token}.ics` (subscription).
pub mod http;
