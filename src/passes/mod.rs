//! Passes (ticket types): what is sold, its seats and its sale window. Ticketing sells them,
//! vouchers hold seats of them, the waiting list offers their freed seats, the back office edits
//! them (`admin::passes`).
#[cfg(feature = "ssr")]
pub mod service;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether a pass can be bought now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Availability {
    OnSale { left: i64 },
    SoldOut,
    NotYet { opens: DateTime<Utc> },
    Ended,
}
