//! Answers: each one checked and normalised once, the seats typed at checkout kept with their order
//! until the tickets exist, then the tickets' answers, read and changed by their buyer or holder.
use super::{active, load, MAX_TEXT};
use crate::attendees::{AnswerSheet, AttendeeInput, Question, QuestionKind};
use crate::server::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const MAX_LONG_TEXT: usize = 2000;

/// A number as people type it ("12", "-3", "2,5"): kept with a point.
fn number(raw: &str) -> Option<String> {
    let n = raw.trim().replace(',', ".");
    let digits = n.strip_prefix('-').unwrap_or(&n);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = n.len() <= 20
        && !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.chars().all(|c| c.is_ascii_digit())
        && (frac.is_empty() == !digits.contains('.'));
    ok.then_some(n)
}

/// One answer, checked and normalised; `Ok(None)`: left empty. `Err`: the message's key.
pub fn check_answer(q: &Question, raw: &[&str]) -> Result<Option<String>, &'static str> {
    let first = raw.first().map(|r| r.trim()).unwrap_or_default();
    let value = match q.kind {
        QuestionKind::Multiple => {
            let mut chosen = Vec::new();
            for r in raw.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
                if !q.options.iter().any(|o| o.fr == r) {
                    return Err("questions.error.choice");
                }
                chosen.push(r);
            }
            // In the options' order, each once.
            let ordered: Vec<&str> = q
                .options
                .iter()
                .map(|o| o.fr.as_str())
                .filter(|o| chosen.contains(o))
                .collect();
            ordered.join("\n")
        }
        _ if first.is_empty() => String::new(),
        QuestionKind::Text => {
            let text = crate::text::clean_line(first);
            if text.chars().count() > MAX_TEXT {
                return Err("questions.error.too_long");
            }
            text
        }
        QuestionKind::LongText => {
            let text: String = first
                .chars()
                .filter(|c| *c == '\n' || crate::text::printable(*c))
                .collect();
            if text.chars().count() > MAX_LONG_TEXT {
                return Err("questions.error.too_long");
            }
            text.trim().to_string()
        }
        QuestionKind::Choice => {
            if !q.options.iter().any(|o| o.fr == first) {
                return Err("questions.error.choice");
            }
            first.to_string()
        }
        QuestionKind::YesNo => match first {
            "yes" | "no" => first.to_string(),
            _ => return Err("questions.error.yes_no"),
        },
        QuestionKind::Country => {
            let code = first.to_ascii_uppercase();
            if code.len() != 2 || !code.chars().all(|c| c.is_ascii_uppercase()) {
                return Err("questions.error.country");
            }
            code
        }
        QuestionKind::Number => number(first).ok_or("questions.error.number")?,
    };
    if value.is_empty() {
        return if q.required {
            Err("questions.error.required")
        } else {
            Ok(None)
        };
    }
    Ok(Some(value))
}

/// The answers posted for `questions` (by `q<question id>`; a MULTIPLE question's options as
/// `q<id>~<n>`), checked: the first refusal names its field, `<prefix>[q<question id>]`.
pub fn check_answers(
    questions: &[&Question],
    posted: &HashMap<String, String>,
    prefix: &str,
) -> Result<Vec<(Uuid, String)>, AppError> {
    let mut out = Vec::new();
    for q in questions {
        let id = format!("q{}", q.id);
        let mut raw: Vec<&str> = posted.get(&id).map(String::as_str).into_iter().collect();
        if q.kind == QuestionKind::Multiple {
            let mut ticked: Vec<(&String, &String)> = posted
                .iter()
                .filter(|(k, _)| {
                    k.strip_prefix(id.as_str())
                        .is_some_and(|r| r.starts_with('~'))
                })
                .collect();
            ticked.sort();
            raw.extend(ticked.into_iter().map(|(_, v)| v.as_str()));
        }
        match check_answer(q, &raw) {
            Ok(Some(v)) => out.push((q.id, v)),
            Ok(None) => {}
            Err(key) => return Err(AppError::invalid(&format!("{prefix}[{id}]"), key)),
        }
    }
    Ok(out)
}

/// One seat of an order as typed at checkout, checked: kept with the order (JSON) until its
/// ticket exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub ticket_type_id: Uuid,
    pub name: Option<String>,
    pub email: Option<String>,
    pub answers: Vec<(Uuid, String)>,
}

