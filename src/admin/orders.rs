//! An order as the back office opens it: its items, payments and tickets; the tickets mail sent
//! again; a ticket's QR code reissued (the old one stops working at the door). Audited
//! `RESEND_TICKETS`, `REISSUE_TICKET`.
use crate::{
    error::AppError,
    ticketing::{OrderView, TicketStatus},
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    pub status: String,
    pub provider: String,
    pub checkout_session: Option<String>,
    pub payment_intent: Option<String>,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLine {
    pub id: Uuid,
    pub holder: String,
    pub pass: String,
    pub status: TicketStatus,
    pub checked_in_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub order: OrderView,
    pub buyer_email: String,
    pub payments: Vec<PaymentLine>,
    pub tickets: Vec<TicketLine>,
}

#[server(prefix = "/api", endpoint = "admin_order_detail")]
pub async fn admin_order_detail(order_id: Uuid) -> Result<OrderDetail, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::detail(&state.db, &state.config, order_id).await
}

#[server(prefix = "/api", endpoint = "admin_resend_tickets")]
pub async fn admin_resend_tickets(order_id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::resend(&state.db, &state.config, admin.id, order_id).await?;
    state.mailer.wake();
    Ok(())
}

#[server(prefix = "/api", endpoint = "admin_reissue_ticket")]
pub async fn admin_reissue_ticket(ticket_id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::reissue(&state.db, &state.config, admin.id, ticket_id).await
}

#[cfg(feature = "ssr")]
pub mod service;
