//! The payment provider (Stripe, or the test mode), the webhook's signature check, and the one
//! event handler both of them feed.
use super::TestCheckoutInfo;
use crate::{
    accounts::AuthUser,
    admin::service::audit,
    db_run,
    error::AppError,
    server::{db::Tx, now, AppState},
    ticketing::{
        service::{mark_paid, orders_of, refund_locally, release, Paid},
        OrderStatus, OrderView,
    },
    tx_run,
};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

/// Where payments happen.
#[derive(Clone)]
pub enum Gateway {
    Stripe(Box<stripe::Client>),
    /// The built-in test checkout (dev mode without Stripe keys).
    TestMode,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Gateway::Stripe(_) => "Gateway::Stripe",
            Gateway::TestMode => "Gateway::TestMode",
        })
    }
}

impl Gateway {
    pub fn from_config(config: &crate::server::config::Config) -> Gateway {
        match &config.stripe_secret_key {
            Some(key) => match &config.stripe_api_base {
                Some(base) => Gateway::Stripe(Box::new(stripe::Client::from_url(
                    base.as_str(),
                    key.clone(),
                ))),
                None => Gateway::Stripe(Box::new(stripe::Client::new(key.clone()))),
            },
            None => Gateway::TestMode,
        }
    }

    fn provider(&self) -> &'static str {
        match self {
            Gateway::Stripe(_) => "stripe",
            Gateway::TestMode => "test",
        }
    }
}

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

