//! Invoices and credit notes: every paid order gets an invoice, every refund a credit note, both
//! numbered without gaps (a counter row bumped in the payment's own transaction), stored as data
//! and rendered to PDF on demand (`/invoices/{id}.pdf`, for the buyer and admins).
pub mod admin_page;
pub mod components;
pub mod document;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod pdf;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub use crate::invoice_settings as settings;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// "I need an invoice for a company": the form's fields, as typed (`billing[company]`…).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BillingInput {
    pub company: String,
    pub address: String,
    pub country: String,
    pub vat_number: String,
    pub reference: String,
}

/// A document of an order, as a download link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLink {
    pub id: Uuid,
    pub number: String,
    pub credit_note: bool,
    pub gross_cents: i64,
}

/// One document in the back office's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub number: String,
    pub credit_note: bool,
    /// Issue date, conference time ("2027-06-05").
    pub issued_on: String,
    pub buyer: String,
    pub company: Option<String>,
    pub order_id: Uuid,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub gross_cents: i64,
    pub currency: String,
}

/// The buyer gives, or corrects, the company one of their orders is invoiced to. Paid already:
/// the invoice is replaced by a credit note and a new invoice (never edited).
#[server(prefix = "/api", endpoint = "set_order_billing")]
pub async fn set_order_billing(order_id: Uuid, billing: BillingInput) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::set_billing(&state, user.id, order_id, &billing).await
}

/// Invoices and credit notes, newest first, searched by number, buyer or company, between two
/// dates (`YYYY-MM-DD`, inclusive, conference time). Admins only.
#[server(prefix = "/api", endpoint = "admin_invoices")]
pub async fn admin_invoices(
    query: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<InvoiceRow>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    http::list(
        &state.db,
        &state.config,
        query.as_deref().unwrap_or(""),
        from.as_deref(),
        to.as_deref(),
        500,
    )
    .await
}
