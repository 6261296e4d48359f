//! The one error type of the application. Server functions return it; it crosses the wire as a
//! translation key, so the browser shows the message in the reader's language.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("login required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    /// Bad input: the field it concerns and a translation key for the message.
    #[error("invalid {field}: {key}")]
    Invalid { field: String, key: String },
    /// Bad input with details the message names (`{line}`, `{field}`…): a file's line and
    /// column, the talk and field it failed on, a limit.
    #[error("invalid {field}: {key} {args:?}")]
    InvalidWith {
        field: String,
        key: String,
        args: Vec<(String, String)>,
    },
    /// Too many attempts: try again in `minutes`.
    #[error("rate limited for {minutes} minutes")]
    RateLimited { minutes: u64 },
    /// A request the server could not read (malformed, missing or extra arguments): nothing of its
    /// content is echoed back.
    #[error("bad request")]
    BadRequest,
    /// The server has more of this work waiting than it can do soon: try again in a moment.
    #[error("busy")]
    Busy,
    #[error("internal error")]
    Internal,
    #[error("server function: {0}")]
    ServerFn(String),
}

impl AppError {
    /// Bad input whose message names `args` (`{name}` in the text).
    pub fn invalid_with(field: &str, key: &str, args: &[(&str, String)]) -> AppError {
        let args = args
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        AppError::InvalidWith {
            field: field.into(),
            key: key.into(),
            args,
        }
    }

    pub fn invalid(field: &str, key: &str) -> AppError {
        AppError::Invalid {
            field: field.into(),
            key: key.into(),
        }
    }

    /// The message a user sees, in their language.
    pub fn message(&self, locale: crate::i18n::Locale) -> String {
        match self {
            AppError::InvalidWith { key, args, .. } => {
                let args: Vec<(&str, &str)> =
                    args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                crate::i18n::tr_with(locale, key, &args)
            }
            AppError::RateLimited { minutes } => crate::i18n::tr_with(
                locale,
                "error.rate_limited",
                &[("minutes", &minutes.to_string())],
            ),
            other => crate::i18n::tr(locale, other.message_key()),
        }
    }

    /// The field this error belongs next to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } | AppError::InvalidWith { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The translation key of the message a user sees.
    pub fn message_key(&self) -> &str {
        match self {
            AppError::NotFound => "error.not_found",
            AppError::Unauthorized => "error.unauthorized",
            AppError::Forbidden => "error.forbidden",
            AppError::Invalid { key, .. } | AppError::InvalidWith { key, .. } => key,
            AppError::RateLimited { .. } => "error.rate_limited",
            AppError::BadRequest => "error.bad_request",
            AppError::Busy => "error.busy",
            AppError::Internal | AppError::ServerFn(_) => "error.internal",
        }
    }

    #[cfg(feature = "ssr")]
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Invalid { .. } | AppError::InvalidWith { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal | AppError::ServerFn(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// On the server, a request that could not be read answers 400 and a server-side failure 500,
    /// each with a generic body (the detail goes to the log only); in the browser, the failure of a
    /// call (network, decoding) keeps its detail for the console.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        {
            let error = match &value {
                ServerFnErrorErr::Args(_)
                | ServerFnErrorErr::MissingArg(_)
                | ServerFnErrorErr::Request(_)
                | ServerFnErrorErr::MiddlewareError(_)
                | ServerFnErrorErr::Deserialization(_)
                | ServerFnErrorErr::UnsupportedRequestMethod(_) => AppError::BadRequest,
                ServerFnErrorErr::Registration(_)
                | ServerFnErrorErr::ServerError(_)
                | ServerFnErrorErr::Serialization(_)
                | ServerFnErrorErr::Response(_) => AppError::Internal,
            };
            tracing::info!(error = %value, "server function call refused");
            fail(error)
        }
        #[cfg(not(feature = "ssr"))]
        AppError::ServerFn(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

/// A server function's error answers with the status it means (401, 403, 404, 422…), whether or
/// not the function set it: server_fn answers every error with 500 unless told otherwise.
#[cfg(feature = "ssr")]
pub async fn error_status(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::{body::Body, response::Response};
    let res = next.run(req).await;
    let is_fn_error = res
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER);
    if !is_fn_error || res.status() != http::StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => {
            if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
                parts.status = error.status();
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => Response::from_parts(parts, Body::from("\"Internal\"")),
    }
}

/// Sets the HTTP status of the current response from an error (server functions return it), and
/// passes the error on: `service(..).await.map_err(fail)?`. A plain form post (no JavaScript) keeps
/// the redirect back to its page, which then shows the error next to its field.
#[cfg(feature = "ssr")]
pub fn fail(error: AppError) -> AppError {
    use axum::http::header;
    use leptos::prelude::use_context;
    let plain_form = use_context::<http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if let (false, Some(resp)) = (plain_form, use_context::<leptos_axum::ResponseOptions>()) {
        resp.set_status(error.status());
    }
    error
}
