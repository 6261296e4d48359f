//! What the shop shows: its passes, the cart its form sends, and the buyer's orders.
use super::*;

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
    let questions = crate::attendees::service::active(db).await?;
    let named = crate::attendees::service::names_required(db).await?;
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
                questions: questions
                    .iter()
                    .filter(|q| q.asked_for(r.id))
                    .cloned()
                    .collect(),
                names_required: named.contains(&r.id),
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

#[derive(sqlx::FromRow)]
pub(crate) struct OrderRow {
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
