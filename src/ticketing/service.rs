//! Orders, seats and tickets. Every change of an order's status goes through [`transition`];
//! seats are counted on the ticket type (`reserved_count`, `sold_count`) and changed by conditional
//! UPDATEs in the same transaction, so no interleaving of buyers can oversell.
use super::{
    qr, Availability, CartLine, OrderItemView, OrderStatus, OrderView, ShopItem, TicketStatus,
    TicketView,
};
use crate::{
    accounts::{session::hash_token, AuthUser},
    server::audit::audit,
    db_run,
    error::AppError,
    i18n::Locale,
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
    server::{
        config::Config,
        db::{Db, Tx},
        state::now, state::AppState,
    },
    tx_run,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Offset, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use uuid::Uuid;
use crate::text::short_ref;
pub use crate::passes::service::{valid_days, TypeRow, TYPE_COLUMNS};

/// The passes to show in the shop: active ones, and those whose sale opens later.
/// A hidden pass is shown (and sold) only with a voucher that unlocks it; a voucher's passes show
/// its price, and the seats it holds count as left for its holder.
pub async fn shop(
    db: &Db,
    config: &Config,
    voucher: Option<&crate::vouchers::service::Voucher>,
) -> Result<Vec<ShopItem>, AppError> {
    let sql = format!("SELECT {TYPE_COLUMNS} FROM ticket_types WHERE is_active = $1 ORDER BY valid_from, price_cents DESC, name");
    let rows: Vec<TypeRow> =
        db_run!(db, pool => sqlx::query_as(&sql).bind(true).fetch_all(pool).await)?;
    let now = now();
    Ok(rows
        .into_iter()
        .filter(|r| !r.is_hidden || voucher.is_some_and(|v| v.unlocks_hidden && v.applies_to(r.id)))
        .filter(|r| r.availability(now) != Availability::Ended)
        .map(|r| {
            let v = voucher.filter(|v| v.applies_to(r.id));
            let held_for_me = v.map_or(0, |v| v.held());
            let list = r.sale_price(config).map_or(r.price_cents, |(_, p)| p);
            ShopItem {
                availability: r.availability_with(now, held_for_me),
                id: r.id,
                price_cents: v.and_then(|v| v.unit_price(list)).unwrap_or(list),
                list_price_cents: v.map(|_| list),
                hidden: r.is_hidden,
                name: r.name,
                description: r.description,
                currency: r.currency,
                valid_days: valid_days(config, r.valid_from, r.valid_until),
            }
        })
        .collect())
}

/// Parses a cart from the shop's form: positive whole quantities, at most the per-order maximum,
/// lines of the same pass merged, empty lines dropped. Quantities are checked one by one against
/// the maximum before anything is added up, and every sum is checked: a huge number is a 422 on
/// its quantity field, never an overflow.
pub fn parse_cart(lines: &[CartLine], max: i64) -> Result<Vec<(Uuid, i64)>, AppError> {
    let mut merged: BTreeMap<Uuid, i64> = BTreeMap::new();
    let mut total: i64 = 0;
    for line in lines {
        let field = line.ticket_type_id.to_string();
        let raw = line.quantity.trim();
        if raw.is_empty() || raw == "0" {
            continue;
        }
        let q: i64 = raw
            .parse()
            .map_err(|_| AppError::invalid(&field, "shop.error.quantity_invalid"))?;
        if q <= 0 {
            return Err(AppError::invalid(&field, "shop.error.quantity_invalid"));
        }
        if q > max {
            return Err(AppError::invalid(&field, "shop.error.too_many"));
        }
        let entry = merged.entry(line.ticket_type_id).or_default();
        *entry = entry
            .checked_add(q)
            .filter(|n| *n <= max)
            .ok_or_else(|| AppError::invalid(&field, "shop.error.too_many"))?;
        total = total
            .checked_add(q)
            .filter(|n| *n <= max)
            .ok_or_else(|| AppError::invalid("cart", "shop.error.too_many"))?;
    }
    if merged.is_empty() {
        return Err(AppError::invalid("cart", "shop.error.empty"));
    }
    Ok(merged.into_iter().collect())
}

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

/// An order released or refunded gives its voucher's uses back (the voucher row first: see
/// [`crate::vouchers::service::return_uses`]); returns the seats to put back in the voucher's hold.
async fn give_back_uses(tx: &mut Tx, order_id: Uuid) -> Result<Option<(Uuid, i64)>, sqlx::Error> {
    let Some((voucher, n)) = voucher_of(tx, order_id).await? else {
        return Ok(None);
    };
    Ok(crate::vouchers::service::return_uses(tx, voucher, n)
        .await?
        .map(|pass| (pass, n)))
}

/// Creates an order awaiting payment and reserves its seats, all in one transaction. No limit on
/// the buyer's other pending orders: the shop goes through [`start_checkout`], which has one.
pub async fn create_pending_order(
    db: &Db,
    config: &Config,
    user_id: Uuid,
    lines: &[CartLine],
) -> Result<Uuid, AppError> {
    Ok(create_order(db, config, user_id, lines, Extras::default())
        .await?
        .id)
}

/// [`create_pending_order`] with a voucher (its uses counted in the same transaction); an order
/// that comes to 0 is paid at once. Returns the order as it now stands.
pub async fn create_order_with_voucher(
    db: &Db,
    config: &Config,
    user_id: Uuid,
    lines: &[CartLine],
    voucher: Option<&crate::vouchers::service::Voucher>,
) -> Result<OrderView, AppError> {
    let extras = Extras {
        voucher,
        ..Extras::default()
    };
    create_order(db, config, user_id, lines, extras).await
}

/// Orders of `user_id` awaiting payment whose reservation still runs.
async fn open_orders(tx: &mut Tx, user_id: Uuid, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = tx_run!(tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM orders WHERE user_id = $1 AND status = 'PENDING_PAYMENT' AND (reserved_until IS NULL OR reserved_until > $2)")
        .bind(user_id).bind(now).fetch_one(c).await)?;
    Ok(n)
}

/// What an order may come with besides its lines.
#[derive(Default, Clone, Copy)]
struct Extras<'a> {
    /// Refused when the buyer already has this many orders awaiting payment.
    max_open: Option<i64>,
    /// The payment page's record (INIT), written in the same transaction.
    payment: Option<&'a crate::payments::service::CheckoutPage>,
    voucher: Option<&'a crate::vouchers::service::Voucher>,
    /// The company the invoice is to go to.
    billing: Option<&'a crate::invoicing::service::Billing>,
}

