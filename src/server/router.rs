//! The HTTP router and the process's life: it assembles each domain's routes and workers.
use super::db::Db;
use super::{
    config::Config,
    contain, lifecycle, metrics, page_cache, security,
    state::{anyhow_like, set_clock_start, AppState, Gateway, MAX_BODY_BYTES},
};
use crate::app::{shell, App};
use crate::mail::service::{DocumentPdf, Pending, TicketPngs};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{collections::HashMap, net::SocketAddr, sync::Arc};
use tower_http::{compression::CompressionLayer, trace::TraceLayer};

pub fn leptos_options(config: &Config) -> LeptosOptions {
    let mut options = leptos::config::get_configuration(None)
        .map(|c| c.leptos_options)
        .expect("Leptos options from the environment");
    options.output_name = "tessera".into();
    options.site_root = config.site_root.to_string_lossy().as_ref().into();
    options.site_addr = config.addr;
    options.hash_files = options.hash_files || hashed_site(&options);
    options
}

/// Whether the build gave the site's files hashed names (cargo-leptos' `hash-files`): it left its
/// `hash.txt` next to this binary, and the files it names are in the site. Pages then link to those
/// names, which are cached for a year (`cache_headers`); a stale `hash.txt` (files gone, or newer
/// unhashed builds) is ignored rather than served as broken or outdated links.
fn hashed_site(options: &LeptosOptions) -> bool {
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(std::path::Path::to_path_buf))
    else {
        return false;
    };
    let hash_file = dir.join(options.hash_file.as_ref());
    let Ok(hashes) = std::fs::read_to_string(&hash_file) else {
        return false;
    };
    let pkg = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    // `cargo leptos watch` hashes its first build only: a plain `tessera.wasm` newer than the
    // hash file means later builds went out unhashed, and the hashed files are stale.
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let plain = pkg.join(format!("{}.wasm", options.output_name));
    if let (Some(plain), Some(hashed)) = (modified(&plain), modified(&hash_file)) {
        if plain > hashed {
            return false;
        }
    }
    let named: Vec<(&str, &str)> = hashes
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(ext, hash)| (ext.trim(), hash.trim()))
        .filter(|(ext, _)| matches!(*ext, "js" | "wasm" | "css"))
        .collect();
    named.len() == 3
        && named.iter().all(|(ext, hash)| {
            pkg.join(format!("{}.{hash}.{ext}", options.output_name))
                .is_file()
        })
}

/// Connects to the database, migrates it, and loads the demo conference when asked and empty.
pub async fn prepare(config: Config) -> anyhow_like::Result<AppState> {
    contain::init();
    let db = Db::connect(&config.database_url, config.db_max_connections)
        .await
        .map_err(|e| format!("cannot open the database at DATABASE_URL: {e}"))?;
    db.migrate()
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    if let Some(start) = config.clock_start {
        set_clock_start(start);
        tracing::warn!(%start, "CLOCK_START: the server's clock is shifted (rehearsal)");
    }
    // The key that signs tickets' codes for the door (made on the first start).
    crate::ticketing::codes::signing_key(&db, &config)
        .await
        .map_err(|e| format!("cannot prepare the door's signing key: {e}"))?;
    let leptos_options = leptos_options(&config);
    let config = Arc::new(config);
    let shutdown = lifecycle::Shutdown::default();
    let attachments = crate::mail::service::Attachments {
        ticket_pngs,
        document_pdf,
    };
    let mailer =
        crate::mail::service::start_worker(db.clone(), config.clone(), &shutdown, attachments)?;
    let gateway = Gateway::from_config(&config);
    let state = AppState {
        db,
        config,
        leptos_options,
        mailer,
        rate_limiter: Default::default(),
        gateway,
        page_cache: Default::default(),
        shutdown,
    };
    metrics::handle();
    start_reservation_sweeper(state.clone());
    start_programme_mailer(state.clone());
    crate::privacy::service::start_worker(state.clone());
    crate::webhooks::service::start_worker(state.clone());
    Ok(state)
}

/// The QR codes of an order's tickets, attached to its ticket mail.
fn ticket_pngs<'a>(
    db: &'a Db,
    config: &'a Config,
    order: uuid::Uuid,
    only: Option<uuid::Uuid>,
) -> Pending<'a, TicketPngs> {
    Box::pin(crate::ticketing::service::ticket_pngs(
        db, config, order, only,
    ))
}