/// Which passes ask for their holders' names.
pub async fn names_required(db: &Db) -> Result<Vec<Uuid>, AppError> {
    let rows: Vec<(Uuid,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id FROM ticket_types WHERE names_required = $1").bind(true).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A seat's key as the shop names it, `p<pass index>s<seat>`, in numeric order.
fn seat_order(key: &str) -> (u64, u64, String) {
    let rest = key.strip_prefix('p').unwrap_or(key);
    let (a, b) = rest.split_once('s').unwrap_or((rest, ""));
    (
        a.parse().unwrap_or(u64::MAX),
        b.parse().unwrap_or(u64::MAX),
        key.to_string(),
    )
}

/// The seats of a cart (`lines`: pass and quantity) whose pass asks questions or names, from what
/// the buyer typed (`attendees[<key>][…]`): every seat present, names and answers checked. The
/// first refusal names its field (`attendees[<key>][name]`, `…[answers][<question id>]`, or the
/// pass's id when seats are missing).
pub async fn check_attendees(
    db: &Db,
    lines: &[(Uuid, i64)],
    posted: &HashMap<String, AttendeeInput>,
) -> Result<Vec<Attendee>, AppError> {
    if posted.len() > 1000 {
        return Err(AppError::BadRequest);
    }
    let questions = active(db).await?;
    let named = names_required(db).await?;
    let mut keys: Vec<&String> = posted.keys().collect();
    keys.sort_by_key(|k| seat_order(k));
    let mut out = Vec::new();
    for (pass, quantity) in lines {
        let asked: Vec<&Question> = questions.iter().filter(|q| q.asked_for(*pass)).collect();
        let needs_names = named.contains(pass);
        let seats: Vec<&String> = keys
            .iter()
            .copied()
            .filter(|k| posted[*k].ticket_type_id == Some(*pass))
            .collect();
        if asked.is_empty() && !needs_names && seats.is_empty() {
            continue;
        }
        let quantity = usize::try_from(*quantity).unwrap_or(0);
        let required = needs_names || asked.iter().any(|q| q.required);
        if required && seats.len() < quantity {
            return Err(AppError::invalid(
                &pass.to_string(),
                "questions.error.missing_attendees",
            ));
        }
        for key in seats.into_iter().take(quantity) {
            let seat = &posted[key];
            let field = |f: &str| format!("attendees[{key}][{f}]");
            let name = crate::text::clean_line(&seat.name);
            if name.chars().count() > 120 {
                return Err(AppError::invalid(
                    &field("name"),
                    "tickets.error.holder_name",
                ));
            }
            if needs_names && name.is_empty() {
                return Err(AppError::invalid(
                    &field("name"),
                    "questions.error.name_required",
                ));
            }
            let email = match seat.email.trim() {
                "" if needs_names => {
                    return Err(AppError::invalid(
                        &field("email"),
                        "questions.error.email_required",
                    ))
                }
                "" => None,
                e => Some(crate::accounts::service::normalise_email(e).map_err(|_| {
                    AppError::invalid(&field("email"), "accounts.error.email_invalid")
                })?),
            };
            let answers = check_answers(&asked, &seat.answers, &field("answers"))?;
            out.push(Attendee {
                ticket_type_id: *pass,
                name: (!name.is_empty()).then_some(name),
                email,
                answers,
            });
        }
    }
    Ok(out)
}

/// Keeps the seats typed at checkout with the order until its tickets are issued.
pub async fn keep_for_order(
    tx: &mut Tx,
    order_id: Uuid,
    attendees: &[Attendee],
) -> Result<(), sqlx::Error> {
    let json =
        (!attendees.is_empty()).then(|| serde_json::to_string(attendees).unwrap_or_default());
    tx_run!(tx, c => sqlx::query("UPDATE orders SET attendees = $1 WHERE id = $2")
        .bind(json).bind(order_id).execute(c).await.map(|_| ()))
}

/// The seats typed for an order, taken off it (its tickets are being issued, or it was released).
pub async fn take_for_order(tx: &mut Tx, order_id: Uuid) -> Result<Vec<Attendee>, sqlx::Error> {
    let row: Option<(Option<String>,)> = tx_run!(tx, c => sqlx::query_as("SELECT attendees FROM orders WHERE id = $1")
        .bind(order_id).fetch_optional(c).await)?;
    tx_run!(tx, c => sqlx::query("UPDATE orders SET attendees = NULL WHERE id = $1 AND attendees IS NOT NULL")
        .bind(order_id).execute(c).await.map(|_| ()))?;
    Ok(row
        .and_then(|r| r.0)
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default())
}

/// Writes a ticket's answers (each replaces the previous one; an answer left empty is removed).
pub async fn record_answers(
    tx: &mut Tx,
    ticket_id: Uuid,
    asked: &[Uuid],
    answers: &[(Uuid, String)],
) -> Result<(), sqlx::Error> {
    let now = now();
    for q in asked {
        tx_run!(tx, c => sqlx::query("DELETE FROM ticket_answers WHERE ticket_id = $1 AND question_id = $2")
            .bind(ticket_id).bind(q).execute(c).await.map(|_| ()))?;
    }
    for (q, answer) in answers {
        tx_run!(tx, c => sqlx::query("INSERT INTO ticket_answers (ticket_id, question_id, answer, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(ticket_id).bind(q).bind(answer).bind(now).execute(c).await.map(|_| ()))?;
    }
    Ok(())
}

/// The answers of one ticket, or of every ticket (the back office's list and CSV), by ticket then
/// question.
pub async fn answers_of(
    db: &Db,
    ticket: Option<Uuid>,
) -> Result<HashMap<Uuid, HashMap<Uuid, String>>, AppError> {
    let rows: Vec<(Uuid, Uuid, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT ticket_id, question_id, answer FROM ticket_answers WHERE $1 IS NULL OR ticket_id = $1")
        .bind(ticket).fetch_all(pool).await)?;
    let mut out: HashMap<Uuid, HashMap<Uuid, String>> = HashMap::new();
    for (t, q, a) in rows {
        out.entry(t).or_default().insert(q, a);
    }
    Ok(out)
}

/// A ticket the caller may read the answers of: its buyer or the account that claimed it.
async fn ticket_of(db: &Db, user_id: Uuid, ticket_id: Uuid) -> Result<(Uuid, bool), AppError> {
    let row: Option<(Uuid, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT ticket_type_id, status FROM tickets WHERE id = $1 AND (user_id = $2 OR holder_user_id = $2)")
        .bind(ticket_id).bind(user_id).fetch_optional(pool).await)?;
    let (pass, status) = row.ok_or(AppError::NotFound)?;
    Ok((pass, status != "CANCELED"))
}

/// Whether answers may still change now.
fn still_editable(config: &Config) -> bool {
    config
        .questions_editable_until
        .is_none_or(|until| now() < until)
}

pub async fn of_ticket(
    db: &Db,
    config: &Config,
    user_id: Uuid,
    ticket_id: Uuid,
) -> Result<AnswerSheet, AppError> {
    let (pass, live) = ticket_of(db, user_id, ticket_id).await?;
    let mut given = answers_of(db, Some(ticket_id)).await?;
    let given = given.remove(&ticket_id).unwrap_or_default();
    let answers = load(db, true)
        .await?
        .into_iter()
        .filter(|q| q.asked_for(pass) || given.contains_key(&q.id))
        .map(|q| {
            let a = given.get(&q.id).cloned().unwrap_or_default();
            (q, a)
        })
        .collect();
    Ok(AnswerSheet {
        ticket_id,
        answers,
        editable: live && still_editable(config),
    })
}

/// Changes a ticket's answers: its buyer or holder, while the ticket stands and before
/// `QUESTIONS_EDITABLE_UNTIL` (audited `SET_TICKET_ANSWERS`, without the answers themselves).
pub async fn set_answers(
    db: &Db,
    config: &Config,
    user_id: Uuid,
    ticket_id: Uuid,
    posted: &HashMap<String, String>,
) -> Result<(), AppError> {
    if posted.len() > 500 {
        return Err(AppError::BadRequest);
    }
    let (pass, live) = ticket_of(db, user_id, ticket_id).await?;
    if !live || !still_editable(config) {
        return Err(AppError::invalid("answers", "questions.error.closed"));
    }
    let questions = active(db).await?;
    let asked: Vec<&Question> = questions.iter().filter(|q| q.asked_for(pass)).collect();
    let answers = check_answers(&asked, posted, "answers")?;
    let ids: Vec<Uuid> = asked.iter().map(|q| q.id).collect();
    let mut tx = db.begin().await?;
    record_answers(&mut tx, ticket_id, &ids, &answers).await?;
    Audit::new(user_id, "SET_TICKET_ANSWERS", "ticket", ticket_id)
        .meta(serde_json::json!({ "answers": answers.len() }))
        .commit(tx)
        .await
}