/// One line of an order as it will be written.
struct Line {
    pass: TypeRow,
    quantity: i64,
    unit: i64,
    line_total: i64,
    /// What the buyer would pay for one seat without the voucher.
    list: i64,
    vat_rate_bp: i64,
    net: i64,
    vat: i64,
    /// Seats of the line the voucher covers (all of them, when it applies to the pass).
    voucher_seats: i64,
    /// Of those, seats that come out of the voucher's hold rather than the public's.
    held_seats: i64,
}

/// [`create_pending_order`], refused when the buyer already has `max_open` orders awaiting payment;
/// with `payment`, the payment page's record (INIT) is written in the same transaction; with a
/// voucher, its uses are counted in it too (one conditional UPDATE: the last use cannot be taken
/// twice). An order that comes to 0 is paid at once, in the same transaction (tickets issued,
/// mails queued), without a payment page. Returns the order as it now stands.
async fn create_order(
    db: &Db,
    config: &Config,
    user_id: Uuid,
    lines: &[CartLine],
    extras: Extras<'_>,
) -> Result<OrderView, AppError> {
    let Extras {
        max_open,
        payment,
        voucher,
        billing,
    } = extras;
    let cart = parse_cart(lines, config.max_tickets_per_order)?;
    let now = now();
    let order_id = Uuid::new_v4();
    let mut total = 0i64;
    let mut discount = 0i64;
    let mut voucher_seats = 0i64;
    let mut currency: Option<String> = None;
    let mut rows: Vec<Line> = vec![];
    for (type_id, quantity) in &cart {
        let field = type_id.to_string();
        // Read before the write transaction (on SQLite, writers take turns: the shorter the
        // turn, the shorter the queue); the reservation below re-checks the version it was read at.
        let sql = format!("SELECT {TYPE_COLUMNS} FROM ticket_types WHERE id = $1");
        let t: Option<TypeRow> =
            db_run!(db, pool => sqlx::query_as(&sql).bind(type_id).fetch_optional(pool).await)?;
        let v = voucher.filter(|v| v.applies_to(*type_id));
        let t = t
            .filter(|t| !t.is_hidden || v.is_some_and(|v| v.unlocks_hidden))
            .ok_or_else(|| AppError::invalid(&field, "shop.error.unknown_pass"))?;
        let held_for_me = v.map_or(0, |v| v.held());
        match t.availability_with(now, held_for_me) {
            Availability::OnSale { left } if left >= *quantity => {}
            Availability::OnSale { .. } | Availability::SoldOut => {
                return Err(AppError::invalid(&field, "shop.error.not_enough_left"))
            }
            Availability::NotYet { .. } | Availability::Ended => {
                return Err(AppError::invalid(&field, "shop.error.not_on_sale"))
            }
        }
        if currency.as_ref().is_some_and(|c| *c != t.currency) {
            return Err(AppError::invalid("cart", "shop.error.mixed_currencies"));
        }
        currency = Some(t.currency.clone());
        let too_large = || AppError::invalid(&field, "shop.error.amount_too_large");
        let (vat_rate_bp, list) = t.sale_price(config).ok_or_else(too_large)?;
        let unit = match v {
            Some(v) => v.unit_price(list).ok_or_else(too_large)?,
            None => list,
        };
        let line_total = unit.checked_mul(*quantity).ok_or_else(too_large)?;
        let list_total = list.checked_mul(*quantity).ok_or_else(too_large)?;
        // VAT per line, rounded half up: net + VAT = the line's total, to the cent.
        let (net, vat) = crate::invoicing::service::split_gross(line_total, vat_rate_bp);
        total = total.checked_add(line_total).ok_or_else(too_large)?;
        discount = discount
            .checked_add(list_total - line_total)
            .ok_or_else(too_large)?;
        let seats = if v.is_some() { *quantity } else { 0 };
        voucher_seats += seats;
        rows.push(Line {
            pass: t,
            quantity: *quantity,
            unit,
            line_total,
            list,
            vat_rate_bp,
            net,
            vat,
            voucher_seats: seats,
            held_seats: if held_for_me > 0 { seats } else { 0 },
        });
    }
    if let Some(v) = voucher {
        if voucher_seats == 0 {
            return Err(AppError::invalid("voucher", "voucher.error.not_applicable"));
        }
        if voucher_seats > v.uses_left() {
            return Err(AppError::invalid(
                "voucher",
                "voucher.error.not_enough_uses",
            ));
        }
    }
    let reserved_until = now + Duration::minutes(config.reservation_minutes);
    let mut tx = db.begin().await?;
    if let Some(max_open) = max_open {
        // On PostgreSQL, lock the buyer's row first (a no-op write) so that two checkouts at once
        // cannot both see one order too few; SQLite's writers already take turns.
        if let Tx::Postgres(_) = tx {
            tx_run!(&mut tx, c => sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
                .bind(user_id).execute(c).await.map(|_| ()))?;
        }
        if open_orders(&mut tx, user_id, now).await? >= max_open {
            return Err(AppError::invalid("cart", "shop.error.too_many_open_orders"));
        }
    }
    if let Some(v) = voucher {
        let hold_runs = crate::vouchers::service::take(&mut tx, v, voucher_seats).await?;
        if !hold_runs && rows.iter().any(|l| l.held_seats > 0) {
            // Its hold ended between the read and now: those seats are the public's again.
            return Err(AppError::invalid("voucher", "voucher.error.invalid"));
        }
    }
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO orders (id, user_id, status, total_cents, currency, reserved_until, voucher_id, discount_cents, created_at, updated_at) VALUES ($1, $2, 'PENDING_PAYMENT', $3, $4, $5, $6, $7, $8, $8)")
        .bind(order_id).bind(user_id).bind(total).bind(currency.as_deref().unwrap_or("eur")).bind(reserved_until)
        .bind(voucher.map(|v| v.id)).bind(discount).bind(now)
        .execute(c).await.map(|_| ()))?;
    for l in &rows {
        let t = &l.pass;
        // The seat check and the reservation are one statement: two buyers cannot both take the
        // last seat. It also holds only if the pass is still as it was read (price, sales window).
        // Seats a voucher holds move from held to reserved; the others must be free of
        // reservations, sales, holds and the people waiting.
        let reserved = if l.held_seats > 0 {
            tx_run!(&mut tx, c => sqlx::query(
                "UPDATE ticket_types SET held_count = held_count - $1, reserved_count = reserved_count + $1 WHERE id = $2 AND version = $3 AND held_count >= $1")
                .bind(l.quantity).bind(t.id).bind(t.version).execute(c).await.map(|r| r.rows_affected()))?
        } else {
            tx_run!(&mut tx, c => sqlx::query(
                "UPDATE ticket_types SET reserved_count = reserved_count + $1 WHERE id = $2 AND version = $3 AND reserved_count + sold_count + held_count + $1 \
                 + (SELECT COUNT(*) FROM waitlist_entries w WHERE w.ticket_type_id = $2 AND w.status = 'WAITING') <= capacity")
                .bind(l.quantity).bind(t.id).bind(t.version).execute(c).await.map(|r| r.rows_affected()))?
        };
        if reserved != 1 {
            let (version,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT version FROM ticket_types WHERE id = $1")
                .bind(t.id).fetch_one(c).await)?;
            let key = if version == t.version {
                "shop.error.not_enough_left"
            } else {
                "shop.error.pass_changed"
            };
            return Err(AppError::invalid(&t.id.to_string(), key));
        }
        tx_run!(&mut tx, c => sqlx::query(
            "INSERT INTO order_items (id, order_id, ticket_type_id, quantity, unit_price_cents, line_total_cents, list_price_cents, voucher_seats, held_seats, vat_rate_bp, net_cents, vat_cents) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(Uuid::new_v4()).bind(order_id).bind(t.id).bind(l.quantity).bind(l.unit).bind(l.line_total)
            .bind(l.list).bind(l.voucher_seats).bind(l.held_seats).bind(l.vat_rate_bp).bind(l.net).bind(l.vat)
            .execute(c).await.map(|_| ()))?;
    }
    if let Some(b) = billing {
        crate::invoicing::service::save_billing(&mut tx, order_id, b).await?;
    }
    let free = total == 0;
    if free {
        // Nothing to pay: paid now, with its tickets and mails, in this same transaction.
        if mark_paid(&mut tx, config, order_id).await? != Paid::Issued {
            return Err(AppError::invalid("cart", "shop.error.not_enough_left"));
        }
        audit(
            &mut tx,
            user_id,
            "CONFIRM_FREE_ORDER",
            "order",
            &order_id.to_string(),
            serde_json::json!({ "voucher": voucher.map(|v| v.code.clone()), "discount_cents": discount }),
        )
        .await?;
    } else if let Some(page) = payment {
        crate::payments::service::record_checkout_page(&mut tx, order_id, page).await?;
    }
    tx.commit().await?;
    // Counted once committed: a checkout that lost the race for the seats rolled back.
    crate::server::metrics::order_transition("PENDING_PAYMENT");
    let seats: i64 = rows.iter().map(|l| l.quantity).sum();
    let mut items: Vec<OrderItemView> = rows
        .into_iter()
        .map(|l| OrderItemView {
            name: l.pass.name,
            quantity: l.quantity,
            unit_price_cents: l.unit,
            line_total_cents: l.line_total,
        })
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(OrderView {
        id: order_id,
        status: if free {
            OrderStatus::Paid
        } else {
            OrderStatus::PendingPayment
        },
        total_cents: total,
        currency: currency.unwrap_or_else(|| "eur".into()),
        created_at: now,
        reserved_until: Some(reserved_until),
        checkout_url: payment.filter(|_| !free).map(|p| p.url.clone()),
        ticket_count: if free { seats } else { 0 },
        items,
        voucher_code: voucher.map(|v| v.code.clone()),
        discount_cents: discount,
        invoices: vec![],
        billing: None,
    })
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
    Ok(Paid::Issued)
}

