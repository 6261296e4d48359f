//! Door scanning: staff scan QR tickets with the phone camera; a ticket gets in on each of its days.
//! `decode` reads QR codes from camera frames (in the browser), `service` redeems tickets in one
//! atomic statement and audits every attempt, `queue` keeps unconfirmed scans across reloads,
//! `components` is the `/scan` page. Offline: `signed` codes verified on the device, `offline` the
//! device's data and answers, `store` keeps them in IndexedDB, `sync` (server) the phones' sync,
//! `shell` the installable page (manifest, service worker), `admin_page` is `/admin/door`.
pub mod admin_page;
#[cfg(feature = "hydrate")]
pub mod camera;
pub mod components;
pub mod decode;
pub mod offline;
pub mod queue;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod shell;
#[cfg(feature = "ssr")]
pub mod sync;
pub use crate::ticketing::signed;
pub mod store;

use crate::error::AppError;
use chrono::{DateTime, NaiveDate, Utc};
use leptos::{prelude::*, server_fn::codec::Json};
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
    /// The ticket's pass is not on the steward's list (or the workshop's list has no seat for it).
    NotOnList,
    /// An exit, on an in/out list.
    Exit,
    Unknown,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Ok,
        Outcome::AlreadyUsed,
        Outcome::Canceled,
        Outcome::Refunded,
        Outcome::NotValidToday,
        Outcome::NotOnList,
        Outcome::Exit,
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
            Outcome::NotOnList => "NOT_ON_LIST",
            Outcome::Exit => "EXIT",
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
            Outcome::NotOnList => "scan.outcome.not_on_list",
            Outcome::Exit => "scan.outcome.exit",
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
    /// Answered by the device on its own (no network); sent to the server later.
    #[serde(default)]
    pub offline: bool,
    /// The check-in list it was scanned on.
    #[serde(default)]
    pub list: Option<String>,
    /// The conference day it counts for (`YYYY-MM-DD`).
    #[serde(default)]
    pub day: Option<String>,
}

pub use crate::checkin::PassCount;

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

/// A device at the door, as the back office lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorDevice {
    pub id: Uuid,
    pub label: String,
    pub staff: Option<String>,
    pub first_seen: String,
    pub last_sync: String,
    pub entries: i64,
    pub conflicts: i64,
}

/// A signing key, as the back office lists it (never its private part).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorKeyView {
    pub id: i64,
    /// The public key's first 8 bytes, hex.
    pub fingerprint: String,
    pub created: String,
    pub revoked: Option<String>,
    /// The key that signs tickets now.
    pub signing: bool,
}

/// An entry a device let in without the network that the server would have refused: a code
/// replaced by a reissue, a canceled or refunded ticket, a pass not valid at that time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorRefusal {
    pub ticket_id: Uuid,
    pub pass: String,
    pub at_local: String,
    pub by: String,
    /// REVOKED, CANCELED or NOT_VALID.
    pub outcome: String,
}

/// `/admin/door`: double entries, entries refused afterwards, devices, keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorOverview {
    pub conflicts: Vec<offline::DoorConflict>,
    pub refused: Vec<DoorRefusal>,
    pub devices: Vec<DoorDevice>,
    pub keys: Vec<DoorKeyView>,
}

/// The list and direction a scan names (a direction other than IN/OUT is a 422 on its field).
#[cfg(feature = "ssr")]
pub fn door_at(list: Option<Uuid>, direction: Option<&str>) -> Result<service::At, AppError> {
    let direction = match direction.map(str::trim) {
        None | Some("") => crate::checkin::Direction::In,
        Some(d) => crate::checkin::Direction::try_from(d.to_string())
            .map_err(|_| AppError::invalid("direction", "scan.error.direction"))?,
    };
    Ok(service::At { list, direction })
}

#[cfg(feature = "ssr")]
async fn require_door() -> Result<crate::accounts::AuthUser, AppError> {
    use crate::accounts::Role;
    crate::accounts::session::require_role(&[Role::StaffScan, Role::Admin]).await
}

