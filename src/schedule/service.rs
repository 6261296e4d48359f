//! Importing a schedule: each talk of the file is created or updated by its GUID, in one
//! transaction with the others (a file is imported whole or not at all). A moved talk is recorded
//! as an inline edit records it (its attendees get the change notice); talks imported before and
//! gone from the file are reported, and removed only when the admin confirms. A dry run does all
//! of it and rolls back, so the report is exactly what the import would do.
use super::import::SourceTalk;
use super::{ImportReport, ImportRun, Outcome, ScheduleAdmin};
use crate::programme::changes::record;
use crate::programme::service::TalkFields;
use crate::server::prelude::*;
use std::collections::HashSet;

/// The periodic import's row in `job_leases` (its turn; the lock every import takes).
const JOB: &str = "schedule_import";

/// A talk as stored, with the fields an import may change.
#[derive(sqlx::FromRow)]
struct Stored {
    id: Uuid,
    guid: Uuid,
    language: Option<String>,
    /// Where it was imported from (none: written here).
    source: Option<String>,
    #[sqlx(flatten)]
    talk: TalkFields,
}

impl Stored {
    /// The fields `t` would change (a language not given is the conference's, `default`).
    fn changes(&self, t: &SourceTalk, default: &str) -> Vec<String> {
        let (a, b) = (&self.talk, &t.talk);
        let language = |l: &Option<String>| l.clone().unwrap_or_else(|| default.to_string());
        [
            ("title", a.title == b.title),
            ("description", a.description == b.description),
            ("theme", a.theme == b.theme),
            ("start_at", a.place.start_at == b.place.start_at),
            ("end_at", a.place.end_at == b.place.end_at),
            ("speaker_name", a.speaker_name == b.speaker_name),
            ("location", a.place.location == b.place.location),
            (
                "language",
                language(&self.language) == language(&t.language),
            ),
        ]
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(name, _)| name.to_string())
        .collect()
    }
}

/// What an import is asked to do.
pub struct Import<'a> {
    /// The URL or the file's name, kept with the talks and the import's record.
    pub source: &'a str,
    /// The admin importing (none: the periodic import).
    pub by: Option<Uuid>,
    /// Write it (false: a dry run, rolled back).
    pub apply: bool,
    /// Remove the talks imported before and gone from the file.
    pub remove_gone: bool,
}

/// Imports `talks` (read by `import::parse`). Audited `IMPORT_SCHEDULE` when an admin imports.
pub async fn import(
    state: &AppState,
    what: &Import<'_>,
    talks: &[SourceTalk],
) -> Result<ImportReport, AppError> {
    let (db, config) = (&state.db, state.config.as_ref());
    let source: String = what.source.chars().take(500).collect();
    let mut tx = db.begin().await?;
    // One import at a time (a row lock on PostgreSQL; SQLite writes one at a time anyway).
    tx_run!(&mut tx, c => sqlx::query("UPDATE job_leases SET name = name WHERE name = $1").bind(JOB)
        .execute(c).await.map(|_| ()))?;
    let stored: Vec<Stored> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT id, COALESCE(guid, id) AS guid, language, source, title, description, theme, \
         start_at, end_at, speaker_name, location FROM conferences").fetch_all(c).await)?;
    let now = now();
    let mut report = ImportReport {
        applied: what.apply,
        talks: Vec::with_capacity(talks.len()),
    };
    for t in talks {
        let f = &t.talk;
        match stored.iter().find(|s| s.guid == t.guid) {
            None => {
                // A talk new here keeps its GUID as its id when that is free: its page's
                // address is then the same as in the instance it came from.
                let free = !stored.iter().any(|s| s.id == t.guid);
                let id = if free { t.guid } else { Uuid::new_v4() };
                tx_run!(&mut tx, c => sqlx::query(
                    "INSERT INTO conferences (id, guid, title, description, theme, start_at, end_at, speaker_name, location, \
                     language, source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)")
                    .bind(id).bind(t.guid).bind(&f.title).bind(&f.description).bind(&f.theme).bind(f.place.start_at)
                    .bind(f.place.end_at).bind(&f.speaker_name).bind(&f.place.location).bind(&t.language).bind(&source).bind(now)
                    .execute(c).await.map(|_| ()))?;
                crate::programme::service::announce(&mut tx, id, "created", &[]).await?;
                report.talks.push((f.title.clone(), Outcome::Created));
            }
            Some(s) => {
                let fields = s.changes(t, crate::i18n::Locale::default().code());
                if fields.is_empty() {
                    report.talks.push((f.title.clone(), Outcome::Unchanged));
                    continue;
                }
                let was = &s.talk;
                if was.place != f.place {
                    record(&mut tx, s.id, &was.place).await?;
                }
                tx_run!(&mut tx, c => sqlx::query(
                    "UPDATE conferences SET guid = $2, title = $3, description = $4, theme = $5, start_at = $6, end_at = $7, \
                     speaker_name = $8, location = $9, language = $10, source = COALESCE(source, $11), version = version + 1, updated_at = $12 \
                     WHERE id = $1")
                    .bind(s.id).bind(t.guid).bind(&f.title).bind(&f.description).bind(&f.theme).bind(f.place.start_at)
                    .bind(f.place.end_at).bind(&f.speaker_name).bind(&f.place.location).bind(&t.language).bind(&source).bind(now)
                    .execute(c).await.map(|_| ()))?;
                let names: Vec<&str> = fields.iter().map(String::as_str).collect();
                crate::programme::service::announce(&mut tx, s.id, "updated", &names).await?;
                report
                    .talks
                    .push((f.title.clone(), Outcome::Updated(fields)));
            }
        }
    }
    let listed: HashSet<Uuid> = talks.iter().map(|t| t.guid).collect();
    // Gone: created by an import from this source (this URL; for a file, any file) and not in it.
    let same_source = |s: &&Stored| {
        s.source.as_deref().is_some_and(|from| {
            from == source || (from.starts_with("file:") && source.starts_with("file:"))
        })
    };
    for s in stored
        .iter()
        .filter(same_source)
        .filter(|s| !listed.contains(&s.guid))
    {
        let outcome = if what.remove_gone {
            crate::programme::service::remove_talk(&mut tx, config, s.id).await?;
            Outcome::Removed
        } else {
            Outcome::Gone(s.id)
        };
        report.talks.push((s.talk.title.clone(), outcome));
    }
    if !what.apply {
        return Ok(report);
    }
    log_run(&mut tx, &source, what.by, &report, None).await?;
    if let Some(admin) = what.by {
        let [created, updated, unchanged, removed, gone] = counts(&report).map(|n| n as i64);
        let meta = serde_json::json!({
            "source": source, "created": created, "updated": updated,
            "unchanged": unchanged, "removed": removed, "gone": gone,
        });
        Audit::new(admin, "IMPORT_SCHEDULE", "schedule", &source)
            .meta(meta)
            .write(&mut tx)
            .await?;
    }
    tx.commit().await?;
    // Removed talks' cancellation mails are in the outbox: sent now rather than at the next poll.
    if report.count(&Outcome::Removed) > 0 {
        state.mailer.wake();
    }
    Ok(report)
}

