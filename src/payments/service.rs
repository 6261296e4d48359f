//! The payment provider (Stripe, or the test mode): its payment page, confirmation, expiry and
//! refunds, and the webhook's signature check. What an event does to an order is ticketing's
//! (`ticketing::payment_events`): this module knows payments, not orders.
use crate::server::prelude::*;
use crate::{accounts::AuthUser, server::state::Gateway};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

fn provider_error(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "payment provider error");
    AppError::invalid("payment", "payments.error.provider")
}

/// A payment page: the provider's session and where the buyer pays.
pub struct CheckoutPage {
    pub session_id: String,
    pub url: String,
}

/// In test mode, a fresh page of the built-in test checkout; `None` with Stripe.
pub fn test_checkout_page(state: &AppState) -> Option<CheckoutPage> {
    match &state.gateway {
        Gateway::Stripe(_) => None,
        Gateway::TestMode => {
            let session_id = format!("cs_test_tessera_{}", Uuid::new_v4().simple());
            let url = format!("{}/checkout/test/{session_id}", state.config.base_url);
            Some(CheckoutPage { session_id, url })
        }
    }
}

const INSERT_PAYMENT: &str = "INSERT INTO payments (id, order_id, provider, status, stripe_checkout_session_id, checkout_url, created_at, updated_at) VALUES ($1, $2, $3, 'INIT', $4, $5, $6, $6)";

/// Records the test checkout's page (the payment, INIT) in the order's own transaction.
pub async fn record_checkout_page(
    tx: &mut Tx,
    order_id: Uuid,
    page: &CheckoutPage,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(INSERT_PAYMENT)
        .bind(Uuid::new_v4()).bind(order_id).bind(Gateway::TestMode.provider()).bind(&page.session_id).bind(&page.url).bind(now())
        .execute(c).await.map(|_| ()))
}

/// What the provider's payment page shows of an order.
pub struct CheckoutOrder {
    pub id: Uuid,
    pub reserved_until: Option<DateTime<Utc>>,
    pub currency: String,
    /// (name, quantity, unit price in cents) per line.
    pub lines: Vec<(String, u64, i64)>,
}

