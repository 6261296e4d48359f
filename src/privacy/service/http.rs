//! `GET /me/data.json` (my data) and `GET /admin/privacy/export/{user}` (a person's, admins only):
//! the export as an attached JSON file, audited, rate-limited.
use crate::{accounts::Role, server::state::AppState};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use uuid::Uuid;

fn attachment(value: &serde_json::Value, user_id: Uuid) -> Response {
    let Ok(body) = serde_json::to_vec_pretty(value) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"tessera-data-{}.json\"",
                    user_id.simple()
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// A download another site started (a link or an image elsewhere, a sibling subdomain
/// included): refused, so that no other
/// site can spend a person's export budget or fill the audit log.
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site != "same-origin" && site != "none")
}

pub async fn export_mine(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if cross_site(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let Some(user) = crate::accounts::session::user_from_headers(&state.db, &headers).await else {
        return (StatusCode::UNAUTHORIZED, "log in first").into_response();
    };
    let key = format!("export:acct:{}", user.id);
    if let Err(e) = crate::accounts::service::limited(&state, &key, super::EXPORTS_PER_HOUR, 3600) {
        return (e.status(), e.message(user.locale)).into_response();
    }
    match super::export_audited(&state.db, user.id, user.id).await {
        Ok(value) => attachment(&value, user.id),
        Err(e) => e.status().into_response(),
    }
}

pub async fn export_person(
    State(state): State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    if cross_site(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let admin = match crate::accounts::session::user_from_headers(&state.db, &headers).await {
        None => return StatusCode::UNAUTHORIZED.into_response(),
        Some(u) if u.role != Role::Admin => return StatusCode::FORBIDDEN.into_response(),
        Some(u) => u,
    };
    let Ok(user_id) = Uuid::parse_str(user.trim_end_matches(".json")) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match super::export_audited(&state.db, user_id, admin.id).await {
        Ok(value) => attachment(&value, user_id),
        Err(e) => e.status().into_response(),
    }
}

/// Personal data exports: one's own, and an admin's of one person.
pub fn routes() -> axum::Router<crate::server::state::AppState> {
    axum::Router::new()
        .route("/me/data.json", axum::routing::get(export_mine))
        .route(
            "/admin/privacy/export/{user}",
            axum::routing::get(export_person),
        )
}