/// The QR text of a ticket token: an HMAC of the token row's id under the server's secret. The
/// database keeps only its SHA-256, so a copy of the database cannot make tickets.
pub fn ticket_token(config: &Config, token_id: Uuid) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&config.secret_key).expect("any key length");
    mac.update(b"ticket-token\0");
    mac.update(token_id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

async fn new_token(
    tx: &mut Tx,
    config: &Config,
    ticket_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    let token_id = Uuid::new_v4();
    tx_run!(tx, c => sqlx::query("INSERT INTO ticket_tokens (id, ticket_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_id).bind(ticket_id).bind(hash_token(&ticket_token(config, token_id))).bind(now()).bind(expires_at)
        .execute(c).await.map(|_| ()))
}

/// One ticket per seat of a paid order, held by the buyer, each with its token; and the two mails.
/// Returns the confirmation mail's id (the invoice goes with it).
async fn issue_tickets(tx: &mut Tx, config: &Config, order_id: Uuid) -> Result<Uuid, sqlx::Error> {
    let (user_id, email, locale, total, currency): (Uuid, String, String, i64, String) = tx_run!(tx, c => sqlx::query_as(
        "SELECT o.user_id, u.email, u.locale, o.total_cents, o.currency FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1")
        .bind(order_id).fetch_one(c).await)?;
    let now = now();
    let mut count: i64 = 0;
    for (type_id, q) in items(tx, order_id).await? {
        for _ in 0..q {
            let ticket_id = Uuid::new_v4();
            tx_run!(tx, c => sqlx::query("INSERT INTO tickets (id, user_id, order_id, ticket_type_id, status, issued_at) VALUES ($1, $2, $3, $4, 'VALID', $5)")
                .bind(ticket_id).bind(user_id).bind(order_id).bind(type_id).bind(now).execute(c).await.map(|_| ()))?;
            new_token(tx, config, ticket_id, None).await?;
            count += 1;
        }
    }
    let locale = Locale::from_code(&locale).unwrap_or_default();
    let reference = short_ref(order_id);
    let order_mail = Mail {
        kind: MailKind::OrderConfirmed,
        user_id: Some(user_id),
        to: email.clone(),
        locale,
        vars: vec![
            ("order", reference),
            ("total", crate::money::format_money(total, &currency, locale)),
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
    for (type_id, q) in items(tx, order_id).await? {
        tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET sold_count = sold_count - $1 WHERE id = $2").bind(q).bind(type_id).execute(c).await.map(|_| ()))?;
    }
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
                ("total", crate::money::format_money(total, &currency, locale)),
            ],
            link: Some(format!("{}/me/orders", config.base_url)),
            order_id: Some(order_id),
        },
    )
    .await?;
    if let Some((credit_note, _)) = credit {
        crate::invoicing::service::attach(tx, mail, credit_note).await?;
    }
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

/// Checkout attempts one account may make in [`CHECKOUT_WINDOW_SECS`] (each holds seats).
pub const CHECKOUT_PER_ACCOUNT: usize = 10;
/// Checkout attempts one IP address may make in [`CHECKOUT_WINDOW_SECS`], all accounts together.
pub const CHECKOUT_PER_IP: usize = 30;
pub const CHECKOUT_WINDOW_SECS: u64 = 10 * 60;

/// Counts a checkout attempt of `user` (and of the request's IP); 429 past either budget.
fn checkout_rate_limit(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
    use crate::accounts::service::{ip_key, limited};
    let key = format!("checkout:acct:{}", user.id);
    limited(state, &key, CHECKOUT_PER_ACCOUNT, CHECKOUT_WINDOW_SECS)?;
    let key = format!("checkout:ip:{}", ip_key(state));
    limited(state, &key, CHECKOUT_PER_IP, CHECKOUT_WINDOW_SECS)
}

/// Creates the order and sends the buyer to the payment page; returns that page's URL. Seats are
/// held only by verified accounts (when `CHECKOUT_REQUIRES_VERIFIED_EMAIL`), at most
/// `MAX_OPEN_ORDERS_PER_ACCOUNT` orders awaiting payment at once, and attempts are rate limited
/// per account and per IP.
pub async fn start_checkout(
    state: &AppState,
    user: &AuthUser,
    lines: &[CartLine],
    voucher: Option<&str>,
    billing: Option<&crate::invoicing::BillingInput>,
) -> Result<String, AppError> {
    let billing = match billing {
        Some(b) => crate::invoicing::service::parse_billing(b)?,
        None => None,
    };
    checkout_rate_limit(state, user)?;
    if state.config.checkout_requires_verified_email && !user.verified {
        return Err(AppError::invalid("cart", "shop.error.email_unverified"));
    }
    let voucher = match voucher.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(crate::vouchers::service::lookup(state, code, Some(user.id)).await?),
        None => None,
    };
    // The test mode's payment page needs nothing from outside: it is recorded with the order, in
    // one write. Stripe's is asked for once the order exists, outside any transaction.
    let test_page = crate::payments::service::test_checkout_page(state);
    let max_open = Some(state.config.max_open_orders_per_account);
    let create = || {
        create_order(
            &state.db,
            &state.config,
            user.id,
            lines,
            Extras {
                max_open,
                payment: test_page.as_ref(),
                voucher: voucher.as_ref(),
                billing: billing.as_ref(),
            },
        )
    };
    let order = match create().await {
        // Seats held by reservations that ran out go back before the buyer is told there are none
        // left (the sweeper does it too, but only every so often).
        Err(AppError::Invalid { key, .. }) if key == "shop.error.not_enough_left" => {
            release_expired(state).await?;
            create().await?
        }
        other => other?,
    };
    if order.status == OrderStatus::Paid {
        // Nothing to pay (a free pass, a voucher's full discount): no payment page at all.
        state.mailer.wake();
        return Ok(format!(
            "{}/orders/{}/confirmation",
            state.config.base_url, order.id
        ));
    }
    if let Some(page) = test_page {
        return Ok(page.url);
    }
    let page = crate::payments::service::CheckoutOrder {
        id: order.id,
        reserved_until: order.reserved_until,
        currency: order.currency.clone(),
        lines: order
            .items
            .iter()
            .map(|i| {
                let quantity = u64::try_from(i.quantity).unwrap_or(0);
                (i.name.clone(), quantity, i.unit_price_cents)
            })
            .collect(),
    };
    match crate::payments::service::create_checkout(state, user, &page).await {
        Ok(url) => Ok(url),
        Err(e) => {
            let mut tx = state.db.begin().await?;
            release(&mut tx, order.id).await?;
            tx.commit().await?;
            Err(e)
        }
    }
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
                    super::payment_events::process_event(state, &event).await?;
                }
            }
            Ok(())
        }
        _ => Err(AppError::NotFound),
    }
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
        audit(
            &mut tx,
            admin_id,
            "REFUND_ORDER",
            "order",
            &order_id.to_string(),
            serde_json::json!({ "refund": refund_id }),
        )
        .await?;
    }
    tx.commit().await?;
    crate::waitlist::service::offer_seats_soon(state).await;
    state.mailer.wake();
    Ok(())
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    #[sqlx(try_from = "String")]
    status: OrderStatus,
    total_cents: i64,
    currency: String,
    created_at: DateTime<Utc>,
    reserved_until: Option<DateTime<Utc>>,
    checkout_url: Option<String>,
    ticket_count: i64,
    voucher_code: Option<String>,
    discount_cents: i64,
}