/// Opens Stripe's payment page for a pending order and records the payment (INIT); returns the
/// page's URL.
pub async fn create_checkout(
    state: &AppState,
    user: &AuthUser,
    order: &CheckoutOrder,
) -> Result<String, AppError> {
    let Gateway::Stripe(client) = &state.gateway else {
        return Err(provider_error(
            "the test mode records its page with the order",
        ));
    };
    let order_id = order.id;
    let base = &state.config.base_url;
    let success_url = format!("{base}/orders/{order_id}/confirmation");
    let cancel_url = format!("{base}/me/orders");
    // Stripe wants 30 minutes at least; a payment after the reservation ended is handled anyway
    // (honoured if the seats are still free, refunded otherwise).
    let expires_at = order
        .reserved_until
        .unwrap_or_else(now)
        .max(now() + chrono::Duration::minutes(31));
    let (session_id, url) = {
        use stripe::{
            CheckoutSession, CheckoutSessionMode, CreateCheckoutSession,
            CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
            CreateCheckoutSessionLineItemsPriceDataProductData, Currency, RequestStrategy,
        };
        let currency: Currency = order.currency.parse().map_err(provider_error)?;
        let order_ref = order_id.to_string();
        let mut params = CreateCheckoutSession::new();
        params.mode = Some(CheckoutSessionMode::Payment);
        params.success_url = Some(&success_url);
        params.cancel_url = Some(&cancel_url);
        params.client_reference_id = Some(&order_ref);
        params.customer_email = Some(&user.email);
        params.expires_at = Some(expires_at.timestamp());
        params.metadata = Some(
            [("order_id".to_string(), order_ref.clone())]
                .into_iter()
                .collect(),
        );
        params.line_items = Some(
            order
                .lines
                .iter()
                .map(
                    |(name, quantity, unit_price_cents)| CreateCheckoutSessionLineItems {
                        quantity: Some(*quantity),
                        price_data: Some(CreateCheckoutSessionLineItemsPriceData {
                            currency,
                            unit_amount: Some(*unit_price_cents),
                            product_data: Some(
                                CreateCheckoutSessionLineItemsPriceDataProductData {
                                    name: name.clone(),
                                    ..Default::default()
                                },
                            ),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )
                .collect(),
        );
        let client = client
            .clone()
            .with_strategy(RequestStrategy::Idempotent(format!("checkout-{order_id}")));
        let session = CheckoutSession::create(&client, params)
            .await
            .map_err(provider_error)?;
        let url = session
            .url
            .clone()
            .ok_or_else(|| provider_error("no url in the checkout session"))?;
        (session.id.to_string(), url)
    };
    crate::db_write!(&state.db, pool => sqlx::query(INSERT_PAYMENT)
        .bind(Uuid::new_v4()).bind(order_id).bind(state.gateway.provider()).bind(&session_id).bind(&url).bind(now())
        .execute(pool).await.map(|_| ()))?;
    Ok(url)
}

async fn session_of(state: &AppState, order_id: Uuid) -> Result<Option<String>, AppError> {
    let row: Option<(Option<String>,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT stripe_checkout_session_id FROM payments WHERE order_id = $1 ORDER BY created_at DESC LIMIT 1")
        .bind(order_id).fetch_optional(pool).await)?;
    Ok(row.and_then(|r| r.0))
}

/// The buyer is back before the webhook: asks Stripe about the session; if it is paid, returns the
/// event the webhook would bring (its handler is idempotent).
pub async fn confirm_with_provider(
    state: &AppState,
    order_id: Uuid,
) -> Result<Option<Event>, AppError> {
    let Gateway::Stripe(client) = &state.gateway else {
        return Ok(None);
    };
    let Some(session_id) = session_of(state, order_id).await? else {
        return Ok(None);
    };
    let id: stripe::CheckoutSessionId = session_id.parse().map_err(provider_error)?;
    let session = stripe::CheckoutSession::retrieve(client, &id, &[])
        .await
        .map_err(provider_error)?;
    if session.payment_status == stripe::CheckoutSessionPaymentStatus::Paid {
        let pi = session.payment_intent.as_ref().map(|p| p.id().to_string());
        let event = Event {
            id: format!("confirm:{session_id}"),
            kind: "checkout.session.completed".into(),
            object: json!({ "id": session_id, "payment_status": "paid", "payment_intent": pi }),
        };
        return Ok(Some(event));
    }
    Ok(None)
}

/// Closes the provider's payment page of a canceled order; failures are only logged (the page
/// expires by itself, and a late payment is refunded by the event handler).
pub async fn expire_session_quietly(state: &AppState, order_id: Uuid) {
    let Gateway::Stripe(client) = &state.gateway else {
        return;
    };
    if let Ok(Some(session_id)) = session_of(state, order_id).await {
        if let Ok(id) = session_id.parse::<stripe::CheckoutSessionId>() {
            if let Err(e) = stripe::CheckoutSession::expire(client, &id).await {
                tracing::info!(%order_id, error = %e, "could not expire the checkout session");
            }
        }
    }
}

/// Refunds an order's payment in full at the provider; returns the refund's id.
pub async fn refund_with_provider(state: &AppState, order_id: Uuid) -> Result<String, AppError> {
    let row: Option<(Option<String>,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT stripe_payment_intent_id FROM payments WHERE order_id = $1 AND status = 'SUCCEEDED' ORDER BY created_at DESC LIMIT 1")
        .bind(order_id).fetch_optional(pool).await)?;
    refund_intent(state, row.and_then(|r| r.0).as_deref(), None).await
}

/// Refunds a payment at the provider: `amount` cents of it, or all of it when `None`.
pub async fn refund_intent(
    state: &AppState,
    payment_intent: Option<&str>,
    amount: Option<i64>,
) -> Result<String, AppError> {
    match &state.gateway {
        Gateway::Stripe(client) => {
            let pi: stripe::PaymentIntentId = payment_intent
                .ok_or_else(|| provider_error("no payment intent to refund"))?
                .parse()
                .map_err(provider_error)?;
            let mut params = stripe::CreateRefund::new();
            params.payment_intent = Some(pi);
            params.amount = amount;
            let refund = stripe::Refund::create(client, params)
                .await
                .map_err(provider_error)?;
            Ok(refund.id.to_string())
        }
        Gateway::TestMode => Ok(format!("re_test_{}", Uuid::new_v4().simple())),
    }
}

/// A provider event, reduced to what Tessera reads.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub object: Value,
}

impl Event {
    pub fn parse(body: &[u8]) -> Option<Event> {
        let v: Value = serde_json::from_slice(body).ok()?;
        Some(Event {
            id: v["id"].as_str()?.to_string(),
            kind: v["type"].as_str()?.to_string(),
            object: v["data"]["object"].clone(),
        })
    }
}

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`): HMAC-SHA256 of `t.body` under any of
/// the secrets (rotation), with the timestamp within `tolerance` seconds of `now`.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secrets: &[String],
    now: i64,
    tolerance: i64,
) -> bool {
    let mut timestamp = None;
    let mut signatures = vec![];
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.extend(hex::decode(s).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    // Checked: a timestamp near i64::MIN or MAX is simply stale, never an overflow.
    match now.checked_sub(t).and_then(i64::checked_abs) {
        Some(age) if age <= tolerance => {}
        _ => return false,
    }
    secrets.iter().any(|secret| {
        signatures.iter().any(|sig| {
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(t.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(sig).is_ok()
        })
    })
}

/// Signs a payload as Stripe does (the tests and the test mode use it).
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_check_secret_body_and_age() {
        let body = br#"{"id":"evt_1"}"#;
        let secrets = vec!["whsec_old".to_string(), "whsec_new".to_string()];
        let h = sign(body, "whsec_new", 1_000_000);
        assert!(
            verify_signature(&h, body, &secrets, 1_000_100, 300),
            "a rotated secret is accepted"
        );
        assert!(
            !verify_signature(&h, br#"{"id":"evt_2"}"#, &secrets, 1_000_100, 300),
            "tampered body"
        );
        assert!(
            !verify_signature(&h, body, &secrets, 1_000_301, 300),
            "stale"
        );
        assert!(
            !verify_signature(
                &sign(body, "whsec_other", 1_000_000),
                body,
                &secrets,
                1_000_000,
                300
            ),
            "unknown secret"
        );
        assert!(!verify_signature("garbage", body, &secrets, 1_000_000, 300));
        for t in [i64::MIN, i64::MAX, -1] {
            let h = format!("t={t},v1=00");
            assert!(!verify_signature(&h, body, &secrets, 1_000_000, 300), "{h}");
            assert!(!verify_signature(&h, body, &secrets, i64::MIN, 300), "{h}");
            assert!(
                !verify_signature(&sign(body, "whsec_new", t), body, &secrets, 1_000_000, 300),
                "{t}"
            );
        }
    }
}
