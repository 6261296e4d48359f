//! Payment: an order marked paid, its tickets issued and its mails queued; a pending order
//! checked with the payment provider.
use super::*;

/// What happened when a payment succeeded.
#[derive(Debug, PartialEq, Eq)]
pub enum Paid {
    /// Tickets issued now.
    Issued,
    /// Already paid: nothing to do (a repeated or late event).
    AlreadyPaid,
    /// The reservation had expired and its seats were sold meanwhile: the payment must be refunded.
    NoSeatsLeft,
    /// Refunded already, or another state where a payment makes no sense.
    Ignored,
}

/// A payment succeeded: PENDING_PAYMENT → PAID (reserved seats become sold), or, when the
/// reservation had expired, CANCELED → PAID only if the seats can still be taken. Issues the
/// tickets and queues the mails in the same transaction.
pub async fn mark_paid(tx: &mut Tx, config: &Config, order_id: Uuid) -> Result<Paid, sqlx::Error> {
    let lines = items(tx, order_id).await?;
    if transition(
        tx,
        order_id,
        &[OrderStatus::PendingPayment],
        OrderStatus::Paid,
    )
    .await?
    {
        for (type_id, q) in &lines {
            tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET reserved_count = reserved_count - $1, sold_count = sold_count + $1 WHERE id = $2")
                .bind(q).bind(type_id).execute(c).await.map(|_| ()))?;
        }
    } else {
        let status: Option<(String,)> = tx_run!(tx, c => sqlx::query_as("SELECT status FROM orders WHERE id = $1").bind(order_id).fetch_optional(c).await)?;
        match status.as_ref().map(|s| s.0.as_str()) {
            Some("PAID") => return Ok(Paid::AlreadyPaid),
            Some("CANCELED") => {
                // The voucher's uses were given back at the release: taken again (the buyer paid
                // its price), with the seats of its hold if it still runs.
                let mut from_hold: Option<(Uuid, i64)> = None;
                if let Some((voucher, n)) = voucher_of(tx, order_id).await?.filter(|(_, n)| *n > 0)
                {
                    match crate::vouchers::service::retake(tx, voucher, n).await? {
                        None => return Ok(Paid::NoSeatsLeft),
                        Some((true, Some(pass))) => from_hold = Some((pass, n)),
                        Some(_) => {}
                    }
                }
                for (type_id, q) in &lines {
                    let held = match from_hold {
                        Some((pass, n)) if pass == *type_id => n.min(*q),
                        _ => 0,
                    };
                    if held > 0 {
                        let took = tx_run!(tx, c => sqlx::query(
                            "UPDATE ticket_types SET held_count = held_count - $1, sold_count = sold_count + $1 WHERE id = $2 AND held_count >= $1")
                            .bind(held).bind(type_id).execute(c).await.map(|r| r.rows_affected()))?;
                        if took != 1 {
                            return Ok(Paid::NoSeatsLeft);
                        }
                    }
                    let rest = q - held;
                    if rest == 0 {
                        continue;
                    }
                    let took = tx_run!(tx, c => sqlx::query(
                        "UPDATE ticket_types SET sold_count = sold_count + $1 WHERE id = $2 AND reserved_count + sold_count + held_count + $1 <= capacity")
                        .bind(rest).bind(type_id).execute(c).await.map(|r| r.rows_affected()))?;
                    if took != 1 {
                        return Ok(Paid::NoSeatsLeft); // the caller rolls back what this loop took
                    }
                }
                if !transition(tx, order_id, &[OrderStatus::Canceled], OrderStatus::Paid).await? {
                    return Ok(Paid::Ignored);
                }
            }
            _ => return Ok(Paid::Ignored),
        }
    }
    let confirmation = issue_tickets(tx, config, order_id).await?;
    crate::waitlist::service::bought(tx, order_id).await?;
    // Last, so the payments queued on the invoice counter wait as little as possible.
    let invoice = crate::invoicing::service::issue_invoice(tx, config, order_id, now()).await?;
    crate::invoicing::service::attach(tx, confirmation, invoice).await?;
    announce(tx, order_id, "order.paid", serde_json::json!({})).await?;
    Ok(Paid::Issued)
}

