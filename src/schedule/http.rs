//! `GET /schedule.json`, `/schedule.xml`, `/schedule.ics`: the whole programme for other tools,
//! public like the programme page. Each document is written once per programme revision and
//! kept (`PageCache::document`); its ETag is that revision, so readers polling every few minutes
//! get a 304 until a talk changes.
use crate::server::state::AppState;
use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

/// The documents: name, content type.
const JSON: (&str, &str) = ("schedule.json", "application/json; charset=utf-8");
const XML: (&str, &str) = ("schedule.xml", "application/xml; charset=utf-8");
const ICS: (&str, &str) = ("schedule.ics", "text/calendar; charset=utf-8");

async fn write(
    state: &AppState,
    name: &str,
    revision: i64,
) -> Result<String, crate::error::AppError> {
    if name == ICS.0 {
        return crate::programme::calendar::programme_ics(&state.db, &state.config).await;
    }
    let talks = super::model::talks(&state.db).await?;
    let schedule = super::model::schedule(&state.config, revision, talks);
    Ok(if name == JSON.0 {
        super::json::write(&schedule)
    } else {
        super::xml::write(&schedule)
    })
}

async fn document(
    state: AppState,
    headers: HeaderMap,
    (name, kind): (&'static str, &'static str),
) -> Response {
    let Ok(revision) = crate::server::page_cache::programme_revision(&state.db).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let etag = format!("\"{name}-r{revision}\"");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // Weak comparison (RFC 9110): a proxy may have marked it `W/`.
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    let cache = [
        (
            header::ETAG,
            HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        ),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let body = match state.page_cache.document(name, revision) {
        Some(body) => body,
        None => match write(&state, name, revision).await {
            Ok(text) => {
                let body = Bytes::from(text);
                state.page_cache.put_document(name, revision, body.clone());
                body
            }
            Err(e) => {
                tracing::warn!(error = %e, name, "schedule export failed");
                return e.status().into_response();
            }
        },
    };
    let kind = [(header::CONTENT_TYPE, HeaderValue::from_static(kind))];
    (cache, kind, body).into_response()
}

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/schedule.json",
            get(|State(s): State<AppState>, h: HeaderMap| document(s, h, JSON)),
        )
        .route(
            "/schedule.xml",
            get(|State(s): State<AppState>, h: HeaderMap| document(s, h, XML)),
        )
        .route(
            "/schedule.ics",
            get(|State(s): State<AppState>, h: HeaderMap| document(s, h, ICS)),
        )
}
