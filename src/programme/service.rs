//! Server-only queries of the programme.
use super::{Programme, TalkDetail, TalkSummary};
use crate::{db_run, error::AppError, server::config::Config, server::db::Db};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A talk's own fields as stored: what the programme, the calendars, the schedule exports and
/// the schedule import read (`#[sqlx(flatten)]` into their rows).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TalkFields {
    pub title: String,
    pub description: String,
    pub theme: String,
    pub speaker_name: Option<String>,
    /// When and where.
    #[sqlx(flatten)]
    pub place: super::changes::Placement,
}

#[derive(sqlx::FromRow)]
struct TalkRow {
    id: Uuid,
    #[sqlx(flatten)]
    talk: TalkFields,
}

impl TalkRow {
    fn summary(&self, tz: chrono_tz::Tz) -> TalkSummary {
        let t = &self.talk;
        let (start, end) = (
            t.place.start_at.with_timezone(&tz),
            t.place.end_at.with_timezone(&tz),
        );
        TalkSummary {
            id: self.id,
            title: t.title.clone(),
            theme: t.theme.clone(),
            speaker_name: t.speaker_name.clone(),
            location: t.place.location.clone(),
            day: start.date_naive(),
            start: start.time(),
            end: end.time(),
        }
    }
}

const TALK_COLUMNS: &str =
    "id, title, description, theme, start_at, end_at, speaker_name, location";

pub async fn programme(db: &Db, config: &Config) -> Result<Programme, AppError> {
    let sql = format!("SELECT {TALK_COLUMNS} FROM conferences ORDER BY start_at, location, title");
    let rows: Vec<TalkRow> = db_run!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(Programme {
        event_name: config.event_name.clone(),
        timezone: config.timezone.name().to_string(),
        talks: rows.iter().map(|r| r.summary(config.timezone)).collect(),
    })
}

pub async fn talk(db: &Db, config: &Config, id: Uuid) -> Result<Option<TalkDetail>, AppError> {
    let sql = format!("SELECT {TALK_COLUMNS} FROM conferences WHERE id = $1");
    let row: Option<TalkRow> =
        db_run!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
    Ok(row.map(|r| TalkDetail {
        talk: r.summary(config.timezone),
        description: r.talk.description,
        timezone: config.timezone.name().to_string(),
    }))
}

/// A talk to insert (demo data, and later the admin editor).
pub struct NewTalk<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub theme: &'a str,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub speaker_name: Option<&'a str>,
    pub location: Option<&'a str>,
}

pub async fn insert_talk(db: &Db, talk: &NewTalk<'_>) -> Result<Uuid, AppError> {
    if talk.title.trim().is_empty() {
        return Err(AppError::invalid("title", "programme.error.title_empty"));
    }
    if talk.end_at <= talk.start_at {
        return Err(AppError::invalid(
            "end_at",
            "programme.error.end_before_start",
        ));
    }
    let id = Uuid::new_v4();
    let now = crate::server::state::now();
    crate::db_write!(db, pool => sqlx::query(
        "INSERT INTO conferences (id, title, description, theme, start_at, end_at, speaker_name, location, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id)
    .bind(talk.title.trim())
    .bind(talk.description)
    .bind(talk.theme)
    .bind(talk.start_at)
    .bind(talk.end_at)
    .bind(talk.speaker_name)
    .bind(talk.location)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(id)
}

/// The API's (and the webhooks') name of a talk's field: the editor's `location` and
/// `speaker_name` are `room` and `speaker` there.
pub fn api_field(field: &str) -> &str {
    match field {
        "location" => "room",
        "speaker_name" => "speaker",
        other => other,
    }
}

/// Tells the webhooks a talk changed (`talk.changed`, in the transaction of the change): `change`
/// is created, updated or deleted, `fields` what an update changed, then the talk as it is now.
pub async fn announce(
    tx: &mut crate::server::db::Tx,
    id: Uuid,
    change: &str,
    fields: &[&str],
) -> Result<(), sqlx::Error> {
    let Some(to) = crate::webhooks::service::listeners(tx, "talk.changed").await? else {
        return Ok(());
    };
    type Now = (
        String,
        DateTime<Utc>,
        DateTime<Utc>,
        Option<String>,
        Option<Uuid>,
    );
    let talk: Option<Now> = crate::tx_run!(tx, c => sqlx::query_as(
        "SELECT title, start_at, end_at, location, guid FROM conferences WHERE id = $1").bind(id).fetch_optional(c).await)?;
    let fields: Vec<&str> = fields.iter().map(|f| api_field(f)).collect();
    let mut data = serde_json::json!({ "talk_id": id, "change": change, "fields": fields });
    if let (Some((title, start, end, room, guid)), Some(data)) = (talk, data.as_object_mut()) {
        let now = serde_json::json!({
            "title": title, "start_at": start, "end_at": end, "room": room, "guid": guid.unwrap_or(id),
        });
        data.insert("talk".into(), now);
    }
    to.emit(tx, None, data).await
}

/// Removes a talk (inside the caller's transaction): those who saved it are told (mailed), their
/// saves go with it. Returns how many had saved it.
pub async fn remove_talk(
    tx: &mut crate::server::db::Tx,
    config: &Config,
    id: Uuid,
) -> Result<usize, AppError> {
    announce(tx, id, "deleted", &[]).await?;
    let saved_by = super::changes::tell_cancelled(tx, config, id).await?;
    crate::tx_run!(tx, c => sqlx::query("DELETE FROM user_program_items WHERE conference_id = $1").bind(id).execute(c).await.map(|_| ()))?;
    crate::tx_run!(tx, c => sqlx::query("DELETE FROM conferences WHERE id = $1").bind(id).execute(c).await.map(|_| ()))?;
    Ok(saved_by)
}
