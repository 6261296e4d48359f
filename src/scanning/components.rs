//! `/scan`: the door. The camera decodes tickets in the browser; each answer takes the whole screen
//! in its own colour, with its sound and vibration. Scans the server has not confirmed stay queued
//! (and survive a reload) and are retried; they are never shown as OK.
//! Children: `state` (the `Door` and its screens), `scans` (sending and showing scans), `page`
//! (`ScanPage`, `Scanner`), `answers` (result screen, undo, history), `offline_status` (offline
//! banner, device name, conflicts), `manual` (pending list, typed token, search by name),
//! `counters` (list picker, counters).
use super::{
    offline::{self, DoorChoice, DoorData, DoorList, LocalEntry, OfflineEntry, Presented},
    queue::{self, PendingScan},
    store, HolderTicket, Outcome, ScanAnswer,
};
use crate::checkin::{
    rules::{self, Mark},
    Direction, Rule,
};
use crate::{
    accounts::{components::use_auth, Role},
    error::AppError,
    i18n::{page_title, use_i18n},
    ticketing::TicketStatus,
    ui::{ActionErrorNotice, ErrorNotice, Loading},
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use std::time::Duration;
use uuid::Uuid;

/// The same code seen again within this time is the same person still in front of the camera.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const DEBOUNCE_MS: f64 = 3000.0;
/// How long an answer stays full screen (a tap dismisses it sooner).
const OK_SCREEN_MS: u64 = 2500;
const REFUSAL_SCREEN_MS: u64 = 5000;
/// Counters and the retry queue are looked at this often.
const POLL: Duration = Duration::from_secs(5);
/// Entries made offline are sent this often (and at once when the network comes back); the door
/// data is refreshed at least every minute.
const SYNC: Duration = Duration::from_secs(15);
const REFRESH_MS: f64 = 60_000.0;

fn retryable(e: &AppError) -> bool {
    matches!(e, AppError::ServerFn(_) | AppError::Internal)
}

/// "10/06 09:12" in the device's time zone.
fn local_short(ms: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        format!(
            "{:02}/{:02} {:02}:{:02}",
            d.get_date(),
            d.get_month() + 1,
            d.get_hours(),
            d.get_minutes()
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%d/%m %H:%M").to_string())
            .unwrap_or_default()
    }
}

/// "10:42" in the device's time zone.
fn local_hm(ms: f64) -> String {
    local_short(ms as i64)
        .split_once(' ')
        .map(|(_, hm)| hm.to_string())
        .unwrap_or_default()
}

mod answers;
mod counters;
mod manual;
mod offline_status;
mod page;
mod scans;
mod state;
pub(crate) use answers::*;
pub(crate) use counters::*;
pub(crate) use manual::*;
pub(crate) use offline_status::*;
pub use page::*;
pub(crate) use state::*;
