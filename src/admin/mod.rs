//! The back office: a page per file (`*_page.rs`, `dashboard/`), their server functions and
//! services (`talks`, `passes`, `orders`, `logs`, `exports`; people's roles and status here and in
//! `service.rs`) and the widgets they share (`ui.rs`). Every server function here starts with the
//! role guard (`admin_state`), so a forbidden call is refused by the server.
pub mod attendees_page;
pub mod audit_page;
pub mod dashboard;
pub mod exports;
pub mod logs;
pub mod mail_page;
pub mod orders;
pub mod orders_page;
pub mod passes;
pub mod passes_page;
pub mod programme_page;
#[cfg(feature = "ssr")]
pub mod service;
pub mod talks;
pub mod ui;
pub mod users_page;

use crate::{
    accounts::{Role, UserStatus},
    error::AppError,
};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Role,
    pub status: UserStatus,
    pub verified: bool,
    pub created_at: DateTime<Utc>,
}

/// An order as the back office lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub id: Uuid,
    pub buyer_email: String,
    pub status: crate::ticketing::OrderStatus,
    pub total_cents: i64,
    pub currency: String,
    pub tickets: i64,
    pub created_at: DateTime<Utc>,
    /// The voucher the order used, and what it took off (integer cents).
    pub voucher_code: Option<String>,
    pub discount_cents: i64,
}

/// Orders, newest first, searched by buyer email, name or order id, filtered by status and by the
/// day they were placed (`from`, `to`: `YYYY-MM-DD`, inclusive, in the conference's zone).
#[server(prefix = "/api", endpoint = "admin_orders")]
pub async fn admin_orders(
    query: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Vec<OrderRow>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    let from = crate::dates::optional_day("from", from.as_deref())?;
    let to = crate::dates::optional_day("to", to.as_deref())?;
    service::orders(
        &state.db,
        &state.config,
        service::OrderFilter {
            query: query.as_deref().unwrap_or(""),
            status: status.as_deref().filter(|s| !s.is_empty()),
            from,
            to,
        },
    )
    .await
}

#[server(prefix = "/api", endpoint = "admin_users")]
pub async fn admin_users(query: Option<String>) -> Result<Vec<UserRow>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::users(&state.db, query.as_deref().unwrap_or("")).await
}

#[server(prefix = "/api", endpoint = "admin_set_role")]
pub async fn admin_set_role(user_id: Uuid, role: String) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::set_role(&state.db, admin.id, user_id, &role).await
}

#[server(prefix = "/api", endpoint = "admin_set_status")]
pub async fn admin_set_status(user_id: Uuid, status: String) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::set_status(&state.db, admin.id, user_id, &status).await
}
