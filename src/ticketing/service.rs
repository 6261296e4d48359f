//! Orders, seats and tickets. Every change of an order's status goes through [`transition`];
//! seats are counted on the ticket type (`reserved_count`, `sold_count`) and changed by conditional
//! UPDATEs in the same transaction, so no interleaving of buyers can oversell.
//!
//! Split by state change, each part in a module of its own (all re-exported here):
//! - `shop`: what the shop shows (passes, the cart its form sends, the buyer's orders);
//! - `reserve`: checkout (seats reserved, the order created, the way to the payment page);
//! - `pay`: an order paid, its tickets issued and its mails queued;
//! - `cancel`: reservations released, expired ones swept, orders canceled and refunded;
//! - `tickets`: tokens, QR codes, a buyer's tickets and their holders;
//! - `holders`: named tickets' own mails, claims and transfers;
//! - `refund`: one ticket refunded from the back office.
use super::{
    qr, Availability, CartLine, NewHolder, OrderItemView, OrderStatus, OrderView, ShopItem,
    TicketStatus, TicketView,
};
pub use crate::passes::service::{valid_days, TypeRow, TYPE_COLUMNS};
use crate::server::prelude::*;
use crate::text::short_ref;
use crate::{
    accounts::{session::hash_token, AuthUser},
    i18n::Locale,
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

mod cancel;
mod holders;
mod pay;
mod refund;
mod reserve;
mod shop;
mod tickets;

pub use cancel::*;
pub use holders::*;
pub use pay::*;
pub use refund::*;
pub use reserve::*;
pub use shop::*;
pub use tickets::*;

/// The one function through which an order changes status. It changes it only from one of `from`
/// (checked in the UPDATE itself), and says whether it did.
pub async fn transition(
    tx: &mut Tx,
    order_id: Uuid,
    from: &[OrderStatus],
    to: OrderStatus,
) -> Result<bool, sqlx::Error> {
    use OrderStatus::*;
    for f in from {
        let allowed = matches!(
            (f, to),
            (Draft, PendingPayment)
                | (Draft, Canceled)
                | (PendingPayment, Paid)
                | (PendingPayment, Canceled)
                | (Canceled, Paid)
                | (Paid, Refunded)
        );
        assert!(
            allowed,
            "order transition {f} -> {to} is not in the state machine"
        );
    }
    let list = from
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND status IN ({list})"
    );
    let n = tx_run!(tx, c => sqlx::query(&sql).bind(to.as_str()).bind(now()).bind(order_id).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 1 {
        crate::server::metrics::order_transition(to.as_str());
    }
    Ok(n == 1)
}

/// Tells the webhooks an order was paid or refunded (`order.paid`, `order.refunded`): the order
/// as it is now, in the transaction of the change. No personal data: a receiver that needs the
/// buyer asks the API (`/api/v1/orders/{id}`).
pub(crate) async fn announce(
    tx: &mut Tx,
    order_id: Uuid,
    event: &str,
    extra: serde_json::Value,
) -> Result<(), sqlx::Error> {
    let Some(to) = crate::webhooks::service::listeners(tx, event).await? else {
        return Ok(());
    };
    let (status, total, currency, refunded, tickets): (String, i64, String, i64, i64) = tx_run!(tx, c => sqlx::query_as(
        "SELECT o.status, o.total_cents, o.currency, \
         CAST(COALESCE((SELECT MAX(p.refunded_cents) FROM payments p WHERE p.order_id = o.id), 0) AS BIGINT), \
         CAST((SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id AND t.status <> 'CANCELED') AS BIGINT) \
         FROM orders o WHERE o.id = $1")
        .bind(order_id).fetch_one(c).await)?;
    let mut data = serde_json::json!({
        "order_id": order_id, "status": status, "total_cents": total, "refunded_cents": refunded,
        "currency": currency, "tickets": tickets,
    });
    if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    // The fact told: the order paid, or refunded up to this amount (told once, whoever tells it).
    let once = if event == "order.paid" {
        order_id.to_string()
    } else {
        format!("{order_id}:{refunded}")
    };
    to.emit(tx, Some(once), data).await
}

async fn items(tx: &mut Tx, order_id: Uuid) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    tx_run!(tx, c => sqlx::query_as("SELECT ticket_type_id, quantity FROM order_items WHERE order_id = $1 ORDER BY ticket_type_id").bind(order_id).fetch_all(c).await)
}

/// The voucher an order used and the seats it covered.
async fn voucher_of(tx: &mut Tx, order_id: Uuid) -> Result<Option<(Uuid, i64)>, sqlx::Error> {
    let row: Option<(Option<Uuid>, i64)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT o.voucher_id, CAST(COALESCE((SELECT SUM(i.voucher_seats) FROM order_items i WHERE i.order_id = o.id), 0) AS BIGINT) FROM orders o WHERE o.id = $1")
        .bind(order_id).fetch_optional(c).await)?;
    Ok(row.and_then(|(v, n)| v.map(|v| (v, n))))
}

#[cfg(test)]
mod tests;