/// Created, updated, unchanged, removed, gone.
fn counts(r: &ImportReport) -> [usize; 5] {
    let updated = Outcome::Updated(vec![]);
    let gone = Outcome::Gone(Uuid::nil());
    [
        Outcome::Created,
        updated,
        Outcome::Unchanged,
        Outcome::Removed,
        gone,
    ]
    .map(|k| r.count(&k))
}

/// Keeps the record of an import (or of its failure).
async fn log_run(
    tx: &mut Tx,
    source: &str,
    by: Option<Uuid>,
    r: &ImportReport,
    error: Option<&str>,
) -> Result<(), AppError> {
    let [created, updated, unchanged, removed, gone] = counts(r).map(|n| n as i64);
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO schedule_imports (id, source, imported_by, created, updated, unchanged, removed, gone, error, imported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(Uuid::new_v4()).bind(source).bind(by).bind(created).bind(updated)
        .bind(unchanged).bind(removed).bind(gone).bind(error).bind(now())
        .execute(c).await.map(|_| ()))?;
    Ok(())
}

/// Records an import that failed (unreachable source, bad file), so the back office shows why.
pub async fn log_failure(
    db: &Db,
    source: &str,
    by: Option<Uuid>,
    error: &str,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let error: String = error.chars().take(300).collect();
    log_run(&mut tx, source, by, &ImportReport::default(), Some(&error)).await?;
    tx.commit().await?;
    Ok(())
}

/// `/admin/schedule`: the last imports, and the periodic import's settings.
pub async fn admin_view(db: &Db, config: &Config) -> Result<ScheduleAdmin, AppError> {
    type Row = (
        String,
        Option<String>,
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<String>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT i.source, u.email, i.created, i.updated, i.unchanged, i.removed, i.gone, i.error, i.imported_at \
         FROM schedule_imports i LEFT JOIN users u ON u.id = i.imported_by ORDER BY i.imported_at DESC, i.id LIMIT 20")
        .fetch_all(pool).await)?;
    let runs = rows
        .into_iter()
        .map(
            |(source, by, created, updated, unchanged, removed, gone, error, at)| ImportRun {
                source,
                by,
                at: config.short_local(at),
                counts: [created, updated, unchanged, removed, gone],
                error,
            },
        )
        .collect();
    Ok(ScheduleAdmin {
        runs,
        url: config.schedule_import_url.clone(),
        minutes: config.schedule_import_minutes,
    })
}

/// Fetches and reads the schedule at `url` (the periodic import, and an admin's "import from URL").
pub async fn fetch(config: &Config, url: &str) -> Result<Vec<SourceTalk>, AppError> {
    let body = crate::server::outbound::get(config, url, super::import::MAX_BYTES).await?;
    let text = String::from_utf8(body)
        .map_err(|_| AppError::invalid("url", "schedule.import.error.encoding"))?;
    super::import::parse(&text, config.timezone)
}

/// The job: when `SCHEDULE_IMPORT_URL` is set and its turn has come (every
/// `SCHEDULE_IMPORT_MINUTES`, one instance of several), imports it; talks gone from it are
/// reported, never removed. Returns the talks created or updated.
pub async fn run_periodic(state: &AppState) -> Result<usize, AppError> {
    let Some(url) = state.config.schedule_import_url.clone() else {
        return Ok(0);
    };
    let now = now();
    let next = now + chrono::Duration::minutes(state.config.schedule_import_minutes);
    let turn = db_write!(&state.db, pool => sqlx::query(
        "UPDATE job_leases SET lease_until = $1, last_run_at = $2 WHERE name = $3 AND (lease_until IS NULL OR lease_until <= $2)")
        .bind(next).bind(now).bind(JOB).execute(pool).await.map(|r| r.rows_affected()))?;
    if turn != 1 {
        return Ok(0);
    }
    let what = Import {
        source: &url,
        by: None,
        apply: true,
        remove_gone: false,
    };
    let result = match fetch(&state.config, &url).await {
        Ok(talks) => import(state, &what, &talks).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => Ok(counts(&report)[..2].iter().sum()),
        Err(e) => {
            let why = e.message(crate::i18n::Locale::default());
            log_failure(&state.db, &url, None, &why).await?;
            Err(e)
        }
    }
}
