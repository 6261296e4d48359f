//! Rate limiting: budgets per key, the client address's key, busy hashing forgiven.
use super::*;

/// Gives `budget`'s hit back when the hashing it paid for was turned away busy: being asked to come
/// back in a minute is not an attempt (a venue's sign-ins share one address's budget).
pub(crate) fn unless_busy<T>(
    state: &AppState,
    budget: &str,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    if matches!(result, Err(AppError::Busy)) {
        state.rate_limiter.forgive(budget);
    }
    result
}

/// One attempt counted against `key`'s budget of `max` per `window_secs`; 429 past it.
pub(crate) fn limited(
    state: &AppState,
    key: &str,
    max: usize,
    window_secs: u64,
) -> Result<(), AppError> {
    state
        .rate_limiter
        .hit(key, max, StdDuration::from_secs(window_secs))
        .map_err(|secs| AppError::RateLimited {
            minutes: secs.div_ceil(60),
        })
}

/// The request's client address, as a rate-limit key.
pub(crate) fn ip_key(state: &AppState) -> String {
    session::request_info(&state.config)
        .ip
        .map(address_block)
        .unwrap_or_else(|| "unknown".into())
}

/// The block an address's budget is counted on: the address for IPv4, its /64 for IPv6 (one
/// subscriber gets a whole /64, and would otherwise have 2^64 budgets).
pub(crate) fn address_block(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}