/// Opens Stripe's payment page for a pending order and records the payment (INIT); returns the
/// page's URL.
pub async fn create_checkout(
    state: &AppState,
    user: &AuthUser,
    order: &OrderView,
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
                .items
                .iter()
                .map(|i| CreateCheckoutSessionLineItems {
                    quantity: Some(i.quantity as u64),
                    price_data: Some(CreateCheckoutSessionLineItemsPriceData {
                        currency,
                        unit_amount: Some(i.unit_price_cents),
                        product_data: Some(CreateCheckoutSessionLineItemsPriceDataProductData {
                            name: i.name.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
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

/// The buyer is back before the webhook: asks Stripe about the session, and if it is paid, handles
/// it as the webhook would (idempotently).
pub async fn confirm_with_provider(state: &AppState, order_id: Uuid) -> Result<(), AppError> {
    let Gateway::Stripe(client) = &state.gateway else {
        return Ok(());
    };
    let Some(session_id) = session_of(state, order_id).await? else {
        return Ok(());
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
        process_event(state, &event).await?;
    }
    Ok(())
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
    refund_intent(state, row.and_then(|r| r.0).as_deref()).await
}

async fn refund_intent(state: &AppState, payment_intent: Option<&str>) -> Result<String, AppError> {
    match &state.gateway {
        Gateway::Stripe(client) => {
            let pi: stripe::PaymentIntentId = payment_intent
                .ok_or_else(|| provider_error("no payment intent to refund"))?
                .parse()
                .map_err(provider_error)?;
            let mut params = stripe::CreateRefund::new();
            params.payment_intent = Some(pi);
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

/// `POST /stripe/webhook`: 400 for a bad signature or body (nothing changes), else 200.
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if state.config.stripe_webhook_secrets.is_empty()
        || !verify_signature(
            signature,
            &body,
            &state.config.stripe_webhook_secrets,
            chrono::Utc::now().timestamp(),
            300,
        )
    {
        tracing::warn!("webhook refused: bad or stale signature");
        return (StatusCode::BAD_REQUEST, "invalid signature".to_string());
    }
    let Some(event) = Event::parse(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid event".to_string());
    };
    match process_event(&state, &event).await {
        Ok(outcome) => (StatusCode::OK, outcome.to_string()),
        Err(e) => {
            tracing::error!(event = %event.id, error = %e, "webhook processing failed; Stripe will retry");
            (StatusCode::INTERNAL_SERVER_ERROR, "retry later".to_string())
        }
    }
}

/// Handles one event exactly once: the event id is recorded in the same transaction as its effects,
/// so the same event delivered twice, or twenty times at once, changes nothing after the first.
pub async fn process_event(state: &AppState, event: &Event) -> Result<&'static str, AppError> {
    let mut tx = state.db.begin().await?;
    if !record_event(&mut tx, event, "processing").await? {
        return Ok("duplicate");
    }
    let session_id = event.object["id"].as_str().unwrap_or("").to_string();
    let payment_intent = event.object["payment_intent"].as_str().map(str::to_string);
    let outcome = match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let paid = event.kind.ends_with("async_payment_succeeded")
                || event.object["payment_status"] == "paid";
            if paid {
                complete(&mut tx, state, &session_id, payment_intent.as_deref()).await?
            } else {
                "awaiting_async_payment"
            }
        }
        "checkout.session.async_payment_failed" | "checkout.session.expired" => {
            match payment_of(&mut tx, &session_id).await? {
                Some((_, order_id)) => {
                    if release(&mut tx, order_id).await? {
                        "released"
                    } else {
                        "not_pending"
                    }
                }
                None => "unknown_order",
            }
        }
        "charge.refunded" => {
            let payment: Option<(Uuid, Uuid)> = tx_run!(&mut tx, c => sqlx::query_as(
                "SELECT id, order_id FROM payments WHERE stripe_payment_intent_id = $1 ORDER BY created_at DESC LIMIT 1")
                .bind(&payment_intent).fetch_optional(c).await)?;
            match payment {
                Some((payment_id, order_id)) => {
                    charge_refunded(&mut tx, state, event, payment_id, order_id).await?
                }
                None => "unknown_order",
            }
        }
        _ => "ignored",
    };
    if outcome == "no_seats_left" {
        // The seats of an expired reservation were sold meanwhile: nothing of the above stays; the
        // money goes back, and the payment says why.
        drop(tx);
        let mut tx = state.db.begin().await?;
        if !record_event(&mut tx, event, "refund_late_payment").await? {
            return Ok("duplicate");
        }
        tx_run!(&mut tx, c => sqlx::query(
            "UPDATE payments SET status = 'REFUNDED', stripe_payment_intent_id = $1, note = 'paid after the reservation expired and its seats were sold: refunded', updated_at = $2 \
             WHERE stripe_checkout_session_id = $3")
            .bind(&payment_intent).bind(now()).bind(&session_id).execute(c).await.map(|_| ()))?;
        tx.commit().await?;
        let refund = refund_intent(state, payment_intent.as_deref()).await;
        tracing::warn!(session = %session_id, ?refund, "late payment for seats sold meanwhile: refunded");
        return Ok("refund_late_payment");
    }
    if outcome == "unknown_order" {
        tracing::warn!(event = %event.id, kind = %event.kind, "event for an unknown order: ignored");
    }
    tx_run!(&mut tx, c => sqlx::query("UPDATE webhook_events SET outcome = $1 WHERE id = $2").bind(outcome).bind(&event.id).execute(c).await.map(|_| ()))?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(outcome)
}

/// `charge.refunded`: the charge carries its `amount` and the cumulative `amount_refunded` (cents).
/// Every refund is recorded on the payment (`refunded_cents`, never lowered by an event that
/// arrives late) and audited (`REFUND_RECEIVED`; the buyer is the actor, the audit log needing a
/// user, and `source: stripe` says who did it). A partial refund cancels nothing; the order is
/// refunded (tickets canceled, seats freed, buyer mailed) only once the refunds cover the charge.
async fn charge_refunded(
    tx: &mut Tx,
    state: &AppState,
    event: &Event,
    payment_id: Uuid,
    order_id: Uuid,
) -> Result<&'static str, AppError> {
    let order: Option<(String, Uuid)> = tx_run!(tx, c => sqlx::query_as("SELECT status, user_id FROM orders WHERE id = $1")
        .bind(order_id).fetch_optional(c).await)?;
    let Some((status, buyer)) = order else {
        return Ok("unknown_order");
    };
    if status != OrderStatus::Paid.as_str() {
        return Ok("not_paid");
    }
    let (Some(amount), Some(refunded)) = (
        event.object["amount"].as_i64(),
        event.object["amount_refunded"].as_i64(),
    ) else {
        tracing::warn!(event = %event.id, "charge.refunded without amount and amount_refunded: ignored");
        return Ok("invalid_refund");
    };
    if amount <= 0 || refunded <= 0 {
        tracing::warn!(event = %event.id, amount, refunded, "charge.refunded with impossible amounts: ignored");
        return Ok("invalid_refund");
    }
    let full = refunded >= amount;
    tx_run!(tx, c => sqlx::query(
        "UPDATE payments SET refunded_cents = CASE WHEN refunded_cents > $1 THEN refunded_cents ELSE $1 END, updated_at = $2 WHERE id = $3")
        .bind(refunded).bind(now()).bind(payment_id).execute(c).await.map(|_| ()))?;
    audit(
        tx,
        buyer,
        "REFUND_RECEIVED",
        "order",
        &order_id.to_string(),
        json!({
            "source": "stripe",
            "event": event.id,
            "charge": event.object["id"].as_str(),
            "amount_cents": amount,
            "refunded_cents": refunded,
            "full": full,
        }),
    )
    .await?;
    if !full {
        // The refunded part gets its credit note now (what earlier ones covered deducted).
        let credit = crate::invoicing::service::credit_note(
            tx,
            &state.config,
            order_id,
            crate::invoicing::service::Credit::UpTo(refunded),
            "partial_refund",
        )
        .await?;
        if let Some((id, doc)) = credit {
            crate::invoicing::service::mail_document(tx, &state.config, order_id, id, &doc).await?;
        }
        return Ok("partially_refunded");
    }
    Ok(if refund_locally(tx, &state.config, order_id).await? {
        "refunded"
    } else {
        "not_paid"
    })
}

async fn record_event(tx: &mut Tx, event: &Event, outcome: &str) -> Result<bool, sqlx::Error> {
    let n = tx_run!(tx, c => sqlx::query("INSERT INTO webhook_events (id, type, outcome, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
        .bind(&event.id).bind(&event.kind).bind(outcome).bind(now()).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

async fn payment_of(tx: &mut Tx, session_id: &str) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    tx_run!(tx, c => sqlx::query_as("SELECT id, order_id FROM payments WHERE stripe_checkout_session_id = $1").bind(session_id).fetch_optional(c).await)
}

/// Payment SUCCEEDED + order PAID + tickets issued, in the caller's transaction.
async fn complete(
    tx: &mut Tx,
    state: &AppState,
    session_id: &str,
    payment_intent: Option<&str>,
) -> Result<&'static str, AppError> {
    let Some((payment_id, order_id)) = payment_of(tx, session_id).await? else {
        return Ok("unknown_order");
    };
    tx_run!(tx, c => sqlx::query("UPDATE payments SET status = 'SUCCEEDED', stripe_payment_intent_id = COALESCE($1, stripe_payment_intent_id), updated_at = $2 WHERE id = $3 AND status IN ('INIT', 'FAILED')")
        .bind(payment_intent).bind(now()).bind(payment_id).execute(c).await.map(|_| ()))?;
    Ok(match mark_paid(tx, &state.config, order_id).await? {
        Paid::Issued => "paid",
        Paid::AlreadyPaid => "already_paid",
        Paid::NoSeatsLeft => "no_seats_left",
        Paid::Ignored => "ignored",
    })
}

fn test_mode_only(state: &AppState) -> Result<(), AppError> {
    if matches!(state.gateway, Gateway::TestMode) && state.config.is_dev() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

async fn test_order(state: &AppState, user_id: Uuid, session_id: &str) -> Result<Uuid, AppError> {
    let row: Option<(Uuid, Uuid)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT o.id, o.user_id FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.stripe_checkout_session_id = $1")
        .bind(session_id).fetch_optional(pool).await)?;
    match row {
        Some((order_id, owner)) if owner == user_id => Ok(order_id),
        _ => Err(AppError::NotFound),
    }
}

pub async fn test_checkout(
    state: &AppState,
    user_id: Uuid,
    session_id: &str,
) -> Result<TestCheckoutInfo, AppError> {
    test_mode_only(state)?;
    let order_id = test_order(state, user_id, session_id).await?;
    let order = orders_of(&state.db, Some(user_id), Some(order_id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok(TestCheckoutInfo {
        session_id: session_id.to_string(),
        order,
    })
}

/// The test checkout's buttons, turned into the events Stripe would send; returns where to go next.
pub async fn test_checkout_act(
    state: &AppState,
    user_id: Uuid,
    session_id: &str,
    outcome: &str,
) -> Result<String, AppError> {
    test_mode_only(state)?;
    let order_id = test_order(state, user_id, session_id).await?;
    let (kind, object, next) = match outcome {
        "pay" => (
            "checkout.session.completed",
            json!({ "id": session_id, "payment_status": "paid", "payment_intent": format!("pi_test_{}", Uuid::new_v4().simple()) }),
            format!("/orders/{order_id}/confirmation"),
        ),
        "fail" => (
            "checkout.session.async_payment_failed",
            json!({ "id": session_id, "payment_status": "unpaid" }),
            "/me/orders?failed=1".to_string(),
        ),
        "abandon" => (
            "checkout.session.expired",
            json!({ "id": session_id, "payment_status": "unpaid" }),
            "/me/orders".to_string(),
        ),
        _ => return Err(AppError::invalid("outcome", "payments.error.outcome")),
    };
    let event = Event {
        id: format!("evt_test_{}", Uuid::new_v4().simple()),
        kind: kind.into(),
        object,
    };
    process_event(state, &event).await?;
    Ok(next)
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
