//! `GET /admin/badges.pdf?sheet=a4|a6&pass=ID&ticket=ID`: badges for one ticket, one pass or
//! everyone (tickets not canceled), admins only (anyone else: 404, as for a file that is not there).
use super::badges::{self, Badge, Sheet};
use crate::accounts::Role;
use crate::server::prelude::*;
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use std::collections::HashMap;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/admin/badges.pdf", axum::routing::get(badges_pdf))
}

async fn badges_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(user) = crate::accounts::session::user_from_headers(&state.db, &headers).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if user.role != Role::Admin {
        return StatusCode::NOT_FOUND.into_response();
    }
    let bad = |field: &str, key: &str| {
        let e = AppError::invalid(field, key);
        (e.status(), e.message(crate::i18n::Locale::Fr)).into_response()
    };
    let sheet = match q.get("sheet").map(String::as_str) {
        None | Some("") => Sheet::A6,
        Some(s) => match Sheet::parse(s) {
            Some(s) => s,
            None => return bad("sheet", "checkin.error.sheet"),
        },
    };
    let id = |k: &str| -> Result<Option<Uuid>, ()> {
        match q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => Uuid::parse_str(v).map(Some).map_err(|_| ()),
        }
    };
    let (Ok(pass), Ok(ticket)) = (id("pass"), id("ticket")) else {
        return bad("ticket", "checkin.error.badge_filter");
    };
    match render(&state, &user, sheet, pass, ticket).await {
        Ok(Some(pdf)) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (header::CACHE_CONTROL, "private, no-store"),
                (
                    header::CONTENT_DISPOSITION,
                    "inline; filename=\"badges.pdf\"",
                ),
            ],
            pdf,
        )
            .into_response(),
        Ok(None) => bad("ticket", "checkin.error.no_badges"),
        Err(e) => (e.status(), e.message(crate::i18n::Locale::Fr)).into_response(),
    }
}

async fn render(
    state: &AppState,
    admin: &crate::accounts::AuthUser,
    sheet: Sheet,
    pass: Option<Uuid>,
    ticket: Option<Uuid>,
) -> Result<Option<Vec<u8>>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        facts: crate::ticketing::codes::CodeFacts,
        holder: String,
        company: Option<String>,
        pass: String,
    }
    let mut tx = state.db.begin().await?;
    let rows: Vec<Row> = tx_run!(&mut tx, c => sqlx::query_as(concat!(
        "SELECT ", crate::code_facts_sql!(), ", ", crate::ticket_holder_sql!(), " AS holder, \
         CASE WHEN t.holder_name IS NULL THEN p.company END AS company, tt.name AS pass FROM tickets t JOIN users u ON u.id = t.user_id LEFT JOIN profiles p ON p.user_id = u.id \
         JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE t.status IN ('VALID', 'USED') AND ($1 OR t.ticket_type_id = $2) AND ($3 OR t.id = $4) \
         ORDER BY LOWER(COALESCE(t.holder_name, p.last_name, u.email)), t.id LIMIT 5000"))
        .bind(pass.is_none()).bind(pass.unwrap_or_default())
        .bind(ticket.is_none()).bind(ticket.unwrap_or_default())
        .fetch_all(c).await)?;
    if rows.is_empty() {
        return Ok(None);
    }
    Audit::new(
        admin.id,
        "PRINT_BADGES",
        "ticket",
        ticket.map_or_else(|| "badges".to_string(), |t| t.to_string()),
    )
    .meta(serde_json::json!({ "pass": pass, "count": rows.len() }))
    .commit(tx)
    .await?;
    let key = crate::ticketing::codes::signing_key(&state.db, &state.config)
        .await
        .ok();
    let config = &state.config;
    // Answers to the questions marked "on the badge" take the company's line (in French, as typed).
    let printed: Vec<crate::attendees::Question> = crate::attendees::service::active(&state.db)
        .await?
        .into_iter()
        .filter(|q| q.on_badge)
        .collect();
    let answers = if printed.is_empty() {
        Default::default()
    } else {
        crate::attendees::service::answers_of(&state.db, None).await?
    };
    let on_badge = |ticket: Uuid| {
        let given = answers.get(&ticket)?;
        let line: Vec<String> = printed
            .iter()
            .filter_map(|q| {
                given
                    .get(&q.id)
                    .map(|a| q.answer_text(a, Default::default()))
            })
            .collect();
        (!line.is_empty()).then(|| line.join(" · "))
    };
    let list: Vec<Badge> = rows
        .into_iter()
        .map(|r| {
            // The badge carries the ticket's own code, as its ticket page shows it.
            let (qr, _) = crate::ticketing::service::shown_code(config, key.as_ref(), &r.facts);
            Badge {
                company: on_badge(r.facts.ticket_id).or(r.company),
                name: r.holder,
                pass: r.pass,
                qr,
            }
        })
        .collect();
    let event = config.event_name.clone();
    tokio::task::spawn_blocking(move || badges::render(&event, &list, sheet))
        .await
        .map_err(|_| AppError::Internal)?
        .map(Some)
        .map_err(|e| {
            tracing::error!(error = %e, "badges: the PDF could not be made");
            AppError::Internal
        })
}
