//! Questions and answers on the server: the questions an admin keeps (here), and in `answers` each
//! answer checked and normalised once (by `check_answer`), what a buyer typed per seat kept with the
//! order until its tickets exist, then the tickets' answers, changed by their buyer or holder until
//! the deadline.
use super::{Question, QuestionKind, QuestionOption, QuestionsAdmin};
use crate::server::prelude::*;

mod answers;
pub use answers::*;

/// The longest one-line text: a question, a short answer.
const MAX_TEXT: usize = 200;
const MAX_OPTIONS: usize = 50;

#[derive(sqlx::FromRow)]
struct QuestionRow {
    id: Uuid,
    #[sqlx(try_from = "String")]
    kind: QuestionKind,
    label_fr: String,
    label_en: String,
    help_fr: String,
    help_en: String,
    options: String,
    required: bool,
    all_passes: bool,
    on_badge: bool,
    position: i64,
    archived_at: Option<DateTime<Utc>>,
}

/// Options as stored: one per line, "français | English".
pub(super) fn parse_options(text: &str) -> Vec<QuestionOption> {
    text.lines()
        .filter_map(|line| {
            let (fr, en) = line.split_once('|').unwrap_or((line, ""));
            let (fr, en) = (crate::text::clean_line(fr), crate::text::clean_line(en));
            (!fr.is_empty()).then_some(QuestionOption { fr, en })
        })
        .collect()
}

pub(super) async fn load(db: &Db, with_archived: bool) -> Result<Vec<Question>, AppError> {
    let rows: Vec<QuestionRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, kind, label_fr, label_en, help_fr, help_en, options, required, all_passes, on_badge, position, archived_at \
         FROM questions WHERE ($1 OR archived_at IS NULL) ORDER BY archived_at IS NOT NULL, position, created_at, id")
        .bind(with_archived).fetch_all(pool).await)?;
    let links: Vec<(Uuid, Uuid)> = db_run!(db, pool => sqlx::query_as(
        "SELECT question_id, ticket_type_id FROM question_passes").fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|r| Question {
            passes: links
                .iter()
                .filter(|(q, _)| *q == r.id)
                .map(|(_, p)| *p)
                .collect(),
            id: r.id,
            kind: r.kind,
            label_fr: r.label_fr,
            label_en: r.label_en,
            help_fr: r.help_fr,
            help_en: r.help_en,
            options: parse_options(&r.options),
            required: r.required,
            all_passes: r.all_passes,
            on_badge: r.on_badge,
            position: r.position,
            archived: r.archived_at.is_some(),
        })
        .collect())
}

/// The questions asked now (not archived), in their order.
pub async fn active(db: &Db) -> Result<Vec<Question>, AppError> {
    load(db, false).await
}

