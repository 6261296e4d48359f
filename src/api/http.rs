//! `/api/v1`'s handlers: each names its scope, reads or writes through the domains' services, and
//! answers JSON. A request stands on its own: its token (never a cookie) says who calls, its
//! `Accept-Language` in which language errors are written; answers are never cached.
use super::resources;
use super::schema::{
    Attendee, Checkin, CheckinResult, Cursor, ErrorBody, NewCheckin, Order, Page, PageQuery, Pass,
    Talk, TalkPatch,
};
use super::tokens::{authenticate, ApiCaller};
use crate::i18n::Locale;
use crate::server::prelude::*;
use axum::{
    body::Bytes,
    extract::{FromRequestParts, Path, Query, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Longest page a client may ask for (and the default).
const MAX_LIMIT: i64 = 200;
const DEFAULT_LIMIT: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(super::openapi::document))
        .route("/api/v1/passes", get(list_passes))
        .route("/api/v1/orders", get(list_orders))
        .route("/api/v1/orders/{id}", get(get_order))
        .route("/api/v1/attendees", get(list_attendees))
        .route("/api/v1/checkins", get(list_checkins).post(create_checkin))
        .route("/api/v1/talks", get(list_talks))
        .route("/api/v1/talks/{id}", get(get_talk).patch(patch_talk))
        .route("/api/v1/{*rest}", axum::routing::any(unknown))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// An error answered as JSON with its status (401 with `WWW-Authenticate`, 429 with `Retry-After`).
pub struct ApiError {
    error: AppError,
    locale: Locale,
    retry_after: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.error {
            // Ours, not a server function's: nothing to hide behind a 200.
            AppError::ServerFn(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ref e => e.status(),
        };
        let body = ErrorBody {
            error: self.error.message_key().to_string(),
            message: self.error.message(self.locale),
            field: self.error.field().map(str::to_string),
        };
        let mut res = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tessera\""),
            );
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, secs.into());
        }
        res
    }
}

fn locale_of(headers: &HeaderMap) -> Locale {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Locale::from_request(None, accept)
}

/// A request with a valid bearer token within its rate: who calls, and their language.
pub struct Api {
    pub caller: ApiCaller,
    pub locale: Locale,
}

impl FromRequestParts<AppState> for Api {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Api, ApiError> {
        let locale = locale_of(&parts.headers);
        let fail = |error| ApiError {
            error,
            locale,
            retry_after: None,
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.get(..7)
                    .filter(|s| s.eq_ignore_ascii_case("bearer "))
                    .map(|_| &v[7..])
            })
            .map(str::trim)
            .ok_or_else(|| fail(AppError::Unauthorized))?;
        let caller = authenticate(&state.db, token)
            .await
            .map_err(fail)?
            .ok_or_else(|| fail(AppError::Unauthorized))?;
        let per_minute = usize::try_from(state.config.api_rate_per_minute).unwrap_or(1);
        let key = format!("api:{}", caller.token_id);
        if let Err(secs) = state
            .rate_limiter
            .hit(&key, per_minute, Duration::from_secs(60))
        {
            return Err(ApiError {
                error: AppError::RateLimited {
                    minutes: secs.div_ceil(60),
                },
                locale,
                retry_after: Some(secs),
            });
        }
        Ok(Api { caller, locale })
    }
}

impl Api {
    fn fail(&self, error: AppError) -> ApiError {
        ApiError {
            error,
            locale: self.locale,
            retry_after: None,
        }
    }

    /// 403 unless the token has `scope`.
    fn allow(&self, scope: &str) -> Result<(), ApiError> {
        self.caller.allow(scope).map_err(|e| self.fail(e))
    }

