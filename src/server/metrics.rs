//! What the servers are doing, in the Prometheus text format (`metrics` records, and
//! `metrics-exporter-prometheus` renders), and a request id on every request's log lines.
//!
//! `/metrics` is never public: it is served on its own address (`METRICS_ADDR`, for the scraper's
//! network only) or, on the site's address, only to a request bearing `METRICS_TOKEN`; with
//! neither set it does not exist (404).
//!
//! Counters and histograms are recorded where things happen (requests, order transitions, door
//! answers, mails, background jobs); the levels (seats left per pass, mails waiting, the database
//! pool) are read from the database when scraped, so that every instance reports the same truth.
use super::state::AppState;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::{sync::OnceLock, time::Instant};
use tracing::Instrument;

/// The header carrying a request's id, back to the client and from a trusted proxy.
pub const REQUEST_ID: &str = "x-request-id";

/// Request latency buckets, in seconds (Prometheus histograms, not summaries: they add up across
/// instances).
const LATENCY_BUCKETS: &[f64] = &[
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use (one per process: the test suite runs several
/// apps in one process, and they share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed: /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "tessera_http_requests_total",
        "HTTP requests answered, by route and status"
    );
    describe_histogram!(
        "tessera_http_request_duration_seconds",
        Unit::Seconds,
        "Time to a response's head, by route"
    );
    describe_counter!(
        "tessera_order_transitions_total",
        "Orders entering a status"
    );
    describe_counter!(
        "tessera_door_answers_total",
        "Door answers, by outcome and source"
    );
    describe_counter!("tessera_mails_total", "Mail delivery attempts, by result");
    describe_counter!(
        "tessera_job_runs_total",
        "Background job passes, by job and result"
    );
    describe_gauge!(
        "tessera_seats_left",
        "Seats the shop can still sell, by pass (holds and waiting lists served first)"
    );
    describe_gauge!("tessera_mail_outbox_pending", "Mails waiting to be sent");
    describe_gauge!(
        "tessera_mail_outbox_failing",
        "Mails waiting after at least one failure"
    );
    describe_gauge!(
        "tessera_db_pool_connections",
        "Database connections, by state"
    );
    describe_gauge!("tessera_db_pool_max_connections", "The pool's size limit");
}

/// An order entered `status`: counted when its change is written (creations once committed); a
/// transaction that fails after its change was written is rare and still counted.
pub fn order_transition(status: &str) {
    metrics::counter!("tessera_order_transitions_total", "to" => status.to_string()).increment(1);
}

/// The door answered `outcome` (`source`: the server online, or an entry synced from a phone).
pub fn door_answer(outcome: &'static str, source: &'static str) {
    metrics::counter!("tessera_door_answers_total", "outcome" => outcome, "source" => source)
        .increment(1);
}

/// A mail was tried: `sent` or `failed`.
pub fn mail(result: &'static str) {
    metrics::counter!("tessera_mails_total", "result" => result).increment(1);
}

/// A background job's pass ended (`ok` or `error`).
pub fn job_run(job: &'static str, result: &'static str) {
    metrics::counter!("tessera_job_runs_total", "job" => job, "result" => result).increment(1);
}

/// Gives every request an id of its own (new for each request, never taken from the client: a
/// client could otherwise give many requests one id), puts it on the request's log lines (with a
/// trusted proxy's `X-Request-Id`, if sane, as `upstream_id`) and sends it back; counts the
/// request and its time.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let upstream = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| state.config.trust_proxy && is_sane_id(v))
        .unwrap_or("")
        .to_string();
    let id = super::contain::RequestId::new();
    let value = HeaderValue::from_str(&id.0).unwrap_or(HeaderValue::from_static("-"));
    req.headers_mut().insert(REQUEST_ID, value.clone());
    req.extensions_mut().insert(id.clone());
    let route = route_of(&req);
    // The route's pattern, not the path: a path may carry a secret (a calendar feed's token).
    let span = tracing::info_span!("request", id = %id.0, upstream_id = %upstream, method = %req.method(), route = %route);
    let started = Instant::now();
    let mut res = next.run(req).instrument(span).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("tessera_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("tessera_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    res.headers_mut().insert(REQUEST_ID, value);
    res
}

