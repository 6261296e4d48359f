//! Orders undone: a reservation released (by the buyer, on failure, or when it ran out) and a
//! paid order refunded, seats and voucher uses given back.
use super::*;

/// An order released or refunded gives its voucher's uses back (the voucher row first: see
/// [`crate::vouchers::service::return_uses`]); returns the seats to put back in the voucher's hold.
pub(crate) async fn give_back_uses(
    tx: &mut Tx,
    order_id: Uuid,
) -> Result<Option<(Uuid, i64)>, sqlx::Error> {
    let Some((voucher, n)) = voucher_of(tx, order_id).await? else {
        return Ok(None);
    };
    Ok(crate::vouchers::service::return_uses(tx, voucher, n)
        .await?
        .map(|pass| (pass, n)))
}

/// PENDING_PAYMENT → CANCELED, giving the seats back. Returns whether it happened.
pub async fn release(tx: &mut Tx, order_id: Uuid) -> Result<bool, sqlx::Error> {
    if !transition(
        tx,
        order_id,
        &[OrderStatus::PendingPayment],
        OrderStatus::Canceled,
    )
    .await?
    {
        return Ok(false);
    }
    let back = give_back_uses(tx, order_id).await?;
    for (type_id, q) in items(tx, order_id).await? {
        tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET reserved_count = reserved_count - $1 WHERE id = $2").bind(q).bind(type_id).execute(c).await.map(|_| ()))?;
    }
    if let Some((pass, n)) = back {
        crate::vouchers::service::rehold(tx, pass, n).await?;
    }
    tx_run!(tx, c => sqlx::query("UPDATE payments SET status = 'FAILED', updated_at = $1 WHERE order_id = $2 AND status = 'INIT'").bind(now()).bind(order_id).execute(c).await.map(|_| ()))?;
    Ok(true)
}

/// PAID → REFUNDED: tickets canceled, seats released, the buyer mailed. Returns whether it happened.
pub async fn refund_locally(
    tx: &mut Tx,
    config: &Config,
    order_id: Uuid,
) -> Result<bool, sqlx::Error> {
    if !transition(tx, order_id, &[OrderStatus::Paid], OrderStatus::Refunded).await? {
        return Ok(false);
    }
    let now = now();
    let back = give_back_uses(tx, order_id).await?;
    // The seats of its tickets still standing (one refunded on its own gave its seat back then).
    let standing: Vec<(Uuid, i64)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT ticket_type_id, COUNT(*) FROM tickets WHERE order_id = $1 AND status <> 'CANCELED' GROUP BY ticket_type_id")
        .bind(order_id).fetch_all(c).await)?;
    for (type_id, q) in standing {
        tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET sold_count = sold_count - $1 WHERE id = $2").bind(q).bind(type_id).execute(c).await.map(|_| ()))?;
    }
    // What is paid back now: the total less what was refunded before (a ticket, part of it).
    let (before,): (i64,) = tx_run!(tx, c => sqlx::query_as(
        "SELECT CAST(COALESCE(MAX(refunded_cents), 0) AS BIGINT) FROM payments WHERE order_id = $1 AND status = 'SUCCEEDED'")
        .bind(order_id).fetch_one(c).await)?;
    if let Some((pass, n)) = back {
        crate::vouchers::service::rehold(tx, pass, n).await?;
    }
    tx_run!(tx, c => {
        sqlx::query("UPDATE tickets SET status = 'CANCELED' WHERE order_id = $1").bind(order_id).execute(&mut *c).await?;
        // Refunded in full: at least the order's total (a webhook may have recorded Stripe's exact figure).
        sqlx::query("UPDATE payments SET status = 'REFUNDED', refunded_cents = CASE WHEN refunded_cents > (SELECT total_cents FROM orders WHERE id = $2) THEN refunded_cents ELSE (SELECT total_cents FROM orders WHERE id = $2) END, updated_at = $1 WHERE order_id = $2 AND status = 'SUCCEEDED'").bind(now).bind(order_id).execute(&mut *c).await?;
    });
    let (user_id, email, locale, total, currency): (Uuid, String, String, i64, String) = tx_run!(tx, c => sqlx::query_as(
        "SELECT o.user_id, u.email, u.locale, o.total_cents, o.currency FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1")
        .bind(order_id).fetch_one(c).await)?;
    let locale = Locale::from_code(&locale).unwrap_or_default();
    let credit = crate::invoicing::service::credit_note(
        tx,
        config,
        order_id,
        crate::invoicing::service::Credit::Rest,
        "refund",
    )
    .await?;
    let mail = enqueue(
        tx,
        &Mail {
            kind: MailKind::OrderRefunded,
            user_id: Some(user_id),
            to: email,
            locale,
            vars: vec![
                ("order", short_ref(order_id)),
                (
                    "total",
                    crate::money::format_money((total - before).max(0), &currency, locale),
                ),
            ],
            link: Some(format!("{}/me/orders", config.base_url)),
            order_id: Some(order_id),
        },
    )
    .await?;
    if let Some((credit_note, _)) = credit {
        crate::invoicing::service::attach(tx, mail, credit_note).await?;
    }
    let full = serde_json::json!({ "full": true, "amount_cents": (total - before).max(0) });
    announce(tx, order_id, "order.refunded", full).await?;
    Ok(true)
}

