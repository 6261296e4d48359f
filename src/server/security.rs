//! Browser safety on every response: server functions only by same-origin POST (CSRF), and the
//! security headers (CSP with the per-request nonce Leptos puts on its scripts, nosniff,
//! referrer policy, no framing, HSTS outside dev).
use super::state::AppState;
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
    // A NUL character is never text a person typed, and PostgreSQL refuses it in text columns.
    if req
        .uri()
        .path_and_query()
        .is_some_and(|p| p.as_str().contains("%00"))
    {
        return (StatusCode::BAD_REQUEST, "\"BadRequest\"").into_response();
    }
    let req = if req.uri().path().starts_with("/api/") {
        let (parts, body) = req.into_parts();
        match axum::body::to_bytes(body, super::state::MAX_BODY_BYTES).await {
            Ok(bytes) if !has_nul(&bytes) => Request::from_parts(parts, Body::from(bytes)),
            Ok(_) => return (StatusCode::BAD_REQUEST, "\"BadRequest\"").into_response(),
            Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "\"BadRequest\"").into_response(),
        }
    } else {
        req
    };
    // The REST API (`/api/v1`) is called by other tools with a bearer token, never a cookie: any
    // method, from anywhere. The rest of `/api/` is the app's own server functions.
    if req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/api/v1/") {
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
    // A page from the page cache lists its scripts by hash and carries no nonce.
    let hashed = res
        .headers_mut()
        .remove(super::page_cache::SCRIPT_SRC_HEADER)
        .and_then(|v| v.to_str().ok().map(str::to_string));
    let mut nonce = res
        .headers_mut()
        .remove(NONCE_HEADER)
        .and_then(|v| v.to_str().ok().map(str::to_string));
    // The app hands the nonce over in a header while it renders; when a page's headers left before
    // that happened (seen now and then under load), the nonce is read from the page itself, so the
    // policy always matches the page's scripts (a mismatch would block hydration).
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if nonce.is_none() && hashed.is_none() && is_html {
        let (parts, body) = res.into_parts();
        match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
            Ok(bytes) => {
                nonce = nonce_in_page(&bytes);
                res = Response::from_parts(parts, Body::from(bytes));
            }
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    let h = res.headers_mut();
    let dev = state.config.is_dev();
    let script = match (&hashed, &nonce) {
        (Some(hashes), _) => format!("script-src 'self' {hashes} 'wasm-unsafe-eval'"),
        (None, Some(n)) => format!("script-src 'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        (None, None) => "script-src 'self' 'wasm-unsafe-eval'".to_string(),
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

/// Whether a body holds a NUL character, raw or percent-encoded.
fn has_nul(body: &[u8]) -> bool {
    body.contains(&0) || body.windows(3).any(|w| w == b"%00")
}

/// The first `nonce="…"` attribute of a page (Leptos puts the request's nonce on its scripts).
pub(crate) fn nonce_in_page(page: &[u8]) -> Option<String> {
    const MARK: &[u8] = b"nonce=\"";
    let start = page.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let len = page[start..].iter().position(|b| *b == b'"')?;
    let nonce = std::str::from_utf8(&page[start..start + len]).ok()?;
    nonce
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
        .then(|| nonce.to_string())
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

/// A request that says its body is larger than [`super::state::MAX_BODY_BYTES`] is answered 413 without
/// being read into memory; what the client still sends (up to 16 MiB) is read and dropped first,
/// so that it hears the answer instead of a connection reset mid-upload. A body that does not say
/// its length is cut at the limit by `RequestBodyLimitLayer`.
pub async fn refuse_large_bodies(req: Request<Body>, next: Next) -> Response {
    const DRAIN_AT_MOST: usize = 16 * 1024 * 1024;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if !declared.is_some_and(|n| n > super::state::MAX_BODY_BYTES as u64) {
        return next.run(req).await;
    }
    let locale = crate::i18n::Locale::from_request(
        req.headers()
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok()),
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut body = req.into_body().into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut body).await {
        read = read.saturating_add(chunk.len());
        if read > DRAIN_AT_MOST {
            break;
        }
    }
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        crate::i18n::tr(locale, "error.too_large"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_nonce_is_read_from_the_page_when_the_header_is_missing() {
        let page = br#"<html><head><script nonce="AbC+12/x=">x</script></head></html>"#;
        assert_eq!(super::nonce_in_page(page).as_deref(), Some("AbC+12/x="));
        assert_eq!(super::nonce_in_page(b"<p>no scripts</p>"), None);
        assert_eq!(
            super::nonce_in_page(br#"<script nonce="a'b">"#),
            None,
            "nothing that could break the header"
        );
    }
}
