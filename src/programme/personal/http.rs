use crate::server::state::AppState;
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use uuid::Uuid;

fn calendar(body: String, filename: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-cache".to_string()),
        ],
        body,
    )
        .into_response()
}

pub async fn download(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(user) = crate::accounts::session::user_from_headers(&state.db, &headers).await else {
        return (StatusCode::UNAUTHORIZED, "log in first").into_response();
    };
    match super::ics(&state.db, &state.config, user.id).await {
        Ok(body) => calendar(body, "my-programme.ics"),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub async fn feed(
    State(state): State<AppState>,
    Path((user, file)): Path<(String, String)>,
) -> Response {
    let (Ok(user), Some(token)) = (Uuid::parse_str(&user), file.strip_suffix(".ics")) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match super::feed_user(&state.db, &state.config, user, token).await {
        Ok(Some(user)) => match super::ics(&state.db, &state.config, user).await {
            Ok(body) => calendar(body, "my-programme.ics"),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The personal programme as a calendar: the download and the subscribed feed.
pub fn routes() -> axum::Router<crate::server::state::AppState> {
    axum::Router::new()
        .route("/me/programme.ics", axum::routing::get(download))
        .route("/calendar/{user}/{file}", axum::routing::get(feed))
}
