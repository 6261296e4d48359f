//! Refunds per ticket from the back office: one ticket canceled (its seat back on sale, its code
//! refused at the door, the waiting list offered the seat) and its price given back, or a chosen
//! amount given back on a ticket that stays valid. The amount is taken on the ticket first (so two
//! admins cannot refund it twice), then refunded at the provider, then recorded with its credit
//! note and the buyer's mail.
use super::*;

/// What an admin asks for one ticket.
pub struct TicketRefund {
    pub ticket_id: Uuid,
    /// Cents to give back; `None`: what is left of the ticket's price.
    pub amount: Option<i64>,
    /// Cancel the ticket too (else it stays valid: a goodwill refund).
    pub cancel: bool,
}

/// Reads an amount typed in the back office ("20", "19,50"); empty: none.
pub fn parse_amount(raw: &str) -> Result<Option<i64>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        t => crate::money::parse_price(t)
            .filter(|c| *c > 0)
            .map(Some)
            .ok_or_else(|| AppError::invalid("amount", "orders.error.refund_amount")),
    }
}

/// Refunds one ticket (audited `REFUND_TICKET`). Refused unless its order is paid, the ticket not
/// canceled, and the amount at most what is left of its price.
pub async fn refund_ticket(
    state: &AppState,
    admin_id: Uuid,
    r: &TicketRefund,
) -> Result<(), AppError> {
    let row: Option<(Uuid, String, String, i64, i64)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT t.order_id, t.status, o.status, i.unit_price_cents, t.refunded_cents FROM tickets t \
         JOIN orders o ON o.id = t.order_id JOIN order_items i ON i.order_id = t.order_id AND i.ticket_type_id = t.ticket_type_id \
         WHERE t.id = $1")
        .bind(r.ticket_id).fetch_optional(pool).await)?;
    let (order_id, status, order_status, price, refunded) = row.ok_or(AppError::NotFound)?;
    if order_status != OrderStatus::Paid.as_str() {
        return Err(AppError::invalid("amount", "orders.error.not_paid"));
    }
    if status == TicketStatus::Canceled.as_str() {
        return Err(AppError::invalid("amount", "orders.error.ticket_canceled"));
    }
    let left = price - refunded;
    let amount = r.amount.unwrap_or(left);
    if amount > left || (amount <= 0 && !(r.cancel && left == 0)) {
        return Err(AppError::invalid("amount", "orders.error.refund_amount"));
    }
    // Taken on the ticket first, with its cancellation: a second refund of the same money, or a
    // second cancellation (which would give its seat back twice), is refused here.
    let new_status = if r.cancel {
        "CANCELED"
    } else {
        status.as_str()
    };
    let taken = crate::db_write!(&state.db, pool => sqlx::query(
        "UPDATE tickets SET refunded_cents = refunded_cents + $1, status = $2 WHERE id = $3 AND refunded_cents = $4 AND status = $5")
        .bind(amount).bind(new_status).bind(r.ticket_id).bind(refunded).bind(&status).execute(pool).await.map(|r| r.rows_affected()))?;
    if taken != 1 {
        return Err(AppError::invalid("amount", "orders.error.refund_amount"));
    }
    let refund_id = if amount == 0 {
        "nothing_to_pay_back".to_string()
    } else {
        let pi: Option<(Option<String>,)> = db_run!(&state.db, pool => sqlx::query_as(
            "SELECT stripe_payment_intent_id FROM payments WHERE order_id = $1 AND status = 'SUCCEEDED' ORDER BY created_at DESC LIMIT 1")
            .bind(order_id).fetch_optional(pool).await)?;
        let intent = pi.and_then(|p| p.0);
        match crate::payments::service::refund_intent(state, intent.as_deref(), Some(amount)).await
        {
            Ok(id) => id,
            Err(e) => {
                // Not refunded: the ticket is as it was.
                crate::db_write!(&state.db, pool => sqlx::query("UPDATE tickets SET refunded_cents = refunded_cents - $1, status = $2 WHERE id = $3")
                    .bind(amount).bind(&status).bind(r.ticket_id).execute(pool).await.map(|_| ()))?;
                return Err(e);
            }
        }
    };
    let mut tx = state.db.begin().await?;
    if r.cancel {
        // Canceled above, once: its seat goes back, its codes stop.
        tx_run!(&mut tx, c => sqlx::query("UPDATE ticket_types SET sold_count = sold_count - 1 WHERE id = (SELECT ticket_type_id FROM tickets WHERE id = $1)")
            .bind(r.ticket_id).execute(c).await.map(|_| ()))?;
        tx_run!(&mut tx, c => sqlx::query("UPDATE ticket_tokens SET revoked_at = $1 WHERE ticket_id = $2 AND revoked_at IS NULL")
            .bind(now()).bind(r.ticket_id).execute(c).await.map(|_| ()))?;
    }
    let (paid_back,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as(
        "UPDATE payments SET refunded_cents = refunded_cents + $1, updated_at = $2 WHERE id = \
         (SELECT id FROM payments WHERE order_id = $3 AND status = 'SUCCEEDED' ORDER BY created_at DESC LIMIT 1) RETURNING refunded_cents")
        .bind(amount).bind(now()).bind(order_id).fetch_optional(c).await.map(|r| r.unwrap_or((amount,))))?;
    // Every ticket canceled: the order is refunded.
    let (live,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM tickets WHERE order_id = $1 AND status <> 'CANCELED'").bind(order_id).fetch_one(c).await)?;
    if live == 0
        && transition(
            &mut tx,
            order_id,
            &[OrderStatus::Paid],
            OrderStatus::Refunded,
        )
        .await?
    {
        // As a whole refund ends: the payment refunded, the voucher's uses given back.
        tx_run!(&mut tx, c => sqlx::query("UPDATE payments SET status = 'REFUNDED', updated_at = $1 WHERE order_id = $2 AND status = 'SUCCEEDED'")
            .bind(now()).bind(order_id).execute(c).await.map(|_| ()))?;
        if let Some((pass, n)) = give_back_uses(&mut tx, order_id).await? {
            crate::vouchers::service::rehold(&mut tx, pass, n).await?;
        }
    }
    let credit = if amount > 0 {
        crate::invoicing::service::credit_note(
            &mut tx,
            &state.config,
            order_id,
            crate::invoicing::service::Credit::UpTo(paid_back),
            "refund",
        )
        .await?
    } else {
        None
    };
    let (user_id, email, locale, currency): (Uuid, String, String, String) = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT o.user_id, u.email, u.locale, o.currency FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1")
        .bind(order_id).fetch_one(c).await)?;
    let locale = Locale::from_code(&locale).unwrap_or_default();
    let mail = enqueue(
        &mut tx,
        &Mail {
            kind: MailKind::TicketRefunded,
            user_id: Some(user_id),
            to: email,
            locale,
            vars: vec![
                ("order", short_ref(order_id)),
                (
                    "amount",
                    crate::money::format_money(amount, &currency, locale),
                ),
            ],
            link: Some(format!("{}/me/orders", state.config.base_url)),
            order_id: Some(order_id),
        },
    )
    .await?;
    if let Some((credit_note, _)) = credit {
        crate::invoicing::service::attach(&mut tx, mail, credit_note).await?;
    }
    let part =
        serde_json::json!({ "full": false, "amount_cents": amount, "ticket_id": r.ticket_id });
    announce(&mut tx, order_id, "order.refunded", part).await?;
    Audit::new(admin_id, "REFUND_TICKET", "ticket", r.ticket_id)
        .meta(serde_json::json!({ "order": order_id, "amount_cents": amount, "canceled": r.cancel, "refund": refund_id }))
        .commit(tx)
        .await?;
    if r.cancel {
        crate::waitlist::service::offer_seats_soon(state).await;
    }
    state.mailer.wake();
    Ok(())
}