/// Orders, newest first: of one user, or one order.
pub async fn orders_of(
    db: &Db,
    user_id: Option<Uuid>,
    order_id: Option<Uuid>,
) -> Result<Vec<OrderView>, AppError> {
    // One WHERE per case rather than `($1 IS NULL OR o.user_id = $1)`: neither engine uses an
    // index through such an OR, and a checkout then scanned every order ever made.
    let filter = match (user_id, order_id) {
        (Some(_), Some(_)) => "o.user_id = $1 AND o.id = $2",
        (Some(_), None) => "o.user_id = $1",
        (None, Some(_)) => "o.id = $1",
        (None, None) => "TRUE",
    };
    let sql = format!(
        "SELECT o.id, o.status, o.total_cents, o.currency, o.created_at, o.reserved_until, \
         (SELECT p.checkout_url FROM payments p WHERE p.order_id = o.id AND p.status = 'INIT' ORDER BY p.created_at DESC LIMIT 1) AS checkout_url, \
         (SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id) AS ticket_count, \
         (SELECT v.code FROM vouchers v WHERE v.id = o.voucher_id) AS voucher_code, o.discount_cents \
         FROM orders o WHERE {filter} ORDER BY o.created_at DESC LIMIT 100"
    );
    let rows: Vec<OrderRow> = db_run!(db, pool => {
        let mut q = sqlx::query_as(&sql);
        if let Some(u) = user_id {
            q = q.bind(u);
        }
        if let Some(o) = order_id {
            q = q.bind(o);
        }
        q.fetch_all(pool).await
    })?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut items: BTreeMap<Uuid, Vec<OrderItemView>> = BTreeMap::new();
    let mut documents: BTreeMap<Uuid, Vec<crate::invoicing::InvoiceLink>> = BTreeMap::new();
    let mut billing: BTreeMap<Uuid, crate::invoicing::BillingInput> = BTreeMap::new();
    for id in &ids {
        documents.insert(*id, crate::invoicing::service::links_of(db, *id).await?);
        if let Some(b) = crate::invoicing::service::billing_input(db, *id).await? {
            billing.insert(*id, b);
        }
        let lines: Vec<(String, i64, i64, i64)> = db_run!(db, pool => sqlx::query_as(
            "SELECT t.name, i.quantity, i.unit_price_cents, i.line_total_cents FROM order_items i JOIN ticket_types t ON t.id = i.ticket_type_id WHERE i.order_id = $1 ORDER BY t.name")
            .bind(id).fetch_all(pool).await)?;
        items.insert(
            *id,
            lines
                .into_iter()
                .map(
                    |(name, quantity, unit_price_cents, line_total_cents)| OrderItemView {
                        name,
                        quantity,
                        unit_price_cents,
                        line_total_cents,
                    },
                )
                .collect(),
        );
    }
    Ok(rows
        .into_iter()
        .map(|r| OrderView {
            items: items.remove(&r.id).unwrap_or_default(),
            invoices: documents.remove(&r.id).unwrap_or_default(),
            billing: billing.remove(&r.id),
            checkout_url: r
                .checkout_url
                .filter(|_| r.status == OrderStatus::PendingPayment),
            id: r.id,
            status: r.status,
            total_cents: r.total_cents,
            currency: r.currency,
            created_at: r.created_at,
            reserved_until: r.reserved_until,
            ticket_count: r.ticket_count,
            voucher_code: r.voucher_code,
            discount_cents: r.discount_cents,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: Uuid,
    order_id: Uuid,
    type_name: String,
    #[sqlx(try_from = "String")]
    status: TicketStatus,
    holder_name: Option<String>,
    holder_email: Option<String>,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    used_at: Option<DateTime<Utc>>,
    token_id: Option<Uuid>,
    door_no: Option<i64>,
    issue_no: i64,
}

/// A user's tickets (or an order's), each with its current token and QR code.
pub async fn tickets_of(
    state: &AppState,
    user_id: Uuid,
    order_id: Option<Uuid>,
) -> Result<Vec<TicketView>, AppError> {
    let rows: Vec<TicketRow> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT t.id, t.order_id, tt.name AS type_name, t.status, t.holder_name, t.holder_email, tt.valid_from, tt.valid_until, t.used_at, tt.door_no, t.issue_no, \
         (SELECT k.id FROM ticket_tokens k WHERE k.ticket_id = t.id AND k.revoked_at IS NULL ORDER BY k.created_at DESC LIMIT 1) AS token_id \
         FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE t.user_id = $1 AND ($2 IS NULL OR t.order_id = $2) ORDER BY t.issued_at, t.id")
        .bind(user_id).bind(order_id).fetch_all(pool).await)?;
    let key = if rows.is_empty() {
        None
    } else {
        Some(crate::ticketing::codes::signing_key(&state.db, &state.config).await?)
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let token = r
                .token_id
                .map(|id| ticket_token(&state.config, id))
                .unwrap_or_default();
            let code = crate::ticketing::codes::qr_text(
                key.as_ref().filter(|_| r.token_id.is_some()),
                &crate::ticketing::codes::CodeFacts {
                    ticket_id: r.id,
                    issue: r.issue_no,
                    door_no: r.door_no,
                    valid_from: r.valid_from,
                    valid_until: r.valid_until,
                },
                || token.clone(),
            );
            TicketView {
                qr_svg: if code.is_empty() || r.status == TicketStatus::Canceled {
                    String::new()
                } else {
                    qr::svg(&code)
                },
                code,
                token,
                id: r.id,
                order_id: r.order_id,
                type_name: r.type_name,
                status: r.status,
                holder_name: r.holder_name,
                holder_email: r.holder_email,
                valid_days: valid_days(&state.config, r.valid_from, r.valid_until),
                used_at: r.used_at,
            }
        })
        .collect())
}

