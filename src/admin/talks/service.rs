use super::TalkRow;
use crate::server::prelude::*;
use chrono::Duration;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    title: String,
    theme: String,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
    location: Option<String>,
    speaker_name: Option<String>,
    description: String,
    version: i64,
    saved_by: i64,
}

const SELECT: &str = "SELECT c.id, c.title, c.theme, c.start_at, c.end_at, c.location, c.speaker_name, c.description, c.version, \
     CAST((SELECT COUNT(*) FROM user_program_items i WHERE i.conference_id = c.id) AS BIGINT) AS saved_by FROM conferences c";

fn local(config: &Config, t: DateTime<Utc>) -> String {
    config.local_input(t)
}

fn view(config: &Config, r: Row) -> TalkRow {
    TalkRow {
        id: r.id,
        title: r.title,
        theme: r.theme,
        start_at: local(config, r.start_at),
        end_at: local(config, r.end_at),
        location: r.location.unwrap_or_default(),
        speaker_name: r.speaker_name.unwrap_or_default(),
        description: r.description,
        version: r.version,
        saved_by: r.saved_by,
    }
}

async fn one(
    tx: &mut crate::server::db::Tx,
    config: &Config,
    id: Uuid,
) -> Result<Option<TalkRow>, sqlx::Error> {
    let row: Option<Row> = tx_run!(tx, c => sqlx::query_as(&format!("{SELECT} WHERE c.id = $1")).bind(id).fetch_optional(c).await)?;
    Ok(row.map(|r| view(config, r)))
}

pub async fn talks(db: &Db, config: &Config) -> Result<Vec<TalkRow>, AppError> {
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(&format!("{SELECT} ORDER BY c.start_at, c.location, c.title")).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| view(config, r)).collect())
}

