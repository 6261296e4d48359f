//! The cookies a request carries: which session it claims (the page cache and the session layer
//! both read it).
use axum::http::{self, header};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tessera_session";

/// A cookie's value in a `Cookie` header, if it holds that name.
pub fn cookie_value(cookie_header: &str, name: &str) -> Option<String> {
    cookie_header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The session token a request carries in its cookies, if any.
pub fn session_token(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| cookie_value(c, SESSION_COOKIE))
}