/// Where and how a ticket is let in: the phone's scan id (a retried scan is answered once), the
/// check-in list (none: the default one), and `OUT` for an exit on an in/out list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanPlace {
    pub scan_id: Uuid,
    pub list_id: Option<Uuid>,
    pub direction: Option<String>,
}

/// Redeems the ticket a QR code (or a typed token) stands for.
#[server(prefix = "/api", endpoint = "scan_redeem")]
pub async fn scan_redeem(
    token: String,
    #[server(flatten)] place: ScanPlace,
) -> Result<ScanAnswer, AppError> {
    redeem(service::Key::Token(token.trim()), place).await
}

/// Redeems a ticket found by name or email (for a phone that cannot show its code); audited as manual.
#[server(prefix = "/api", endpoint = "scan_redeem_ticket")]
pub async fn scan_redeem_ticket(
    ticket_id: Uuid,
    #[server(flatten)] place: ScanPlace,
) -> Result<ScanAnswer, AppError> {
    redeem(service::Key::Ticket(ticket_id), place).await
}

/// Lets a ticket in (or out) at the list and in the direction the phone is set to: the one way both
/// the scanned code and the ticket found by name go.
#[cfg(feature = "ssr")]
async fn redeem(key: service::Key<'_>, place: ScanPlace) -> Result<ScanAnswer, AppError> {
    let staff = require_door().await?;
    if matches!(key, service::Key::Token("")) {
        return Err(AppError::invalid("token", "scan.error.token_empty"));
    }
    let state = crate::server::state()?;
    let door = door_at(place.list_id, place.direction.as_deref())?;
    let (scan_id, now) = (place.scan_id, crate::server::state::now());
    service::redeem_at(&state.db, &state.config, &staff, door, key, scan_id, now).await
}

/// Undoes a mistaken entry: the staff member who scanned it within `SCAN_UNDO_SECONDS`, an admin any time.
#[server(prefix = "/api", endpoint = "scan_undo")]
pub async fn scan_undo(ticket_id: Uuid, list_id: Option<Uuid>) -> Result<(), AppError> {
    let staff = require_door().await?;
    let state = crate::server::state()?;
    service::undo_on(
        &state.db,
        &state.config,
        &staff,
        ticket_id,
        list_id,
        crate::server::state::now(),
    )
    .await
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
    service::search(&state.db, &state.config, &staff, &query).await
}

/// A door device's sync: sends the entries it made offline (each taken once, by nonce) and gets
/// the keys, passes, the tickets changed since `cursor` (all when 0) and its double entries.
#[server(prefix = "/api", endpoint = "door_sync", input = Json)]
pub async fn door_sync(
    device_id: Uuid,
    label: String,
    cursor: i64,
    entries: Vec<offline::OfflineEntry>,
) -> Result<offline::DoorDelta, AppError> {
    let staff = require_door().await?;
    let state = crate::server::state()?;
    let req = sync::SyncRequest {
        device_id,
        label: &label,
        cursor,
        entries: &entries,
    };
    sync::sync(
        &state.db,
        &state.config,
        &staff,
        req,
        crate::server::state::now(),
    )
    .await
}

/// The door seen from the back office. Admins only.
#[server(prefix = "/api", endpoint = "admin_door")]
pub async fn admin_door() -> Result<DoorOverview, AppError> {
    crate::accounts::session::admin_read(sync::overview).await
}

/// A new key signs tickets from now on (the old ones still verify). Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_door_rotate_key")]
pub async fn admin_door_rotate_key() -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    crate::ticketing::codes::rotate(&state.db, &state.config, &admin)
        .await
        .map(|_| ())
}

/// Codes signed with this key are refused from now on (a leaked key). Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_door_revoke_key")]
pub async fn admin_door_revoke_key(key_id: i64) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    crate::ticketing::codes::revoke(&state.db, &admin, key_id).await
}
