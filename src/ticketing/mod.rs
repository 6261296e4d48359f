//! Ticketing: the shop, orders (one service function per state change), seat reservations, and
//! tickets with their QR codes.
#[cfg(feature = "ssr")]
pub mod codes;
pub mod components;
#[cfg(feature = "ssr")]
pub mod payment_events;
#[cfg(feature = "ssr")]
pub mod qr;
#[cfg(feature = "ssr")]
pub mod service;
pub mod signed;
pub mod test_checkout;

use crate::{accounts::text_enum, error::AppError};
use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

text_enum!(OrderStatus {
    Draft => "DRAFT",
    PendingPayment => "PENDING_PAYMENT",
    Paid => "PAID",
    Canceled => "CANCELED",
    Refunded => "REFUNDED",
});

text_enum!(TicketStatus { Valid => "VALID", Used => "USED", Canceled => "CANCELED" });

text_enum!(PaymentStatus { Init => "INIT", Succeeded => "SUCCEEDED", Failed => "FAILED", Refunded => "REFUNDED" });

pub use crate::passes::Availability;

/// A pass as the shop shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopItem {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// The price of a seat, with the voucher when one applies.
    pub price_cents: i64,
    /// The price before the voucher, when one applies to the pass.
    pub list_price_cents: Option<i64>,
    /// A hidden pass a voucher unlocked.
    pub hidden: bool,
    pub currency: String,
    /// The first and last days the pass gives access to, in the conference's time zone.
    pub valid_days: Option<(NaiveDate, NaiveDate)>,
    pub availability: Availability,
    /// The questions asked for each of its tickets, and whether each needs its holder's name.
    pub questions: Vec<crate::attendees::Question>,
    pub names_required: bool,
}

/// One line of a cart, as the shop's form posts it (`lines[0][ticket_type_id]`, `lines[0][quantity]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub ticket_type_id: Uuid,
    pub quantity: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemView {
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: Uuid,
    pub status: OrderStatus,
    pub total_cents: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub reserved_until: Option<DateTime<Utc>>,
    pub checkout_url: Option<String>,
    pub items: Vec<OrderItemView>,
    pub ticket_count: i64,
    /// The voucher used, and what it took off.
    pub voucher_code: Option<String>,
    pub discount_cents: i64,
    /// Its invoices and credit notes, oldest first.
    pub invoices: Vec<crate::invoicing::InvoiceLink>,
    /// The company it is invoiced to, if the buyer gave one.
    pub billing: Option<crate::invoicing::BillingInput>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub type_name: String,
    pub status: TicketStatus,
    pub holder_name: Option<String>,
    pub holder_email: Option<String>,
    pub valid_days: Option<(NaiveDate, NaiveDate)>,
    pub used_at: Option<DateTime<Utc>>,
    /// Bought by the reader (else a ticket they claimed as its holder).
    pub bought: bool,
    /// The short code typed by hand at the door when a screen is broken (checked online).
    pub token: String,
    /// The QR code's text: the signed code, which the door checks even without the network
    /// (the token when the pass has no door number).
    pub code: String,
    pub qr_svg: String,
}

/// The shop as one visitor sees it: the passes (with a voucher's prices and the hidden pass it
/// unlocks), the voucher or why the code was refused, and my waiting-list places.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopView {
    pub items: Vec<ShopItem>,
    pub voucher: Option<crate::vouchers::AppliedVoucher>,
    /// Why the code typed was refused (shown under the code field).
    pub voucher_error: Option<AppError>,
    pub waits: Vec<crate::waitlist::MyWait>,
}

