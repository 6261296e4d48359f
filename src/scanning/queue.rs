//! Scans not yet confirmed by the server. A scan that cannot reach the server stays here (and in
//! the browser's local storage, so a reload keeps it) and is retried with the same `scan_id`: the
//! server answers a retry of an attempt that did get through with OK again, never ALREADY USED.
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The local storage key of the queue.
pub const STORAGE_KEY: &str = "tessera.scan.queue";

/// One scan attempt waiting for the server's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingScan {
    pub scan_id: Uuid,
    /// A QR code's token, or…
    pub token: Option<String>,
    /// …a ticket found by name.
    pub ticket_id: Option<Uuid>,
    /// When it was scanned (ms since the epoch, the browser's clock).
    pub at_ms: f64,
    /// Attempts made so far.
    pub attempts: u32,
    /// The check-in list and direction chosen when it was scanned.
    #[serde(default)]
    pub list_id: Option<Uuid>,
    #[serde(default)]
    pub direction: crate::checkin::Direction,
}

/// Reads a stored queue; anything unreadable counts as empty (never blocks the door).
pub fn parse(stored: Option<&str>) -> Vec<PendingScan> {
    stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

pub fn serialise(queue: &[PendingScan]) -> String {
    serde_json::to_string(queue).unwrap_or_else(|_| "[]".into())
}

/// The wait before the next attempt: 1 s, 2 s, 4 s… at most 15 s.
pub fn retry_delay_ms(attempts: u32) -> u32 {
    1000u32.saturating_mul(1 << attempts.min(4)).min(15_000)
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The queue left by an earlier visit of the page (empty on the server).
pub fn load() -> Vec<PendingScan> {
    #[cfg(feature = "hydrate")]
    {
        let stored = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        parse(stored.as_deref())
    }
    #[cfg(not(feature = "hydrate"))]
    Vec::new()
}

pub fn save(queue: &[PendingScan]) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        let _ = s.set_item(STORAGE_KEY, &serialise(queue));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = queue;
}

/// A random id for a new scan attempt (the browser's CSPRNG; no other source of randomness in WASM).
pub fn new_scan_id() -> Uuid {
    #[allow(unused_mut)]
    let mut bytes = [0u8; 16];
    #[cfg(feature = "hydrate")]
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Now, in ms since the epoch (the browser's clock; 0 on the server, where nothing is scanned).
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_queue_survives_a_round_trip_and_garbage_reads_as_empty() {
        let q = vec![PendingScan {
            scan_id: Uuid::from_u128(7),
            token: Some("abc".into()),
            ticket_id: None,
            at_ms: 1.5,
            attempts: 2,
            list_id: Some(Uuid::from_u128(8)),
            direction: crate::checkin::Direction::Out,
        }];
        // A queue stored before lists existed still reads (the default list, an entry).
        let old = r#"[{"scan_id":"00000000-0000-0000-0000-000000000007","token":"abc","ticket_id":null,"at_ms":1.5,"attempts":2}]"#;
        assert_eq!(parse(Some(old))[0].list_id, None);
        assert_eq!(parse(Some(&serialise(&q))), q);
        assert!(parse(Some("{not json")).is_empty());
        assert!(parse(None).is_empty());
    }

    #[test]
    fn retries_back_off_to_fifteen_seconds() {
        assert_eq!(retry_delay_ms(0), 1000);
        assert_eq!(retry_delay_ms(2), 4000);
        assert_eq!(retry_delay_ms(9), 15_000);
    }
}