pub async fn create(db: &Db, config: &Config, actor: Uuid) -> Result<TalkRow, AppError> {
    let mut tx = db.begin().await?;
    let last: Option<(DateTime<Utc>,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT end_at FROM conferences ORDER BY end_at DESC LIMIT 1").fetch_optional(c).await)?;
    let start = last.map(|r| r.0).unwrap_or_else(now);
    let id = Uuid::new_v4();
    let stamp = now();
    let title = crate::i18n::tr(Default::default(), "admin.talks.new_title");
    let theme = crate::i18n::tr(Default::default(), "admin.talks.new_theme");
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO conferences (id, title, description, theme, start_at, end_at, created_at, updated_at) VALUES ($1, $2, '', $3, $4, $5, $6, $6)")
        .bind(id).bind(&title).bind(&theme).bind(start).bind(start + Duration::minutes(45)).bind(stamp)
        .execute(c).await.map(|_| ()))?;
    crate::programme::service::announce(&mut tx, id, "created", &[]).await?;
    Audit::new(actor, "CREATE_TALK", "talk", id)
        .meta(serde_json::json!({ "title": title }))
        .write(&mut tx)
        .await?;
    let row = one(&mut tx, config, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

pub async fn duplicate(
    db: &Db,
    config: &Config,
    actor: Uuid,
    id: Uuid,
) -> Result<TalkRow, AppError> {
    let mut tx = db.begin().await?;
    let title: Option<(String,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT title FROM conferences WHERE id = $1").bind(id).fetch_optional(c).await)?;
    let (title,) = title.ok_or(AppError::NotFound)?;
    let copy_title: String = crate::i18n::tr_with(
        Default::default(),
        "admin.talks.copy_title",
        &[("title", &title)],
    )
    .chars()
    .take(200)
    .collect();
    let new_id = Uuid::new_v4();
    let stamp = now();
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO conferences (id, title, description, theme, start_at, end_at, speaker_name, location, created_at, updated_at) \
         SELECT $1, $2, description, theme, start_at, end_at, speaker_name, location, $3, $3 FROM conferences WHERE id = $4")
        .bind(new_id).bind(&copy_title).bind(stamp).bind(id)
        .execute(c).await.map(|_| ()))?;
    crate::programme::service::announce(&mut tx, new_id, "created", &[]).await?;
    Audit::new(actor, "CREATE_TALK", "talk", new_id)
        .meta(serde_json::json!({ "title": copy_title, "copy_of": id.to_string() }))
        .write(&mut tx)
        .await?;
    let row = one(&mut tx, config, new_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

pub async fn delete(
    db: &Db,
    config: &Config,
    actor: Uuid,
    id: Uuid,
    version: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let row: Option<(String, i64)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT title, version FROM conferences WHERE id = $1").bind(id).fetch_optional(c).await)?;
    let (title, _) = row.ok_or(AppError::NotFound)?;
    // Taken at the version read (a row lock on PostgreSQL until the end): an edit meanwhile wins.
    let taken = tx_run!(&mut tx, c => sqlx::query("UPDATE conferences SET version = version + 1 WHERE id = $1 AND version = $2")
        .bind(id).bind(version).execute(c).await.map(|r| r.rows_affected()))?;
    if taken != 1 {
        return Err(AppError::invalid("title", "admin.error.changed_meanwhile"));
    }
    let saved_by = crate::programme::service::remove_talk(&mut tx, config, id).await? as i64;
    Audit::new(actor, "DELETE_TALK", "talk", id)
        .meta(serde_json::json!({ "title": title, "saved_by": saved_by }))
        .commit(tx)
        .await
}

/// A time as the editor types it (conference time, to the minute) or as the API sends it (an
/// RFC 3339 instant, kept exact).
fn parse_time(config: &Config, field: &str, raw: &str) -> Result<DateTime<Utc>, AppError> {
    let exact = DateTime::parse_from_rfc3339(raw.trim()).ok();
    let exact = exact.filter(|t| (2000..=9999).contains(&chrono::Datelike::year(t)));
    exact
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| config.parse_local_input(raw))
        .ok_or_else(|| AppError::invalid(field, "admin.error.datetime_invalid"))
}

fn text(field: &str, raw: &str, max: usize, required: bool) -> Result<Option<String>, AppError> {
    let v = raw.trim();
    if v.chars().count() > max {
        return Err(AppError::invalid(field, "admin.error.too_long"));
    }
    if v.is_empty() {
        return if required {
            Err(AppError::invalid(field, "admin.error.required"))
        } else {
            Ok(None)
        };
    }
    Ok(Some(v.to_string()))
}

/// Saves one field of a talk. Refused when the talk changed since `version`, or on a bad value.
pub async fn update(state: &AppState, edit: CellEdit<'_>) -> Result<TalkRow, AppError> {
    let (db, config) = (&state.db, state.config.as_ref());
    let mut tx = db.begin().await?;
    update_in(&mut tx, config, edit).await?;
    let row = one(&mut tx, config, edit.id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

/// Saves one field of a talk in the caller's transaction (the API saves several in one): audited,
/// a move recorded for the attendees' notices, the webhooks told.
pub async fn update_in(tx: &mut Tx, config: &Config, edit: CellEdit<'_>) -> Result<(), AppError> {
    let before = one(tx, config, edit.id).await?.ok_or(AppError::NotFound)?;
    if before.version != edit.version {
        return Err(AppError::invalid(
            edit.field,
            "admin.error.changed_meanwhile",
        ));
    }
    let now = now();
    // A move (time or room) is kept with the talk as it was, for the attendees who saved it.
    if matches!(edit.field, "start_at" | "end_at" | "location") {
        let placement: crate::programme::changes::Placement = tx_run!(tx, c => sqlx::query_as(
            "SELECT start_at, end_at, location FROM conferences WHERE id = $1").bind(edit.id).fetch_one(c).await)?;
        crate::programme::changes::record(tx, edit.id, &placement).await?;
    }
    let sql = |column: &str| {
        format!("UPDATE conferences SET {column} = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4")
    };
    let (old, new, changed) = match edit.field {
        "start_at" | "end_at" => {
            let t = parse_time(config, edit.field, edit.value)?;
            let (start, end) = if edit.field == "start_at" {
                (t, parse_time(config, edit.field, &before.end_at)?)
            } else {
                (parse_time(config, edit.field, &before.start_at)?, t)
            };
            if end <= start {
                return Err(AppError::invalid(
                    edit.field,
                    "admin.error.end_before_start",
                ));
            }
            let old = if edit.field == "start_at" {
                before.start_at.clone()
            } else {
                before.end_at.clone()
            };
            let n = tx_run!(tx, c => sqlx::query(&sql(edit.field)).bind(t).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?;
            (old, local(config, t), n)
        }
        "title" | "theme" | "description" | "location" | "speaker_name" => {
            let (max, required) = match edit.field {
                "title" => (200, true),
                "theme" => (60, true),
                "description" => (5000, false),
                _ => (120, false),
            };
            let v = text(edit.field, edit.value, max, required)?;
            let old = match edit.field {
                "title" => before.title.clone(),
                "theme" => before.theme.clone(),
                "description" => before.description.clone(),
                "location" => before.location.clone(),
                _ => before.speaker_name.clone(),
            };
            let n = if edit.field == "description" {
                let v = v.clone().unwrap_or_default();
                tx_run!(tx, c => sqlx::query(&sql(edit.field)).bind(v).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?
            } else {
                tx_run!(tx, c => sqlx::query(&sql(edit.field)).bind(v.clone()).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?
            };
            (old, v.unwrap_or_default(), n)
        }
        _ => return Err(AppError::invalid("field", "admin.error.field_unknown")),
    };
    if changed != 1 {
        return Err(AppError::invalid(
            edit.field,
            "admin.error.changed_meanwhile",
        ));
    }
    crate::programme::service::announce(tx, edit.id, "updated", &[edit.field]).await?;
    let mut meta = serde_json::json!({ "field": edit.field, "before": old, "after": new });
    if let (Some((id, prefix)), Some(meta)) = (edit.via, meta.as_object_mut()) {
        meta.insert("api_token".into(), prefix.into());
        meta.insert("api_token_id".into(), id.to_string().into());
    }
    Audit::new(edit.by, "UPDATE_TALK", "talk", edit.id)
        .meta(meta)
        .write(tx)
        .await?;
    Ok(())
}
