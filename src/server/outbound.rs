//! Requests the server makes to other sites (a schedule to import from pretalx, webhooks): `http(s)` only,
//! to the addresses the name resolves to when they are public (in production: never loopback,
//! private, link-local or other special-purpose ranges, so an admin's URL cannot reach the
//! database or the cloud's metadata service), pinned to those addresses (no second resolution
//! to rebind), redirects followed by hand (each one checked again, three at most), with a
//! timeout and a size limit. Refusals are `Invalid` on the `url` field, with a message.
use super::config::{Config, Mode};
use crate::error::AppError;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);
const MAX_REDIRECTS: usize = 3;

fn refused(key: &str) -> AppError {
    AppError::invalid("url", &format!("outbound.error.{key}"))
}

fn refused_with(key: &str, name: &str, value: String) -> AppError {
    AppError::invalid_with("url", &format!("outbound.error.{key}"), &[(name, value)])
}

/// Whether an address is one the public internet routes (not this machine, a private network, a
/// link, a documentation or other special-purpose range).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            // An IPv4 address inside: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), 6to4.
            if let Some(v4) = v6.to_ipv4() {
                return !v6.is_loopback() && !v6.is_unspecified() && is_public(IpAddr::V4(v4));
            }
            if seg[0] == 0x2002 {
                let v4 = std::net::Ipv4Addr::new(
                    (seg[1] >> 8) as u8,
                    seg[1] as u8,
                    (seg[2] >> 8) as u8,
                    seg[2] as u8,
                );
                return is_public(IpAddr::V4(v4));
            }
            let first = seg[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && (seg[1] == 0x0db8 || seg[1] == 0)
                || first == 0x0064)
        }
    }
}

/// The URL checked, and the addresses it may be fetched from.
async fn check(
    config: &Config,
    raw: &str,
    timeout: Duration,
) -> Result<(reqwest::Url, Vec<SocketAddr>), AppError> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| refused("url"))?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(refused("url"));
    }
    let host = url.host_str().ok_or_else(|| refused("url"))?.to_string();
    let port = url.port_or_known_default().ok_or_else(|| refused("url"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| refused("unreachable"))?
            .map_err(|_| refused("unreachable"))?
            .collect();
    if addrs.is_empty() {
        return Err(refused("unreachable"));
    }
    if config.mode == Mode::Production && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(refused("private_address"));
    }
    Ok((url, addrs))
}

/// A client that connects only to `addrs` (the checked addresses of `url`'s host), follows no
/// redirect, and gives up after `timeout`.
fn client(
    url: &reqwest::Url,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<reqwest::Client, AppError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // Never through a proxy from the environment: the checked addresses are the ones used.
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .resolve_to_addrs(url.host_str().unwrap_or_default(), addrs)
        .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| AppError::Internal)
}

/// Why a request to another site failed, as the admin reads it.
fn transport(e: reqwest::Error) -> AppError {
    if e.is_timeout() {
        refused("timeout")
    } else {
        refused("unreachable")
    }
}

/// Checks an address given by an admin (a webhook's) as a request to it would: `Invalid` on `url`
/// when it is not http(s) or, in production, not public.
pub async fn check_url(config: &Config, url: &str) -> Result<(), AppError> {
    check(config, url, TIMEOUT).await.map(|_| ())
}

/// `POST url` with a JSON body and `headers`, within `timeout`, no redirect followed: the
/// receiver's status code (its answer's body is not read).
pub async fn post(
    config: &Config,
    url: &str,
    headers: &[(&str, String)],
    body: String,
    timeout: Duration,
) -> Result<u16, AppError> {
    let (checked, addrs) = check(config, url, timeout).await?;
    let mut req = client(&checked, &addrs, timeout)?
        .post(checked)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let res = req.send().await.map_err(transport)?;
    Ok(res.status().as_u16())
}

/// `GET url`: its body, at most `max` bytes.
pub async fn get(config: &Config, url: &str, max: usize) -> Result<Vec<u8>, AppError> {
    let mut url = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let (checked, addrs) = check(config, &url, TIMEOUT).await?;
        let client = client(&checked, &addrs, TIMEOUT)?;
        let mut res = client
            .get(checked.clone())
            .send()
            .await
            .map_err(transport)?;
        let status = res.status();
        if status.is_redirection() {
            let next = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| checked.join(l).ok())
                .ok_or_else(|| refused_with("status", "code", status.as_u16().to_string()))?;
            url = next.to_string();
            continue;
        }
        if !status.is_success() {
            return Err(refused_with("status", "code", status.as_u16().to_string()));
        }
        let limit = format!("{} MB", max / 1024 / 1024);
        if res.content_length().is_some_and(|n| n > max as u64) {
            return Err(refused_with("too_large", "max", limit.clone()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > max {
                return Err(refused_with("too_large", "max", limit.clone()));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(body);
    }
    Err(refused("redirects"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
