//! Browser safety on every response: server functions only by same-origin POST (CSRF), and the
//! security headers (CSP with the per-request nonce Leptos puts on its scripts, nosniff,
//! referrer policy, no framing, HSTS outside dev).
use super::AppState;
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue, Method, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Name of the response header through which the app hands the page's nonce to this middleware.
pub const NONCE_HEADER: &str = "x-tessera-nonce";

pub async fn guard(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        if req.method() != Method::POST {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                "server functions take POST only",
            )
                .into_response();
        }
        if !same_origin(&state, &req) {
            tracing::warn!(path = %req.uri().path(), "cross-site server function call refused");
            return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
        }
    }
    let mut res = next.run(req).await;
    let nonce = res
        .headers_mut()
        .remove(NONCE_HEADER)
        .and_then(|v| v.to_str().ok().map(str::to_string));
    let h = res.headers_mut();
    let dev = state.config.is_dev();
    let script = match &nonce {
        Some(n) => format!("script-src 'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_string(),
    };
    // cargo-leptos' live reload (dev only) talks over a websocket on the reload port.
    let connect = if dev {
        "connect-src 'self' ws://127.0.0.1:3001 ws://localhost:3001"
    } else {
        "connect-src 'self'"
    };
    let csp = format!(
        "default-src 'self'; {script}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
         {connect}; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; frame-src 'self'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !dev {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// A browser says where a request comes from (`Sec-Fetch-Site`, or `Origin`); a request that says
/// nothing is not a browser's, and so carries no victim's cookies.
fn same_origin(state: &AppState, req: &Request<Body>) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            origin == state.config.base_url
                || origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                    == Some(host)
        }
    }
}