    /// One page of a list the token may read (`scope`), from the query's `cursor` and `limit`.
    async fn list<T>(
        &self,
        scope: &str,
        query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
        read: impl AsyncFnOnce(Cursor, i64) -> Result<Page<T>, AppError>,
    ) -> Result<Json<Page<T>>, ApiError> {
        self.allow(scope)?;
        let Query(q) = query.map_err(|_| self.fail(AppError::BadRequest))?;
        let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => Cursor::start(),
            Some(raw) => Cursor::decode(raw).map_err(|e| self.fail(e))?,
        };
        let limit = match q.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    let max = MAX_LIMIT.to_string();
                    self.fail(AppError::invalid_with(
                        "limit",
                        "api.error.limit",
                        &[("max", max)],
                    ))
                })?,
        };
        read(after, limit).await.map(Json).map_err(|e| self.fail(e))
    }

    /// The id of the path: an id that is none is not found.
    fn id(&self, id: PathId) -> Result<Uuid, ApiError> {
        id.map(|Path(id)| id)
            .map_err(|_| self.fail(AppError::NotFound))
    }

    /// The body read as `T`: 422 on `body`, saying what is wrong, when it is not.
    fn body<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, ApiError> {
        serde_json::from_slice(bytes).map_err(|e| {
            let detail = e.to_string().chars().take(200).collect();
            self.fail(AppError::invalid_with(
                "body",
                "api.error.json",
                &[("detail", detail)],
            ))
        })
    }
}

type PageQ = Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>;

type PathId = Result<Path<Uuid>, axum::extract::rejection::PathRejection>;

/// A paged list of the API (`GET`, `scope` to read it), documented for the OpenAPI document.
macro_rules! list {
    ($doc:tt, $name:ident, $path:tt, $tag:tt, $scope:tt, $row:ty, $read:path) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = $tag, params(PageQuery), security(("token" = [$scope])),
            responses((status = 200, body = Page<$row>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
        pub async fn $name(api: Api, State(s): State<AppState>, q: PageQ) -> Result<Json<Page<$row>>, ApiError> {
            api.list($scope, q, async |a, l| $read(&s.db, a, l).await).await
        }
    };
}

/// One row of the API by its id (`GET …/{id}`, `scope` to read it).
macro_rules! one {
    ($doc:tt, $name:ident, $path:tt, $tag:tt, $scope:tt, $row:ty, $read:path) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = $tag, params(("id" = Uuid, Path)), security(("token" = [$scope])),
            responses((status = 200, body = $row), (status = 404, body = ErrorBody)))]
        pub async fn $name(api: Api, State(s): State<AppState>, id: PathId) -> Result<Json<$row>, ApiError> {
            let id = api.id(id)?;
            api.allow($scope)?;
            $read(&s.db, id).await.map(Json).map_err(|e| api.fail(e))
        }
    };
}

list!(
    "The passes, on sale or not.",
    list_passes,
    "/api/v1/passes",
    "passes",
    "passes:read",
    Pass,
    resources::passes
);
list!(
    "Orders, oldest first, with their lines and buyer.",
    list_orders,
    "/api/v1/orders",
    "orders",
    "orders:read",
    Order,
    resources::orders
);
/// Tickets and who holds them, with their answers to the organiser's questions (each question in
/// the request's `Accept-Language`).
#[utoipa::path(get, path = "/api/v1/attendees", tag = "attendees", params(PageQuery), security(("token" = ["attendees:read"])),
    responses((status = 200, body = Page<Attendee>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_attendees(
    api: Api,
    State(s): State<AppState>,
    q: PageQ,
) -> Result<Json<Page<Attendee>>, ApiError> {
    let locale = api.locale;
    api.list("attendees:read", q, async |a, l| {
        resources::attendees(&s.db, a, l, locale).await
    })
    .await
}
list!(
    "Entries and exits, in the order they happened.",
    list_checkins,
    "/api/v1/checkins",
    "checkins",
    "checkins:read",
    Checkin,
    resources::checkins
);
list!(
    "The talks of the programme.",
    list_talks,
    "/api/v1/talks",
    "talks",
    "talks:read",
    Talk,
    resources::talks
);
one!(
    "One order.",
    get_order,
    "/api/v1/orders/{id}",
    "orders",
    "orders:read",
    Order,
    resources::order
);
one!(
    "One talk.",
    get_talk,
    "/api/v1/talks/{id}",
    "talks",
    "talks:read",
    Talk,
    resources::talk
);

/// Lets a ticket in (or out) as the door's scanner does, with the same rules: 201 when it was
/// let in, 200 with the reason when not.
#[utoipa::path(post, path = "/api/v1/checkins", tag = "checkins", request_body = NewCheckin,
    security(("token" = ["checkins:write"])),
    responses((status = 201, body = CheckinResult), (status = 200, body = CheckinResult), (status = 422, body = ErrorBody)))]