/// The PNG QR codes of an order's valid tickets, for the tickets mail: (ticket id, png).
pub async fn ticket_pngs(
    db: &Db,
    config: &Config,
    order_id: Uuid,
) -> Result<Vec<(Uuid, Vec<u8>)>, sqlx::Error> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        Uuid,
        Uuid,
        i64,
        Option<i64>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    )> = db_run!(db, pool => sqlx::query_as(
        "SELECT t.id, k.id, t.issue_no, tt.door_no, tt.valid_from, tt.valid_until FROM tickets t \
         JOIN ticket_tokens k ON k.ticket_id = t.id AND k.revoked_at IS NULL JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE t.order_id = $1 AND t.status = 'VALID' ORDER BY t.issued_at, t.id")
        .bind(order_id).fetch_all(pool).await)?;
    let key = match rows.is_empty() {
        true => None,
        false => crate::ticketing::codes::signing_key(db, config).await.ok(),
    };
    Ok(rows
        .into_iter()
        .map(|(ticket, token, issue, door_no, valid_from, valid_until)| {
            let code = crate::ticketing::codes::qr_text(
                key.as_ref(),
                &crate::ticketing::codes::CodeFacts {
                    ticket_id: ticket,
                    issue,
                    door_no,
                    valid_from,
                    valid_until,
                },
                || ticket_token(config, token),
            );
            (ticket, qr::png(&code, 6))
        })
        .collect())
}