/// One ticket per seat of a paid order, held by the buyer, each with its token; and the two mails.
/// Returns the confirmation mail's id (the invoice goes with it).
pub(crate) async fn issue_tickets(
    tx: &mut Tx,
    config: &Config,
    order_id: Uuid,
) -> Result<Uuid, sqlx::Error> {
    let (user_id, email, locale, total, currency): (Uuid, String, String, i64, String) = tx_run!(tx, c => sqlx::query_as(
        "SELECT o.user_id, u.email, u.locale, o.total_cents, o.currency FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1")
        .bind(order_id).fetch_one(c).await)?;
    let now = now();
    let mut count: i64 = 0;
    // What the buyer typed per seat (holder, answers), in seat order per pass.
    let mut seats = crate::attendees::service::take_for_order(tx, order_id).await?;
    let mut named = vec![];
    for (type_id, q) in items(tx, order_id).await? {
        for _ in 0..q {
            let ticket_id = Uuid::new_v4();
            let seat = seats
                .iter()
                .position(|s| s.ticket_type_id == type_id)
                .map(|i| seats.remove(i));
            let (name, holder_email) = seat
                .as_ref()
                .map_or((None, None), |s| (s.name.clone(), s.email.clone()));
            tx_run!(tx, c => sqlx::query("INSERT INTO tickets (id, user_id, order_id, ticket_type_id, status, issued_at, holder_name, holder_email) VALUES ($1, $2, $3, $4, 'VALID', $5, $6, $7)")
                .bind(ticket_id).bind(user_id).bind(order_id).bind(type_id).bind(now).bind(&name).bind(&holder_email).execute(c).await.map(|_| ()))?;
            new_token(tx, config, ticket_id, None).await?;
            if let Some(seat) = &seat {
                crate::attendees::service::record_answers(tx, ticket_id, &[], &seat.answers)
                    .await?;
            }
            // Someone else holds it: they get their own ticket mail, with a link to claim it.
            if let Some(holder) = holder_email.filter(|e| *e != email) {
                named.push((ticket_id, holder));
            }
            count += 1;
        }
    }
    let locale = Locale::from_code(&locale).unwrap_or_default();
    for (ticket_id, holder) in named {
        mail_holder(tx, config, ticket_id, &holder, locale).await?;
    }
    let reference = short_ref(order_id);
    let order_mail = Mail {
        kind: MailKind::OrderConfirmed,
        user_id: Some(user_id),
        to: email.clone(),
        locale,
        vars: vec![
            ("order", reference),
            (
                "total",
                crate::money::format_money(total, &currency, locale),
            ),
            ("count", count.to_string()),
        ],
        link: Some(format!("{}/me/orders", config.base_url)),
        order_id: Some(order_id),
    };
    let confirmation = enqueue(tx, &order_mail).await?;
    enqueue(
        tx,
        &tickets_mail(config, user_id, email, locale, order_id, count),
    )
    .await?;
    Ok(confirmation)
}

/// The mail that carries an order's tickets (their QR codes are attached when it is sent): at
/// payment, and again when an admin resends it.
pub fn tickets_mail(
    config: &Config,
    user_id: Uuid,
    to: String,
    locale: Locale,
    order_id: Uuid,
    count: i64,
) -> Mail {
    Mail {
        kind: MailKind::TicketSent,
        user_id: Some(user_id),
        to,
        locale,
        vars: vec![("count", count.to_string())],
        link: Some(format!("{}/me/tickets", config.base_url)),
        order_id: Some(order_id),
    }
}

/// While an order awaits payment, asks the payment provider whether it was paid meanwhile.
pub async fn confirm_if_paid(
    state: &AppState,
    user_id: Uuid,
    order_id: Uuid,
) -> Result<(), AppError> {
    let row: Option<(Uuid, String)> = db_run!(&state.db, pool => sqlx::query_as("SELECT user_id, status FROM orders WHERE id = $1").bind(order_id).fetch_optional(pool).await)?;
    match row {
        Some((owner, status)) if owner == user_id => {
            if status == OrderStatus::PendingPayment.as_str() {
                if let Some(event) =
                    crate::payments::service::confirm_with_provider(state, order_id).await?
                {
                    crate::ticketing::payment_events::process_event(state, &event).await?;
                }
            }
            Ok(())
        }
        _ => Err(AppError::NotFound),
    }
}
