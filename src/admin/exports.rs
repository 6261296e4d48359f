//! Who is coming, and what was sold: the attendee list (`/admin/attendees`, with check-in status)
//! and the CSV exports an organiser opens in LibreOffice or Excel, streamed row by row from the
//! database (`/admin/export/attendees.csv`, `/admin/export/orders.csv`: each order with the voucher
//! code it used and the discount).
use crate::{error::AppError, ticketing::TicketStatus};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One ticket holder as the back office lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendeeRow {
    pub ticket_id: Uuid,
    pub holder: String,
    pub email: String,
    pub buyer_email: String,
    pub pass: String,
    pub status: TicketStatus,
    /// When they came in, in the conference's time zone.
    pub checked_in_at: Option<String>,
    /// Their answers to the questions, (question, answer), in the reader's language.
    pub answers: Vec<(String, String)>,
}

/// Ticket holders, searched by name or email (the first 500).
#[server(prefix = "/api", endpoint = "admin_attendees")]
pub async fn admin_attendees(query: Option<String>) -> Result<Vec<AttendeeRow>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    let locale = crate::i18n::initial_locale();
    service::attendees(
        &state.db,
        &state.config,
        query.as_deref().unwrap_or(""),
        locale,
    )
    .await
}

#[cfg(feature = "ssr")]
pub mod service;