/// Cancels reservations whose time ran out (the sweeper calls this; so does every new order).
pub async fn release_expired(state: &AppState) -> Result<usize, AppError> {
    let expired: Vec<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT id FROM orders WHERE status = 'PENDING_PAYMENT' AND reserved_until < $1 LIMIT 200")
        .bind(now()).fetch_all(pool).await)?;
    let mut n = 0;
    for (order_id,) in expired {
        // One order that cannot be released is logged and skipped: it never blocks the others.
        let released = async {
            let mut tx = state.db.begin().await?;
            let released = release(&mut tx, order_id).await?;
            tx.commit().await?;
            Ok::<bool, sqlx::Error>(released)
        }
        .await;
        let released = match released {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, order = %order_id, "could not release an expired reservation");
                continue;
            }
        };
        if released {
            n += 1;
            crate::payments::service::expire_session_quietly(state, order_id).await;
        }
    }
    if n > 0 {
        crate::waitlist::service::offer_seats_soon(state).await;
    }
    Ok(n)
}

pub async fn cancel_by_buyer(
    state: &AppState,
    user_id: Uuid,
    order_id: Uuid,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let owner: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT user_id FROM orders WHERE id = $1").bind(order_id).fetch_optional(c).await)?;
    if owner.map(|o| o.0) != Some(user_id) {
        return Err(AppError::NotFound);
    }
    if !release(&mut tx, order_id).await? {
        return Err(AppError::invalid("order", "orders.error.not_pending"));
    }
    tx.commit().await?;
    crate::payments::service::expire_session_quietly(state, order_id).await;
    crate::waitlist::service::offer_seats_soon(state).await;
    Ok(())
}

/// Full refund by an admin: the provider first, then the order (audited `REFUND_ORDER`).
pub async fn refund(state: &AppState, admin_id: Uuid, order_id: Uuid) -> Result<(), AppError> {
    let order: Option<(String, i64)> = db_run!(&state.db, pool => sqlx::query_as("SELECT status, total_cents FROM orders WHERE id = $1").bind(order_id).fetch_optional(pool).await)?;
    let total = match order {
        None => return Err(AppError::NotFound),
        Some((s, _)) if s != OrderStatus::Paid.as_str() => {
            return Err(AppError::invalid("order", "orders.error.not_paid"))
        }
        Some((_, total)) => total,
    };
    // A free order (a speaker's pass) has nothing to give back at the provider.
    let refund_id = if total == 0 {
        "free_order".to_string()
    } else {
        crate::payments::service::refund_with_provider(state, order_id).await?
    };
    let mut tx = state.db.begin().await?;
    if refund_locally(&mut tx, &state.config, order_id).await? {
        tx_run!(&mut tx, c => sqlx::query("UPDATE payments SET stripe_refund_id = $1 WHERE order_id = $2 AND status = 'REFUNDED'")
            .bind(&refund_id).bind(order_id).execute(c).await.map(|_| ()))?;
        Audit::new(admin_id, "REFUND_ORDER", "order", order_id)
            .meta(serde_json::json!({ "refund": refund_id }))
            .write(&mut tx)
            .await?;
    }
    tx.commit().await?;
    crate::waitlist::service::offer_seats_soon(state).await;
    state.mailer.wake();
    Ok(())
}
