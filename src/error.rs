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
    /// Too many attempts: try again in `minutes`.
    #[error("rate limited for {minutes} minutes")]
    RateLimited { minutes: u64 },
    #[error("internal error")]
    Internal,
    #[error("server function: {0}")]
    ServerFn(String),
}

impl AppError {
    pub fn invalid(field: &str, key: &str) -> AppError {
        AppError::Invalid {
            field: field.into(),
            key: key.into(),
        }
    }

    /// The message a user sees, in their language.
    pub fn message(&self, locale: crate::i18n::Locale) -> String {
        match self {
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
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The translation key of the message a user sees.
    pub fn message_key(&self) -> &str {
        match self {
            AppError::NotFound => "error.not_found",
            AppError::Unauthorized => "error.unauthorized",
            AppError::Forbidden => "error.forbidden",
            AppError::Invalid { key, .. } => key,
            AppError::RateLimited { .. } => "error.rate_limited",
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
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal | AppError::ServerFn(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
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
