//! The invoice of an order just paid.
use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct OrderHead {
    user_id: Uuid,
    email: String,
    locale: String,
    currency: String,
    first_name: Option<String>,
    last_name: Option<String>,
    voucher_code: Option<String>,
    payment_reference: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ItemRow {
    name: String,
    quantity: i64,
    unit_price_cents: i64,
    line_total_cents: i64,
    list_price_cents: Option<i64>,
    vat_rate_bp: Option<i64>,
    net_cents: Option<i64>,
    vat_cents: Option<i64>,
    pass_rate_bp: Option<i64>,
}

/// The conference's first and last instants (its talks).
pub(crate) async fn event(tx: &mut Tx, config: &Config) -> Result<EventInfo, sqlx::Error> {
    let (starts_at, ends_at): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = tx_run!(tx, c => sqlx::query_as(
        "SELECT MIN(start_at), MAX(end_at) FROM conferences").fetch_one(c).await)?;
    Ok(EventInfo {
        name: config.event_name.clone(),
        starts_at,
        ends_at,
        location: None,
    })
}

/// The invoice of an order just paid, in the transaction that marks it paid: its lines are the
/// order's lines (net, VAT and gross as fixed when the order was made), its buyer the account's
/// name, or the company the buyer gave. Returns its id (for the confirmation mail).
pub async fn issue_invoice(
    tx: &mut Tx,
    config: &Config,
    order_id: Uuid,
    paid_at: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    let head: OrderHead = tx_run!(tx, c => sqlx::query_as(
        "SELECT o.user_id, u.email, u.locale, o.currency, p.first_name, p.last_name, \
         (SELECT v.code FROM vouchers v WHERE v.id = o.voucher_id) AS voucher_code, \
         (SELECT COALESCE(pm.stripe_payment_intent_id, pm.stripe_checkout_session_id) FROM payments pm WHERE pm.order_id = o.id AND pm.status = 'SUCCEEDED' ORDER BY pm.updated_at DESC LIMIT 1) AS payment_reference \
         FROM orders o JOIN users u ON u.id = o.user_id LEFT JOIN profiles p ON p.user_id = o.user_id WHERE o.id = $1")
        .bind(order_id).fetch_one(c).await)?;
    let locale = Locale::from_code(&head.locale).unwrap_or_default();
    let items: Vec<ItemRow> = tx_run!(tx, c => sqlx::query_as(
        "SELECT t.name, i.quantity, i.unit_price_cents, i.line_total_cents, i.list_price_cents, i.vat_rate_bp, i.net_cents, i.vat_cents, t.vat_rate_bp AS pass_rate_bp \
         FROM order_items i JOIN ticket_types t ON t.id = i.ticket_type_id WHERE i.order_id = $1 ORDER BY t.name, i.id")
        .bind(order_id).fetch_all(c).await)?;
    let lines = items
        .into_iter()
        .map(|i| {
            let rate = i
                .vat_rate_bp
                .unwrap_or_else(|| config.invoice.rate_for(i.pass_rate_bp));
            let (net, vat) = match (i.net_cents, i.vat_cents) {
                (Some(n), Some(v)) => (n, v),
                _ => split_gross(i.line_total_cents, rate),
            };
            let mut description = i.name;
            if let (Some(list), Some(code)) = (i.list_price_cents, head.voucher_code.as_ref()) {
                if list > i.unit_price_cents {
                    description = tr_with(
                        locale,
                        "invoice.line.discount",
                        &[
                            ("pass", &description),
                            ("code", code),
                            (
                                "off",
                                &format_money(list - i.unit_price_cents, &head.currency, locale),
                            ),
                        ],
                    );
                }
            }
            DocLine {
                description,
                quantity: i.quantity,
                unit_net_cents: if i.quantity > 0 {
                    net / i.quantity
                } else {
                    net
                },
                vat_rate_bp: rate,
                net_cents: net,
                vat_cents: vat,
                gross_cents: i.line_total_cents,
            }
        })
        .collect();
    let name = one_line(
        &[head.first_name.as_deref(), head.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    );
    let billing = billing_of(tx, order_id).await?;
    let buyer = Buyer {
        name: if name.is_empty() {
            head.email.clone()
        } else {
            name
        },
        // No address on an invoice: it needs none, and it outlives an erased account.
        email: String::new(),
        company: billing.as_ref().map(|b| b.company.clone()),
        address: billing
            .as_ref()
            .map(|b| b.address.lines().map(str::to_string).collect())
            .unwrap_or_default(),
        country: billing.as_ref().map(|b| b.country.clone()),
        vat_number: billing.as_ref().and_then(|b| b.vat_number.clone()),
        reference: billing.as_ref().and_then(|b| b.reference.clone()),
    };
    let mut doc = Document {
        kind: DocKind::Invoice,
        number: String::new(),
        issued_at: paid_at,
        paid_at: Some(paid_at),
        corrects: None,
        reason: None,
        locale,
        currency: head.currency,
        order_ref: short_ref(order_id),
        payment_reference: head.payment_reference,
        timezone: config.timezone.name().to_string(),
        seller: seller(&config.invoice, locale),
        buyer,
        event: event(tx, config).await?,
        lines,
    };
    let id = insert(tx, config, order_id, None, &mut doc).await?;
    Audit::new(head.user_id, "ISSUE_INVOICE", "invoice", id).meta(serde_json::json!({ "number": doc.number, "order": order_id, "gross_cents": doc.totals().2 })).write(tx).await?;
    Ok(id)
}
