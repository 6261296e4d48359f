//! Webhooks out: admins register addresses for `order.paid`, `order.refunded`,
//! `ticket.checked_in`, `ticket.checkin_undone` and `talk.changed`; each event is queued in the
//! transaction of the change (`service::listeners`, then `Listeners::emit`: a durable outbox),
//! sent signed (HMAC-SHA256 over the timestamp and the body, as Stripe does) by whichever instance
//! takes it first, retried with backoff, visible with its attempts and replayable in `/admin/api`
//! (`components`).
pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The events a webhook may listen to.
pub const EVENTS: [&str; 5] = [
    "order.paid",
    "order.refunded",
    "ticket.checked_in",
    "ticket.checkin_undone",
    "talk.changed",
];

/// A registered address, as the back office lists it (with its secret, to check signatures).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_at: String,
    pub active: bool,
}

/// One try of a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub at: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// One event sent (or to send) to one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub url: String,
    pub event_type: String,
    /// PENDING, DELIVERED or FAILED.
    pub status: String,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<AttemptView>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksAdmin {
    pub hooks: Vec<WebhookView>,
    /// The last deliveries, newest first.
    pub deliveries: Vec<DeliveryView>,
}

/// The webhooks and their last deliveries (admins).
#[server(prefix = "/api", endpoint = "admin_webhooks")]
pub async fn admin_webhooks() -> Result<WebhooksAdmin, AppError> {
    crate::accounts::session::admin_read(service::overview).await
}

/// Registers an address for some events (`events`: their names, separated by commas); the answer
/// holds its signing secret.
#[server(prefix = "/api", endpoint = "admin_webhook_create")]
pub async fn admin_webhook_create(url: String, events: String) -> Result<WebhookView, AppError> {
    use crate::accounts::session::admin_write;
    admin_write(async |db, config, admin| service::create(db, config, admin, &url, &events).await)
        .await
}

/// Stops sending to an address (its pending deliveries are given up).
#[server(prefix = "/api", endpoint = "admin_webhook_disable")]
pub async fn admin_webhook_disable(id: Uuid) -> Result<(), AppError> {
    use crate::accounts::session::admin_write;
    admin_write(async |db, _, admin| service::disable(db, admin, id).await).await
}

/// Sends a delivery again (the same event, the same id: receivers skip what they have seen).
#[server(prefix = "/api", endpoint = "admin_webhook_replay")]
pub async fn admin_webhook_replay(delivery_id: Uuid) -> Result<(), AppError> {
    use crate::accounts::session::admin_write;
    admin_write(async |db, _, admin| service::replay(db, admin, delivery_id).await).await
}
