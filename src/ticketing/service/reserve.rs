//! Checkout: an order created with its seats reserved (and its voucher's uses counted), the
//! checkout's limits, and the way to the payment page.
use super::*;

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
pub(crate) async fn open_orders(
    tx: &mut Tx,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = tx_run!(tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM orders WHERE user_id = $1 AND status = 'PENDING_PAYMENT' AND (reserved_until IS NULL OR reserved_until > $2)")
        .bind(user_id).bind(now).fetch_one(c).await)?;
    Ok(n)
}

/// What an order may come with besides its lines.
#[derive(Default, Clone, Copy)]
pub(crate) struct Extras<'a> {
    /// Refused when the buyer already has this many orders awaiting payment.
    max_open: Option<i64>,
    /// The payment page's record (INIT), written in the same transaction.
    payment: Option<&'a crate::payments::service::CheckoutPage>,
    voucher: Option<&'a crate::vouchers::service::Voucher>,
    /// The company the invoice is to go to.
    billing: Option<&'a crate::invoicing::service::Billing>,
    /// The seats' holders and answers, as checked (`attendees::service::check_attendees`).
    attendees: &'a [crate::attendees::service::Attendee],
}

/// One line of an order as it will be written.
pub(crate) struct Line {
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
pub(crate) async fn create_order(
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
        attendees,
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
    crate::attendees::service::keep_for_order(&mut tx, order_id, attendees).await?;
    let free = total == 0;
    if free {
        // Nothing to pay: paid now, with its tickets and mails, in this same transaction.
        if mark_paid(&mut tx, config, order_id).await? != Paid::Issued {
            return Err(AppError::invalid("cart", "shop.error.not_enough_left"));
        }
        Audit::new(user_id, "CONFIRM_FREE_ORDER", "order", order_id).meta(serde_json::json!({ "voucher": voucher.map(|v| v.code.clone()), "discount_cents": discount })).write(&mut tx).await?;
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

/// Checkout attempts one account may make in [`CHECKOUT_WINDOW_SECS`] (each holds seats).
pub const CHECKOUT_PER_ACCOUNT: usize = 10;
/// Checkout attempts one IP address may make in [`CHECKOUT_WINDOW_SECS`], all accounts together.
pub const CHECKOUT_PER_IP: usize = 30;
pub const CHECKOUT_WINDOW_SECS: u64 = 10 * 60;

/// Counts a checkout attempt of `user` (and of the request's IP); 429 past either budget.
pub(crate) fn checkout_rate_limit(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
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
/// What the shop's form sends: the cart's lines, a voucher code, the company to invoice, and each
/// seat's holder and answers (`attendees[<pass index>-<seat>][…]`).
#[derive(Clone, Copy)]
pub struct Cart<'a> {
    pub lines: &'a [CartLine],
    pub voucher: Option<&'a str>,
    pub billing: Option<&'a crate::invoicing::BillingInput>,
    pub attendees: &'a std::collections::HashMap<String, crate::attendees::AttendeeInput>,
}

pub async fn start_checkout(
    state: &AppState,
    user: &AuthUser,
    cart: &Cart<'_>,
) -> Result<String, AppError> {
    let Cart {
        lines,
        voucher,
        billing,
        attendees,
    } = *cart;
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
    let seats = parse_cart(lines, state.config.max_tickets_per_order)?;
    let attendees =
        crate::attendees::service::check_attendees(&state.db, &seats, attendees).await?;
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
                attendees: &attendees,
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
