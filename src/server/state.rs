//! What every request handler and server function is given: the application's state (database,
//! configuration, the mail worker's handle, the payment provider), how an error sets the response's
//! status, and the clock. Domains import this module; it imports none of them.
use super::{config::Config, db::Db};
use axum::extract::FromRef;
use chrono::{DateTime, SubsecRound, Utc};
use leptos::prelude::*;
use std::sync::Arc;
use tokio::sync::Notify;

/// Everything a request handler or server function needs; provided as Leptos context too.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub mailer: Mailer,
    pub rate_limiter: Arc<super::rate_limit::RateLimiter>,
    pub gateway: Gateway,
    /// The public programme pages as anonymous visitors see them (`page_cache`).
    pub page_cache: Arc<super::page_cache::PageCache>,
    /// The stop signal the background workers watch (SIGTERM).
    pub shutdown: super::lifecycle::Shutdown,
}

/// The application's state, for a server function. Present for every request; missing only when a
/// page's render outlived its request (a reload mid-render), where an error ends that work cleanly
/// instead of a panic that would leave the page's stream hanging.
pub fn state() -> Result<AppState, crate::error::AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::debug!("server function called without the application state");
        crate::error::AppError::Internal
    })
}

pub use crate::error::fail;

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

static CLOCK_OFFSET: std::sync::OnceLock<chrono::Duration> = std::sync::OnceLock::new();

/// Starts the server's clock at `start` (dev-only `CLOCK_START`); once per process.
pub fn set_clock_start(start: DateTime<Utc>) {
    let _ = CLOCK_OFFSET.set(start - Utc::now());
}

/// Now, to the microsecond (what PostgreSQL keeps), so that a value read back equals the one written.
pub fn now() -> DateTime<Utc> {
    let real = Utc::now();
    CLOCK_OFFSET
        .get()
        .map_or(real, |offset| real + *offset)
        .trunc_subsecs(6)
}

/// The mail worker's handle: `wake()` after committing a mail to send it at once.
#[derive(Clone)]
pub struct Mailer {
    notify: Arc<Notify>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer")
    }
}

impl Mailer {
    /// The handle of a worker that waits on `notify`.
    pub fn new(notify: Arc<Notify>) -> Mailer {
        Mailer { notify }
    }

    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Where payments happen.
#[derive(Clone)]
pub enum Gateway {
    Stripe(Box<stripe::Client>),
    /// The built-in test checkout (dev mode without Stripe keys).
    TestMode,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Gateway::Stripe(_) => "Gateway::Stripe",
            Gateway::TestMode => "Gateway::TestMode",
        })
    }
}

impl Gateway {
    pub fn from_config(config: &crate::server::config::Config) -> Gateway {
        match &config.stripe_secret_key {
            Some(key) => match &config.stripe_api_base {
                Some(base) => Gateway::Stripe(Box::new(stripe::Client::from_url(
                    base.as_str(),
                    key.clone(),
                ))),
                None => Gateway::Stripe(Box::new(stripe::Client::new(key.clone()))),
            },
            None => Gateway::TestMode,
        }
    }

    pub fn provider(&self) -> &'static str {
        match self {
            Gateway::Stripe(_) => "stripe",
            Gateway::TestMode => "test",
        }
    }
}

/// The largest request body accepted (forms, server function arguments, webhooks).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Tiny error alias: start-up failures are one human sentence.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
}

/// One cell of a back-office table as typed: the row (`id`), the column (`field`), the text
/// (`value`) and the row's version when it was read (a row changed meanwhile is refused).
#[derive(Clone, Copy, Debug)]
pub struct CellEdit<'a> {
    /// Who edits.
    pub by: uuid::Uuid,
    pub id: uuid::Uuid,
    pub field: &'a str,
    pub value: &'a str,
    /// The row's version the editor read: the edit is refused when the row changed since.
    pub version: i64,
    /// The API token it came through (its id and display prefix), for the audit log; none from a
    /// page.
    pub via: Option<(uuid::Uuid, &'a str)>,
}

impl<'a> CellEdit<'a> {
    pub fn new(
        by: uuid::Uuid,
        id: uuid::Uuid,
        field: &'a str,
        value: &'a str,
        version: i64,
    ) -> Self {
        CellEdit {
            by,
            id,
            field,
            value,
            version,
            via: None,
        }
    }

    /// The same edit, made through the API token `token` (`prefix`, as /admin/api lists it).
    pub fn through(self, token: uuid::Uuid, prefix: &'a str) -> Self {
        CellEdit {
            via: Some((token, prefix)),
            ..self
        }
    }
}