pub async fn create_checkin(
    api: Api,
    State(s): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<CheckinResult>), ApiError> {
    api.allow("checkins:write")?;
    let new: NewCheckin = api.body(&body)?;
    let code = new.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let key = match (code, new.ticket_id) {
        (Some(code), None) => crate::scanning::service::Key::Token(code),
        (None, Some(id)) => crate::scanning::service::Key::Ticket(id),
        _ => return Err(api.fail(AppError::invalid("code", "api.error.code_or_ticket"))),
    };
    let door =
        crate::scanning::door_at(new.list_id, new.direction.as_deref()).map_err(|e| api.fail(e))?;
    let scan_id = new.scan_id.unwrap_or_else(Uuid::new_v4);
    let answer = crate::scanning::service::redeem_at(
        &s.db,
        &s.config,
        &api.caller.user,
        door,
        key,
        scan_id,
        now(),
    )
    .await
    .map_err(|e| api.fail(e))?;
    let entered = answer.outcome == crate::scanning::Outcome::Ok;
    let status = if entered && !answer.repeated {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(CheckinResult {
            scan_id: answer.scan_id,
            outcome: answer.outcome.as_str().to_string(),
            entered,
            ticket_id: answer.ticket_id,
            holder: answer.holder,
            pass: answer.pass,
            list: answer.list,
            day: answer.day,
            used_at: answer.used_at,
            repeated: answer.repeated,
        }),
    ))
}

/// Changes a talk: all the fields given, or none (one transaction); attendees who saved a moved
/// talk are told, as for an edit in the back office, and so are the webhooks.
#[utoipa::path(patch, path = "/api/v1/talks/{id}", tag = "talks", params(("id" = Uuid, Path)), request_body = TalkPatch,
    security(("token" = ["talks:write"])),
    responses((status = 200, body = Talk), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_talk(
    api: Api,
    State(s): State<AppState>,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
    body: Bytes,
) -> Result<Json<Talk>, ApiError> {
    api.allow("talks:write")?;
    let Path(id) = id.map_err(|_| api.fail(AppError::NotFound))?;
    let patch: TalkPatch = api.body(&body)?;
    let talk = resources::talk(&s.db, id).await.map_err(|e| api.fail(e))?;
    let config = s.config.as_ref();
    let exact = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
    // Moved later past its own end: the end moves first, so that it never ends before it starts.
    let end_first = patch.start_at.is_some_and(|t| t >= talk.end_at);
    let times = [
        ("start_at", exact(patch.start_at)),
        ("end_at", exact(patch.end_at)),
    ];
    let times = if end_first {
        [times[1].clone(), times[0].clone()]
    } else {
        times
    };
    let fields = [
        ("title", patch.title),
        ("description", patch.description),
        ("theme", patch.theme),
        ("location", patch.room),
        ("speaker_name", patch.speaker),
    ];
    let changes: Vec<(&str, String)> = fields
        .into_iter()
        .chain(times)
        .filter_map(|(f, v)| v.map(|v| (f, v)))
        .collect();
    let failed = |e: AppError| match e {
        AppError::Invalid { key, .. } if key == "admin.error.changed_meanwhile" => {
            api.fail(AppError::invalid("version", &key))
        }
        AppError::Invalid { field, key } => api.fail(AppError::invalid(
            crate::programme::service::api_field(&field),
            &key,
        )),
        other => api.fail(other),
    };
    let mut tx = s.db.begin().await.map_err(|e| api.fail(e.into()))?;
    for (i, (field, value)) in changes.iter().enumerate() {
        let version = patch.version.saturating_add(i as i64);
        let edit = CellEdit::new(api.caller.user.id, id, field, value, version)
            .through(api.caller.token_id, &api.caller.prefix);
        crate::admin::talks::service::update_in(&mut tx, config, edit)
            .await
            .map_err(failed)?;
    }
    tx.commit().await.map_err(|e| api.fail(e.into()))?;
    resources::talk(&s.db, id)
        .await
        .map(Json)
        .map_err(|e| api.fail(e))
}

/// Any other `/api/v1` path: a JSON 404 (not the site's page).
async fn unknown(headers: HeaderMap) -> ApiError {
    ApiError {
        error: AppError::NotFound,
        locale: locale_of(&headers),
        retry_after: None,
    }
}
