//! Server-only queries of the programme.
use super::{Programme, TalkDetail, TalkSummary};
use crate::{db_run, error::AppError, server::config::Config, server::db::Db};
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct TalkRow {
    id: Uuid,
    title: String,
    description: String,
    theme: String,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
    speaker_name: Option<String>,
    location: Option<String>,
}

impl TalkRow {
    fn summary(&self, tz: chrono_tz::Tz) -> TalkSummary {
        let start = self.start_at.with_timezone(&tz);
        let end = self.end_at.with_timezone(&tz);
        TalkSummary {
            id: self.id,
            title: self.title.clone(),
            theme: self.theme.clone(),
            speaker_name: self.speaker_name.clone(),
            location: self.location.clone(),
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
        description: r.description,
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
