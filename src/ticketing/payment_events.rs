//! What a payment event does to an order: paid (tickets issued), failed or expired (seats
//! released), refunded at the provider (the order refunded once the refunds cover the charge).
//! Stripe's webhook (`POST /stripe/webhook`) and the built-in test checkout feed the same handler,
//! which takes each event once.
use super::{
    service::{mark_paid, orders_of, refund_locally, release, Paid},
    test_checkout::TestCheckoutInfo,
    OrderStatus,
};
use crate::server::prelude::*;
use crate::{
    payments::service::{refund_intent, verify_signature, Event},
    server::state::Gateway,
};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use serde_json::json;

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
        let refund = refund_intent(state, payment_intent.as_deref(), None).await;
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
    let (before,): (i64,) = tx_run!(tx, c => sqlx::query_as("SELECT refunded_cents FROM payments WHERE id = $1")
        .bind(payment_id).fetch_one(c).await)?;
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
        // Refunded from the provider's dashboard (one from the back office was told of already).
        if refunded > before {
            let part = json!({ "full": false, "amount_cents": refunded - before });
            super::service::announce(tx, order_id, "order.refunded", part).await?;
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

/// The payment provider's webhook.
pub fn routes() -> axum::Router<crate::server::state::AppState> {
    axum::Router::new().route("/stripe/webhook", axum::routing::post(webhook))
}