pub async fn admin_list(db: &Db) -> Result<QuestionsAdmin, AppError> {
    let passes: Vec<(Uuid, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, name FROM ticket_types ORDER BY name, id").fetch_all(pool).await)?;
    Ok(QuestionsAdmin {
        questions: load(db, true).await?,
        passes,
    })
}

/// A question as the admin's form posts it.
pub struct QuestionDraft {
    pub id: Option<Uuid>,
    pub kind: String,
    pub label_fr: String,
    pub label_en: String,
    pub help_fr: String,
    pub help_en: String,
    pub options: String,
    pub required: bool,
    pub passes: String,
    pub on_badge: bool,
    pub position: String,
}

fn bounded(field: &str, raw: &str, max: usize, required: bool) -> Result<String, AppError> {
    let text = crate::text::clean_line(raw);
    if text.chars().count() > max {
        return Err(AppError::invalid(field, "questions.error.too_long"));
    }
    if required && text.is_empty() {
        return Err(AppError::invalid(field, "questions.error.required"));
    }
    Ok(text)
}

/// Creates or changes a question (audited `CREATE_QUESTION` / `UPDATE_QUESTION`).
pub async fn save(db: &Db, actor: Uuid, d: &QuestionDraft) -> Result<Uuid, AppError> {
    let kind: QuestionKind = d
        .kind
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("kind", "questions.error.kind"))?;
    let label_fr = bounded("label_fr", &d.label_fr, MAX_TEXT, true)?;
    let label_en = bounded("label_en", &d.label_en, MAX_TEXT, false)?;
    let help_fr = bounded("help_fr", &d.help_fr, 500, false)?;
    let help_en = bounded("help_en", &d.help_en, 500, false)?;
    let options = if kind.has_options() {
        if d.options.len() > 20_000 {
            return Err(AppError::invalid("options", "questions.error.options"));
        }
        let options = parse_options(&d.options);
        let mut seen: Vec<&str> = options.iter().map(|o| o.fr.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        if options.len() < 2 || options.len() > MAX_OPTIONS || seen.len() != options.len() {
            return Err(AppError::invalid("options", "questions.error.options"));
        }
        super::options_text(&options)
    } else {
        String::new()
    };
    let position = match d.position.trim() {
        "" => 0,
        p => p
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=10_000).contains(p))
            .ok_or_else(|| AppError::invalid("position", "questions.error.position"))?,
    };
    let raw_passes = d.passes.trim();
    let all_passes = raw_passes.is_empty() || raw_passes.eq_ignore_ascii_case("all");
    let mut passes = Vec::new();
    if !all_passes {
        for p in raw_passes.split([',', ' ', '\n']).filter(|p| !p.is_empty()) {
            let id = Uuid::parse_str(p.trim())
                .map_err(|_| AppError::invalid("passes", "questions.error.passes"))?;
            passes.push(id);
        }
        passes.sort();
        passes.dedup();
        if passes.len() > 500 {
            return Err(AppError::invalid("passes", "questions.error.passes"));
        }
    }
    let now = now();
    let mut tx = db.begin().await?;
    if !crate::passes::service::all_exist(&mut tx, &passes).await? {
        return Err(AppError::invalid("passes", "questions.error.passes"));
    }
    let (id, action) = match d.id {
        Some(id) => {
            let n = tx_run!(&mut tx, c => sqlx::query(
                "UPDATE questions SET kind = $1, label_fr = $2, label_en = $3, help_fr = $4, help_en = $5, options = $6, required = $7, \
                 all_passes = $8, on_badge = $9, position = $10 WHERE id = $11")
                .bind(kind.as_str()).bind(&label_fr).bind(&label_en).bind(&help_fr).bind(&help_en).bind(&options).bind(d.required)
                .bind(all_passes).bind(d.on_badge).bind(position).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
            if n != 1 {
                return Err(AppError::NotFound);
            }
            (id, "UPDATE_QUESTION")
        }
        None => {
            let id = Uuid::new_v4();
            tx_run!(&mut tx, c => sqlx::query(
                "INSERT INTO questions (id, kind, label_fr, label_en, help_fr, help_en, options, required, all_passes, on_badge, position, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                .bind(id).bind(kind.as_str()).bind(&label_fr).bind(&label_en).bind(&help_fr).bind(&help_en).bind(&options).bind(d.required)
                .bind(all_passes).bind(d.on_badge).bind(position).bind(now).execute(c).await.map(|_| ()))?;
            (id, "CREATE_QUESTION")
        }
    };
    tx_run!(&mut tx, c => sqlx::query("DELETE FROM question_passes WHERE question_id = $1").bind(id).execute(c).await.map(|_| ()))?;
    for p in &passes {
        tx_run!(&mut tx, c => sqlx::query("INSERT INTO question_passes (question_id, ticket_type_id) VALUES ($1, $2)")
            .bind(id).bind(p).execute(c).await.map(|_| ()))?;
    }
    Audit::new(actor, action, "question", id)
        .meta(serde_json::json!({ "label": label_fr, "kind": kind.as_str(), "required": d.required, "passes": passes.len() }))
        .commit(tx)
        .await?;
    Ok(id)
}

/// Archives a question or brings it back (audited `ARCHIVE_QUESTION` / `RESTORE_QUESTION`).
pub async fn archive(db: &Db, actor: Uuid, id: Uuid, archived: bool) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let at = archived.then(now);
    let n = tx_run!(&mut tx, c => sqlx::query("UPDATE questions SET archived_at = $1 WHERE id = $2")
        .bind(at).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    let action = if archived {
        "ARCHIVE_QUESTION"
    } else {
        "RESTORE_QUESTION"
    };
    Audit::new(actor, action, "question", id).commit(tx).await
}

#[cfg(test)]
mod tests;
