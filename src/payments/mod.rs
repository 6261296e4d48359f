//! Payments: Stripe Checkout (through async-stripe), its signed webhooks, and the built-in
//! test-mode checkout used when no Stripe keys are set (dev only), which drives the very same
//! event handling.
pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{error::AppError, ticketing::OrderView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCheckoutInfo {
    pub session_id: String,
    pub order: OrderView,
}

#[server(prefix = "/api", endpoint = "test_checkout")]
pub async fn test_checkout(session_id: String) -> Result<TestCheckoutInfo, AppError> {
    let user = crate::accounts::session::require_user().await?;
    let state = crate::server::state()?;
    service::test_checkout(&state, user.id, &session_id)
        .await
        .map_err(crate::server::fail)
}

/// The tester's choice on the test checkout page: `pay`, `fail` or `abandon`.
#[server(prefix = "/api", endpoint = "test_checkout_act")]
pub async fn test_checkout_act(session_id: String, outcome: String) -> Result<(), AppError> {
    let user = crate::accounts::session::require_user().await?;
    let state = crate::server::state()?;
    let next = service::test_checkout_act(&state, user.id, &session_id, &outcome)
        .await
        .map_err(crate::server::fail)?;
    leptos_axum::redirect(&next);
    Ok(())
}