/// An invoice's or credit note's PDF, attached to the mail that sends it.
fn document_pdf(db: &Db, id: uuid::Uuid) -> Pending<'_, DocumentPdf> {
    Box::pin(async move {
        match crate::invoicing::service::pdf(db, id).await {
            Ok(rendered) => Ok(rendered.map(|r| (r.1.clone(), r.2.clone()))),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// Mails attendees the talks they saved that moved, every `JOBS_EVERY_SECONDS` (30; a talk's
/// changes go out once it has been left alone for `PROGRAMME_MAIL_DELAY_MINUTES`).
fn start_programme_mailer(state: AppState) {
    every_period(state, "programme-mailer", |state| async move {
        let sent = crate::programme::changes::mail_batch(&state.db, &state.config).await;
        if job_done("programme_mails", sent, "programme changes mailed") > 0 {
            state.mailer.wake();
        }
        // Messages to attendees whose time has come: their mails go to the outbox, spaced at the rate.
        let queued = crate::messages::service::run_due(&state).await;
        job_done("attendee_messages", queued, "messages to attendees queued");
        // The periodic schedule import (SCHEDULE_IMPORT_URL), when its turn has come.
        let imported = crate::schedule::service::run_periodic(&state).await;
        job_done(
            "schedule_import",
            imported,
            "talks imported from the schedule",
        );
    });
}

/// Gives back the seats of reservations whose payment time ran out, ends lapsed voucher holds and
/// offers freed seats to the waiting lists, every `JOBS_EVERY_SECONDS` (30).
fn start_reservation_sweeper(state: AppState) {
    every_period(state, "reservation-sweeper", |state| async move {
        let released = crate::ticketing::service::release_expired(&state).await;
        job_done(
            "reservation_sweep",
            released,
            "expired reservations released",
        );
        // Voucher holds that ended, and freed seats for the waiting lists.
        let offers = crate::waitlist::service::offer_seats(&state).await;
        job_done("waitlist_offers", offers, "waiting-list offers sent");
        // Workshop seats freed by a refund, for their waiting lists.
        let seats = crate::programme::workshops::service::promote_all(&state).await;
        if job_done(
            "workshop_seats",
            seats,
            "workshop seats given from the waiting list",
        ) > 0
        {
            state.mailer.wake();
        }
    });
}

/// Runs `pass` now, then every `JOBS_EVERY_SECONDS`, until the process stops (a pass under way
/// is finished first).
fn every_period<F, Fut>(state: AppState, name: &'static str, pass: F)
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let shutdown = state.shutdown.clone();
    let period = std::time::Duration::from_secs(state.config.jobs_every_seconds);
    shutdown.spawn(name, async move {
        loop {
            pass(state.clone()).await;
            if !state.shutdown.pause(period).await {
                break;
            }
        }
    });
}

/// Counts a job's pass (`tessera_job_runs_total`) and logs what it did or why it failed: how many
/// things it did (0 after a failure).
fn job_done<E: std::fmt::Display>(
    job: &'static str,
    result: Result<usize, E>,
    did: &'static str,
) -> usize {
    match result {
        Ok(n) => {
            metrics::job_run(job, "ok");
            if n > 0 {
                tracing::info!(job, count = n, "{did}");
            }
            n
        }
        Err(e) => {
            metrics::job_run(job, "error");
            tracing::warn!(job, error = %e, "background job failed");
            0
        }
    }
}

/// The app's routes, generated once per process. Generating them runs the app with a
/// process-global "suppress resource loads" flag set (leptos_server's `SuppressResourceLoad`): a
/// page being rendered meanwhile in the same process (another app instance, as in the test suite)
/// would see its resources stay pending forever and its request hang (leptos issue #4773).
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    contain::init();
    let routes = routes();
    let context_state = state.clone();
    let is_dev = state.config.is_dev();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::with_token))
        .route("/readyz", get(readyz))
        .route("/lang/{code}", get(switch_language))
        .merge(crate::ticketing::payment_events::routes())
        .merge(crate::programme::personal::http::routes())
        .merge(crate::schedule::http::routes())
        .merge(crate::admin::exports::service::routes())
        .merge(crate::vouchers::service::export_routes())
        .merge(crate::invoicing::http::routes())
        .merge(crate::scanning::shell::routes())
        .merge(crate::privacy::service::http::routes())
        .merge(crate::checkin::http::routes())
        .merge(crate::api::http::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                leptos::nonce::provide_nonce();
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            {
                let state = state.clone();
                move || {
                    provide_context(state.clone());
                    leptos::nonce::provide_nonce();
                }
            },
            shell,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            cache_headers(req, next, is_dev)
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page_cache::serve,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .layer(axum::middleware::from_fn(crate::error::error_status))
        .layer(axum::middleware::from_fn(
            crate::accounts::session::identify,
        ))
        // No request of ours carries more than a form: a larger body is refused (413) unread.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(security::refuse_large_bodies))
        .layer(axum::middleware::from_fn(contain::contain))
        .layer(CompressionLayer::new())
        // Its span names the method only: the path may hold a calendar feed's secret, and the
        // route is on the request's span already (metrics::observe).
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                tracing::debug_span!("http", method = %req.method())
            },
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .with_state(state)
}

