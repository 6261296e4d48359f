//! The waiting list: once a pass is sold out, people join its list; seats that free up are offered
//! in order of joining, each offer a personal one-seat voucher that holds the seat for
//! `WAITLIST_OFFER_HOURS`. While anyone waits on a pass, its freed seats go to the list, not to
//! the public.
pub mod admin_page;
pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{accounts::text_enum, error::AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

text_enum!(WaitStatus { Waiting => "WAITING", Offered => "OFFERED", Expired => "EXPIRED" });

/// My place on one pass's list, as the shop shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyWait {
    pub ticket_type_id: Uuid,
    pub status: WaitStatus,
    /// 1 for the next person served (while waiting).
    pub position: i64,
    /// While offered: the code of my offer and until when it holds my seat.
    pub offer_code: Option<String>,
    /// "26/11 10:42", conference time.
    pub offered_until: Option<String>,
}

/// One person on a pass's list, as the back office shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub status: WaitStatus,
    /// "26/11 10:42", conference time.
    pub joined_at: String,
    pub offered_until: Option<String>,
}

/// A pass with its list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassList {
    pub ticket_type_id: Uuid,
    pub name: String,
    pub auto: bool,
    /// Seats nobody reserved, bought or holds: what can be offered to the list now.
    pub free: i64,
    pub entries: Vec<WaitRow>,
}

#[server(prefix = "/api", endpoint = "join_waitlist")]
pub async fn join_waitlist(ticket_type_id: Uuid) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::join(&state, user.id, user.verified, ticket_type_id).await
}

/// Leaves a pass's list (an offer not taken is given up: its seat goes to the next person).
#[server(prefix = "/api", endpoint = "leave_waitlist")]
pub async fn leave_waitlist(ticket_type_id: Uuid) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::leave(&state, user.id, ticket_type_id).await
}

#[server(prefix = "/api", endpoint = "admin_waitlists")]
pub async fn admin_waitlists() -> Result<Vec<PassList>, AppError> {
    crate::accounts::session::admin_read(service::lists).await
}

/// Moves a waiting person one place up. Audited `WAITLIST_MOVE_UP`.
#[server(prefix = "/api", endpoint = "admin_waitlist_move_up")]
pub async fn admin_waitlist_move_up(entry_id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::move_up(&state.db, admin.id, entry_id).await
}

/// Offers a free seat to this waiting person now (whatever their place). Audited `WAITLIST_OFFER`.
#[server(prefix = "/api", endpoint = "admin_waitlist_offer")]
pub async fn admin_waitlist_offer(entry_id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::offer_by_hand(&state, admin.id, entry_id).await
}

/// Turns a pass's automatic offers on or off. Audited `WAITLIST_AUTO`.
#[server(prefix = "/api", endpoint = "admin_waitlist_auto")]
pub async fn admin_waitlist_auto(ticket_type_id: Uuid, auto: bool) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::set_auto(&state, admin.id, ticket_type_id, auto).await
}
