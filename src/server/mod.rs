//! The server: configuration, database, state, HTTP router and process life cycle.
//! Domains import `state` (and `db`, `config`…); only `router` imports the domains.
pub mod audit;
pub mod backup;
pub mod config;
pub mod contain;
pub mod cookies;
pub mod csv;
pub mod db;
pub mod demo;
pub mod lifecycle;
pub mod metrics;
pub mod outbound;
pub mod page_cache;
pub mod prelude;
pub mod rate_limit;
pub mod router;
pub mod security;
pub mod state;

pub use router::{init_tracing, leptos_options, prepare, router, serve};
pub use state::{anyhow_like, fail, now, set_clock_start, state, AppState, MAX_BODY_BYTES};
