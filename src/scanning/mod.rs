//! Door scanning: staff scan QR tickets with the phone camera; a ticket gets in once.
//! `decode` reads QR codes from camera frames (in the browser), `service` redeems tickets in one
//! atomic statement and audits every attempt, `queue` keeps unconfirmed scans across reloads,
//! `components` is the `/scan` page.
#[cfg(feature = "hydrate")]
pub mod camera;
pub mod components;
pub mod decode;
pub mod queue;
#[cfg(feature = "ssr")]
pub mod service;

use crate::error::AppError;
use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The answer the door gets, each with its own colour, sound and vibration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    AlreadyUsed,
    Canceled,
    Refunded,
    NotValidToday,
    Unknown,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Ok,
        Outcome::AlreadyUsed,
        Outcome::Canceled,
        Outcome::Refunded,
        Outcome::NotValidToday,
        Outcome::Unknown,
    ];

    /// The code written to the audit log and to the page (`data-outcome`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::AlreadyUsed => "ALREADY_USED",
            Outcome::Canceled => "CANCELED",
            Outcome::Refunded => "REFUNDED",
            Outcome::NotValidToday => "NOT_VALID_TODAY",
            Outcome::Unknown => "UNKNOWN",
        }
    }

    /// The translation key of the big word on the result screen.
    pub fn title_key(self) -> &'static str {
        match self {
            Outcome::Ok => "scan.outcome.ok",
            Outcome::AlreadyUsed => "scan.outcome.already_used",
            Outcome::Canceled => "scan.outcome.canceled",
            Outcome::Refunded => "scan.outcome.refunded",
            Outcome::NotValidToday => "scan.outcome.not_valid_today",
            Outcome::Unknown => "scan.outcome.unknown",
        }
    }
}

/// What the server says of one scan attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanAnswer {
    /// The scanner's id for this attempt (a retried attempt keeps its id).
    pub scan_id: Uuid,
    pub outcome: Outcome,
    pub ticket_id: Option<Uuid>,
    /// Who holds the ticket (the named holder, else the buyer).
    pub holder: Option<String>,
    pub pass: Option<String>,
    /// When it was let in, and by whom (ALREADY USED).
    pub used_at: Option<DateTime<Utc>>,
    /// The same instant in the conference's time zone, as the door reads it ("10/06 09:12").
    pub used_at_local: Option<String>,
    pub used_by: Option<String>,
    /// The days the pass is valid (NOT VALID TODAY).
    pub valid_days: Option<(NaiveDate, NaiveDate)>,
    /// Until when the caller may undo this entry (OK).
    pub undo_until: Option<DateTime<Utc>>,
    /// True when this very attempt had already let the ticket in (a retry whose answer was lost):
    /// the person was let in once.
    pub repeated: bool,
}

/// Checked in / expected for one pass type (expected: tickets not canceled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassCount {
    pub pass: String,
    pub checked_in: i64,
    pub expected: i64,
}

/// A ticket found by the door's search, to let in by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderTicket {
    pub ticket_id: Uuid,
    pub holder: String,
    pub email: String,
    pub pass: String,
    pub status: crate::ticketing::TicketStatus,
    pub used_at_local: Option<String>,
}

#[cfg(feature = "ssr")]
async fn require_door() -> Result<crate::accounts::AuthUser, AppError> {
    use crate::accounts::Role;
    crate::accounts::session::require_role(&[Role::StaffScan, Role::Admin]).await
}

/// Redeems the ticket a QR code (or a typed token) stands for.
#[server(prefix = "/api", endpoint = "scan_redeem")]
pub async fn scan_redeem(token: String, scan_id: Uuid) -> Result<ScanAnswer, AppError> {
    let staff = require_door().await?;
    let state = crate::server::state()?;
    let token = token.trim();
    if token.is_empty() {
        return Err(crate::server::fail(AppError::invalid(
            "token",
            "scan.error.token_empty",
        )));
    }
    service::redeem(
        &state.db,
        &state.config,
        &staff,
        service::Key::Token(token),
        scan_id,
        crate::server::now(),
    )
    .await
    .map_err(crate::server::fail)
}

/// Redeems a ticket found by name or email (for a phone that cannot show its code); audited as manual.
#[server(prefix = "/api", endpoint = "scan_redeem_ticket")]
pub async fn scan_redeem_ticket(ticket_id: Uuid, scan_id: Uuid) -> Result<ScanAnswer, AppError> {
    let staff = require_door().await?;
    let state = crate::server::state()?;
    service::redeem(
        &state.db,
        &state.config,
        &staff,
        service::Key::Ticket(ticket_id),
        scan_id,
        crate::server::now(),
    )
    .await
    .map_err(crate::server::fail)
}

/// Undoes a mistaken entry: the staff member who scanned it within `SCAN_UNDO_SECONDS`, an admin any time.
#[server(prefix = "/api", endpoint = "scan_undo")]
pub async fn scan_undo(ticket_id: Uuid) -> Result<(), AppError> {
    let staff = require_door().await?;
    let state = crate::server::state()?;
    service::undo(
        &state.db,
        &state.config,
        &staff,
        ticket_id,
        crate::server::now(),
    )
    .await
    .map_err(crate::server::fail)
}

/// Checked in / expected, per pass type.
#[server(prefix = "/api", endpoint = "scan_counters")]
pub async fn scan_counters() -> Result<Vec<PassCount>, AppError> {
    require_door().await?;
    let state = crate::server::state()?;
    service::counters(&state.db).await
}

/// Tickets whose holder or buyer matches a name or email (audited: the door looked people up).
#[server(prefix = "/api", endpoint = "scan_search")]
pub async fn scan_search(query: String) -> Result<Vec<HolderTicket>, AppError> {
    let staff = require_door().await?;
    let state = crate::server::state()?;
    service::search(&state.db, &state.config, &staff, &query)
        .await
        .map_err(crate::server::fail)
}