/// Caching by browsers: a file whose name carries its content's hash (`/pkg/tessera.<hash>.wasm`)
/// never changes, so it is kept a year without asking again; other static files (favicon…) an hour
/// (always revalidated in dev); pages and server function answers are revalidated every time, so a
/// deploy is seen at once.
async fn cache_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
    is_dev: bool,
) -> Response {
    let immutable = is_hashed_asset(req.uri().path());
    let mut res = next.run(req).await;
    if res.headers().contains_key(header::CACHE_CONTROL) {
        return res;
    }
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    // A file, or its "not modified": cacheable; redirects and errors (a language switch, a refused
    // calendar download) never are.
    let file = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let value = if is_page || !file || (is_dev && !immutable) {
        "no-cache"
    } else if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    if !is_page {
        // Precompressed files are chosen by Accept-Encoding: a shared cache must keep them apart.
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// A file of the site's package named with its content hash by cargo-leptos: a 22-character
/// URL-safe base64 part between dots (`tessera.AbC…xyz.wasm`, `__wasm_split.AbC…xyz.js`).
fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else {
        return false;
    };
    !name.contains('/')
        && name.split('.').skip(1).any(|part| {
            part.len() == 22
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && part.bytes().any(|b| b != b'_')
        })
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, format!("ready ({})", state.db.engine())),
        Err(e) => {
            tracing::warn!(error = %e, "readiness probe: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable".to_string(),
            )
        }
    }
}

/// `/lang/en?next=/talks/…`: remembers the language in a cookie and goes back (no JavaScript needed).
async fn switch_language(
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(locale) = crate::i18n::Locale::from_code(&code) else {
        return (StatusCode::NOT_FOUND, "unknown language").into_response();
    };
    // Only a path of this site (never `/\t/other.site`), in visible ASCII: a valid header value,
    // so a malformed `next` goes home instead of failing the request.
    let next = crate::accounts::safe_next(q.get("next").map(String::as_str));
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        crate::i18n::LANG_COOKIE,
        locale.code()
    );
    let mut res = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub fn init_tracing(json: bool) {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn"));
    if json {
        let _ = fmt().with_env_filter(filter).json().try_init();
    } else {
        let _ = fmt().with_env_filter(filter).try_init();
    }
}

/// Serves until SIGTERM or Ctrl-C; then takes no new connection, lets the requests in flight
/// finish (at most `SHUTDOWN_GRACE_SECONDS`), stops the workers between two pieces of work and
/// closes the database. `/metrics` is served on `METRICS_ADDR` meanwhile, if set.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let db = state.db.clone();
    let shutdown = state.shutdown.clone();
    let grace = std::time::Duration::from_secs(state.config.shutdown_grace_seconds);
    let signalled = Arc::new(tokio::sync::Notify::new());
    if let Some(addr) = state.config.metrics_addr {
        let metrics_listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on METRICS_ADDR={addr}: {e}"),
            )
        })?;
        let stop = shutdown.clone();
        tokio::spawn(metrics::serve_separately(
            state.clone(),
            metrics_listener,
            async move { stop.stopping().await },
        ));
    }
    let app = router(state);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let (signalled, shutdown) = (signalled.clone(), shutdown.clone());
        async move {
            lifecycle::signal().await;
            tracing::info!("stopping: no new connections, finishing the requests in flight");
            // The workers stop taking new work now, and finish what they hold.
            shutdown.begin();
            signalled.notify_one();
        }
    });
    let cut = async {
        signalled.notified().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => served?,
        _ = cut => tracing::warn!(seconds = grace.as_secs(), "requests still in flight at the end of the grace period: cut"),
    }
    let clean = shutdown.stop_workers(grace).await;
    // A connection still held (a request cut at the deadline) would make close wait forever.
    if tokio::time::timeout(grace, db.close()).await.is_err() {
        tracing::warn!("database connections still in use at exit");
    }
    tracing::info!(workers_stopped_cleanly = clean, "stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_files_named_by_their_hash_are_immutable() {
        use super::is_hashed_asset as hashed;
        assert!(hashed("/pkg/tessera.X0PLo4k7sOQ2-UcY_zZlHw.wasm"));
        assert!(hashed("/pkg/__wasm_split.X0PLo4k7sOQ2-UcY_zZlHw.js"));
        assert!(!hashed("/pkg/tessera.wasm"));
        assert!(!hashed("/pkg/__wasm_split.______________________.js"));
        assert!(!hashed("/favicon.X0PLo4k7sOQ2-UcY_zZlHw.svg"));
        assert!(!hashed("/pkg/x/tessera.X0PLo4k7sOQ2-UcY_zZlHw.js"));
    }
}
