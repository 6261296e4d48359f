//! The phones' sync, on the server (`door_sync`): it takes in the entries devices made offline (once
//! per nonce, conflicts recorded) and sends them the tickets changed since their cursor; and the
//! door's overview in `/admin/door`. (Tickets' signed codes and keys are `ticketing::codes`.)
//! Children: `entries` takes in offline entries (`take_entry`, `entry_ticket`), `delta` the
//! sync (`sync`, `door_lists`), `back_office` the admin overview (`overview`, conflicts).
use super::{
    offline::{
        DoorConflict, DoorDelta, DoorKey, DoorList, DoorPass, DoorStatus, DoorTicket, ListMark,
        OfflineEntry, MAX_ENTRIES_PER_SYNC,
    },
    DoorDevice, DoorKeyView, DoorOverview, DoorRefusal, Outcome,
};
use crate::server::prelude::*;
use crate::{
    accounts::{session::hash_token, AuthUser},
    checkin::{
        rules::{decide, Decision, Gate, History},
        Direction, Rule,
    },
    ticketing::{
        codes::{key_rows, signing_key, verify_code},
        signed::{self, Claims},
        TicketStatus,
    },
};
use chrono::Duration;
use std::collections::HashMap;

/// The device's label: one line, at most 80 characters, never empty.
fn clean_label(label: &str) -> String {
    let l: String = crate::text::one_line(label).chars().take(80).collect();
    if l.is_empty() {
        "?".into()
    } else {
        l
    }
}

/// The device clock's instant, if believable (within 30 days before and 10 minutes after ours),
/// never later than ours (an entry in the future would stretch its undo window).
fn device_time(at_ms: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let t = DateTime::<Utc>::from_timestamp_millis(at_ms)?;
    (t >= now - Duration::days(30) && t <= now + Duration::minutes(10)).then_some(t.min(now))
}

mod back_office;
mod delta;
mod entries;
pub use back_office::*;
pub use delta::*;
pub(crate) use entries::*;

#[cfg(test)]
mod tests;