#[server(prefix = "/api", endpoint = "shop")]
pub async fn shop(voucher: Option<String>) -> Result<ShopView, AppError> {
    let state = crate::server::state()?;
    let user = crate::accounts::session::current_user()
        .await?
        .map(|(u, _)| u);
    let user_id = user.as_ref().map(|u| u.id);
    let code = voucher.filter(|c| !c.trim().is_empty());
    let (found, voucher_error) = match code {
        Some(code) => match crate::vouchers::service::lookup(&state, &code, user_id).await {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    let items = service::shop(&state.db, &state.config, found.as_ref()).await?;
    let voucher = match &found {
        Some(v) => Some(crate::vouchers::service::applied(&state.db, &state.config, v).await?),
        None => None,
    };
    let waits = match user_id {
        Some(id) => crate::waitlist::service::mine(&state.db, &state.config, id).await?,
        None => vec![],
    };
    Ok(ShopView {
        items,
        voucher,
        voucher_error,
        waits,
    })
}

#[server(prefix = "/api", endpoint = "checkout")]
pub async fn checkout(
    lines: Vec<CartLine>,
    voucher: Option<String>,
    billing: Option<crate::invoicing::BillingInput>,
    #[server(default)] attendees: std::collections::HashMap<
        String,
        crate::attendees::AttendeeInput,
    >,
) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    let cart = service::Cart {
        lines: &lines,
        voucher: voucher.as_deref(),
        billing: billing.as_ref(),
        attendees: &attendees,
    };
    let url = service::start_checkout(&state, &user, &cart).await?;
    leptos_axum::redirect(&url);
    Ok(())
}

#[server(prefix = "/api", endpoint = "my_orders")]
pub async fn my_orders() -> Result<Vec<OrderView>, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::orders_of(&state.db, Some(user.id), None).await
}

/// One of my orders; while it awaits payment, asks the payment provider whether it was paid (the
/// buyer may be back before the webhook).
#[server(prefix = "/api", endpoint = "my_order")]
pub async fn my_order(order_id: Uuid) -> Result<OrderView, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::confirm_if_paid(&state, user.id, order_id).await?;
    service::orders_of(&state.db, Some(user.id), Some(order_id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

#[server(prefix = "/api", endpoint = "cancel_order")]
pub async fn cancel_order(order_id: Uuid) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::cancel_by_buyer(&state, user.id, order_id).await
}

#[server(prefix = "/api", endpoint = "my_tickets")]
pub async fn my_tickets() -> Result<Vec<TicketView>, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::tickets_of(&state, user.id, None).await
}

/// Who a ticket is named for, as the ticket's form sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewHolder {
    pub ticket_id: Uuid,
    pub holder_name: String,
    pub holder_email: String,
}

/// Names who holds one of the caller's tickets (the holder is mailed). Audited.
#[server(prefix = "/api", endpoint = "set_ticket_holder")]
pub async fn set_ticket_holder(#[server(flatten)] holder: NewHolder) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::set_holder(&state, user.id, &holder).await
}

/// Transfers a ticket to someone else (its buyer or the account that claimed it): new code, the
/// new holder mailed. Audited.
#[server(prefix = "/api", endpoint = "transfer_ticket")]
pub async fn transfer_ticket(#[server(flatten)] holder: NewHolder) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::transfer(&state, user.id, &holder).await
}

/// Claims the ticket of a holder's mail into the caller's account (the link works once).
#[server(prefix = "/api", endpoint = "claim_ticket")]
pub async fn claim_ticket(token: String) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::claim(&state.db, user.id, &token).await?;
    leptos_axum::redirect("/me/tickets?claimed=1");
    Ok(())
}

/// Full refund of a paid order (admins only, audited).
#[server(prefix = "/api", endpoint = "admin_refund_order")]
pub async fn admin_refund_order(order_id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::refund(&state, admin.id, order_id).await
}

/// Refunds one ticket (admins only, audited): `amount` typed ("20", "19,50"; empty: what is left
/// of its price), `cancel` ticked to cancel it too (its seat back on sale, its code refused).
#[server(prefix = "/api", endpoint = "admin_refund_ticket")]
pub async fn admin_refund_ticket(
    ticket_id: Uuid,
    #[server(default)] amount: Option<String>,
    #[server(default)] cancel: Option<String>,
) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    let refund = service::TicketRefund {
        ticket_id,
        amount: service::parse_amount(amount.as_deref().unwrap_or(""))?,
        cancel: cancel.is_some_and(|c| !c.is_empty() && c != "false"),
    };
    service::refund_ticket(&state, admin.id, &refund).await
}

/// The name a ticket goes by, as SQL over tickets `t` and the buyer's users row and profile
/// (`u`, `p` unless named): the holder's name, else the buyer's, else the buyer's email. Every
/// page that names a ticket's holder (attendees, CSV, order detail, the door) uses it.
#[macro_export]
macro_rules! ticket_holder_sql {
    () => {
        $crate::ticket_holder_sql!(p, u)
    };
    ($p:ident, $u:ident) => {
        concat!(
            "COALESCE(t.holder_name, ",
            $crate::person_name_sql!($p, $u),
            ")"
        )
    };
}