/// A route's label: the router's pattern (`/api/checkout`, `/invoices/{file}`), never the raw path
/// (unbounded: every 404 would make a series).
fn route_of(req: &Request) -> String {
    if let Some(p) = req.extensions().get::<MatchedPath>() {
        return p.as_str().to_string();
    }
    let path = req.uri().path();
    if path.starts_with("/pkg/") {
        "/pkg/*".into()
    } else {
        "other".into()
    }
}

/// An id from a proxy is kept only if short and plain (it goes into every log line).
fn is_sane_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `GET /metrics` on the site's address: only with `Authorization: Bearer <METRICS_TOKEN>`.
pub async fn with_token(State(state): State<AppState>, req: Request) -> Response {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme's name is case-insensitive (RFC 9110): `bearer` is `Bearer`.
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    if !same_secret(given, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the token",
        )
            .into_response();
    }
    render(&state).await
}

/// Compares a presented token with the configured one without telling, by its timing, how much of
/// it was right (their digests are compared).
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// The metrics, with the levels read now.
pub async fn render(state: &AppState) -> Response {
    if let Err(e) = read_levels(state).await {
        tracing::warn!(error = %e, "metrics: levels not read");
    }
    let h = handle();
    h.run_upkeep();
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            // Asked with a token: no shared cache may keep it for others.
            (header::CACHE_CONTROL, "no-store"),
        ],
        h.render(),
    )
        .into_response()
}

/// Reads the levels (seats left, mails waiting, the pool) into their gauges.
pub async fn read_levels(state: &AppState) -> Result<(), sqlx::Error> {
    let db = &state.db;
    // Every pass, by id (two may share a name); one no longer on sale has no seat left to sell.
    let passes: Vec<(uuid::Uuid, String, i64)> = crate::db_run!(db, pool => sqlx::query_as(
        "SELECT id, name, CASE WHEN is_active THEN capacity - reserved_count - sold_count - held_count - \
         (SELECT COUNT(*) FROM waitlist_entries w WHERE w.ticket_type_id = ticket_types.id AND w.status = 'WAITING') \
         ELSE 0 END FROM ticket_types")
        .fetch_all(pool).await)?;
    for (id, name, left) in passes {
        metrics::gauge!("tessera_seats_left", "pass" => name, "pass_id" => id.to_string())
            .set(left.max(0) as f64);
    }
    let (pending, failing): (i64, i64) = crate::db_run!(db, pool => sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM outbox_emails WHERE status = 'PENDING'")
        .fetch_one(pool).await)?;
    metrics::gauge!("tessera_mail_outbox_pending").set(pending as f64);
    metrics::gauge!("tessera_mail_outbox_failing").set(failing as f64);
    let (size, idle, max) = db.pool_usage();
    metrics::gauge!("tessera_db_pool_connections", "state" => "in_use")
        .set(size.saturating_sub(idle) as f64);
    metrics::gauge!("tessera_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("tessera_db_pool_max_connections").set(max as f64);
    Ok(())
}

/// Serves `/metrics` alone on `METRICS_ADDR` until `stop` resolves.
pub async fn serve_separately(
    state: AppState,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(s): State<AppState>| async move { render(&s).await }),
        )
        .with_state(state);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "metrics listener stopped");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_short_plain_request_ids_are_taken_from_a_proxy() {
        assert!(super::is_sane_id("3f9a-01.b_c"));
        assert!(!super::is_sane_id(""));
        assert!(!super::is_sane_id(&"a".repeat(65)));
        assert!(!super::is_sane_id("id with space"));
        assert!(!super::is_sane_id("x\u{7f}"));
    }
}