/// Names who holds a ticket (the buyer by default).
pub async fn set_holder(
    db: &Db,
    user_id: Uuid,
    ticket_id: Uuid,
    name: &str,
    email: &str,
) -> Result<(), AppError> {
    let name = name.trim();
    let email = email.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(AppError::invalid(
            "holder_name",
            "tickets.error.holder_name",
        ));
    }
    let email = crate::accounts::service::normalise_email(email)
        .map_err(|_| AppError::invalid("holder_email", "accounts.error.email_invalid"))?;
    let n = crate::db_write!(db, pool => sqlx::query("UPDATE tickets SET holder_name = $1, holder_email = $2 WHERE id = $3 AND user_id = $4 AND status = 'VALID'")
        .bind(name).bind(&email).bind(ticket_id).bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 1 {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Replaces a ticket's token: the old QR code stops working at once.
pub async fn reissue_token(
    tx: &mut Tx,
    config: &Config,
    ticket_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE ticket_tokens SET revoked_at = $1 WHERE ticket_id = $2 AND revoked_at IS NULL").bind(now()).bind(ticket_id).execute(c).await.map(|_| ()))?;
    // The signed code of the previous issue is revoked too (the door's devices learn it at sync).
    tx_run!(tx, c => sqlx::query("UPDATE tickets SET issue_no = issue_no + 1 WHERE id = $1").bind(ticket_id).execute(c).await.map(|_| ()))?;
    new_token(tx, config, ticket_id, expires_at).await
}

/// The ticket of a QR text, if the token is live (not replaced, not expired).
pub async fn ticket_by_token(db: &Db, token: &str) -> Result<Option<Uuid>, AppError> {
    let row: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT ticket_id FROM ticket_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)")
        .bind(hash_token(token.trim())).bind(now()).fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: Uuid, q: &str) -> CartLine {
        CartLine {
            ticket_type_id: id,
            quantity: q.into(),
        }
    }

    #[test]
    fn carts_are_parsed_once_and_strictly() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            parse_cart(&[line(a, "2"), line(b, ""), line(a, "1")], 10).unwrap(),
            vec![(a, 3)]
        );
        for (bad, key) in [
            (vec![line(a, "-1")], "shop.error.quantity_invalid"),
            (vec![line(a, "1.5")], "shop.error.quantity_invalid"),
            (vec![line(a, "0"), line(b, "")], "shop.error.empty"),
            (vec![line(a, "6"), line(b, "5")], "shop.error.too_many"),
        ] {
            assert_eq!(parse_cart(&bad, 10).unwrap_err().message_key(), key);
        }
        // Huge quantities are refused on their own field, never added up into an overflow.
        let max = i64::MAX.to_string();
        for bad in [
            vec![line(a, &max)],
            vec![line(a, "1"), line(b, &max)],
            vec![line(a, &max), line(a, &max)],
            vec![line(a, "9"), line(a, "9")],
        ] {
            let e = parse_cart(&bad, 10).unwrap_err();
            assert_eq!(e.message_key(), "shop.error.too_many");
            assert!(
                e.field()
                    .is_some_and(|f| f == a.to_string() || f == b.to_string()),
                "{e:?}"
            );
        }
    }
}
