//! The REST API for other tools (`/api/v1`, JSON): bearer tokens made in `/admin/api`, each with
//! scopes per resource, read (passes, orders, attendees with their answers, check-ins, talks) and
//! write (check-ins, talks); cursor pagination, a rate limit per token, and an OpenAPI document
//! generated from the handlers (`/api/v1/openapi.json`). The `/api/*` paths without `v1` are the
//! app's own server functions, behind the session cookie; these are behind a token only.
pub mod admin_page;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod openapi;
#[cfg(feature = "ssr")]
pub mod resources;
#[cfg(feature = "ssr")]
pub mod schema;
#[cfg(feature = "ssr")]
pub mod tokens;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a token may do: read or write one kind of resource.
pub const SCOPES: [&str; 7] = [
    "passes:read",
    "orders:read",
    "attendees:read",
    "checkins:read",
    "checkins:write",
    "talks:read",
    "talks:write",
];

/// A token as the back office lists it (never the token itself: only its first characters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenView {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    /// Who made it, and when ("admin@… · 07/12 14:06").
    pub created: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just made: the only time it is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub token: String,
    pub view: ApiTokenView,
}

/// The tokens, newest first.
#[server(prefix = "/api", endpoint = "admin_api_tokens")]
pub async fn admin_api_tokens() -> Result<Vec<ApiTokenView>, AppError> {
    crate::accounts::session::admin_read(tokens::list).await
}

/// Makes a token named `name` with `scopes` (separated by commas); the answer holds the token.
#[server(prefix = "/api", endpoint = "admin_api_token_create")]
pub async fn admin_api_token_create(name: String, scopes: String) -> Result<NewApiToken, AppError> {
    use crate::accounts::session::admin_write;
    admin_write(async |db, config, admin| tokens::create(db, config, admin, &name, &scopes).await)
        .await
}

/// Revokes a token: its next request is refused.
#[server(prefix = "/api", endpoint = "admin_api_token_revoke")]
pub async fn admin_api_token_revoke(id: Uuid) -> Result<(), AppError> {
    use crate::accounts::session::admin_write;
    admin_write(async |db, _, admin| tokens::revoke(db, admin, id).await).await
}
