//! Credit notes: what is left to credit on the current invoice, and the note that gives it back.
use super::*;

/// How much a credit note gives back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credit {
    /// Everything the current invoice still holds (a full refund, a correction).
    Rest,
    /// Up to this many cents refunded in all on the order (a partial refund; what earlier credit
    /// notes covered is deducted, so a repeated event credits nothing twice).
    UpTo(i64),
}

/// The order's invoice in force: the last one issued (a correction issues a new one).
pub(crate) async fn current_invoice(
    tx: &mut Tx,
    order_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id FROM invoices WHERE order_id = $1 AND kind = 'INVOICE' ORDER BY issued_at DESC, seq DESC LIMIT 1")
        .bind(order_id).fetch_optional(c).await)?;
    Ok(row.map(|r| r.0))
}

/// Per rate: what the credit notes of `invoice` already took back (negative amounts).
pub(crate) async fn credited(tx: &mut Tx, invoice: Uuid) -> Result<Vec<DocLine>, sqlx::Error> {
    let rows: Vec<LineRow> = tx_run!(tx, c => sqlx::query_as(
        "SELECT '' AS description, CAST(0 AS BIGINT) AS quantity, CAST(0 AS BIGINT) AS unit_net_cents, l.vat_rate_bp, \
         CAST(SUM(l.net_cents) AS BIGINT) AS net_cents, CAST(SUM(l.vat_cents) AS BIGINT) AS vat_cents, CAST(SUM(l.gross_cents) AS BIGINT) AS gross_cents \
         FROM invoice_lines l JOIN invoices n ON n.id = l.invoice_id WHERE n.corrects_id = $1 GROUP BY l.vat_rate_bp")
        .bind(invoice).fetch_all(c).await)?;
    Ok(rows.into_iter().map(line).collect())
}

/// A credit note against the order's current invoice, in the caller's transaction; `None` when
/// there is nothing (left) to credit or no invoice. It copies the invoice's buyer and event, and
/// has one negative line per VAT rate (every line of the invoice, negated, when it cancels an
/// invoice nothing was credited on yet).
pub async fn credit_note(
    tx: &mut Tx,
    config: &Config,
    order_id: Uuid,
    credit: Credit,
    reason: &str,
) -> Result<Option<(Uuid, Document)>, sqlx::Error> {
    let Some(invoice_id) = current_invoice(tx, order_id).await? else {
        return Ok(None);
    };
    let invoice = load_tx(tx, invoice_id).await?;
    let done = credited(tx, invoice_id).await?;
    let l = invoice.locale;
    // What is left per rate: the invoice's totals plus the (negative) credits.
    let left: Vec<(i64, i64, i64, i64)> = invoice
        .rate_totals()
        .into_iter()
        .map(|r| {
            let d = done.iter().find(|d| d.vat_rate_bp == r.vat_rate_bp);
            (
                r.vat_rate_bp,
                r.net_cents + d.map_or(0, |d| d.net_cents),
                r.vat_cents + d.map_or(0, |d| d.vat_cents),
                r.gross_cents + d.map_or(0, |d| d.gross_cents),
            )
        })
        .collect();
    let left_gross: i64 = left.iter().map(|r| r.3).sum();
    let balance_line = |rate: i64, net: i64, vat: i64, gross: i64, key: &str| DocLine {
        description: tr_with(
            l,
            key,
            &[
                ("number", &invoice.number),
                ("rate", &crate::invoicing::document::rate_text(rate, l)),
            ],
        ),
        quantity: 1,
        unit_net_cents: -net,
        vat_rate_bp: rate,
        net_cents: -net,
        vat_cents: -vat,
        gross_cents: -gross,
    };
    let lines: Vec<DocLine> = match credit {
        Credit::Rest if done.is_empty() => invoice
            .lines
            .iter()
            .map(|x| DocLine {
                description: x.description.clone(),
                quantity: x.quantity,
                unit_net_cents: -x.unit_net_cents,
                vat_rate_bp: x.vat_rate_bp,
                net_cents: -x.net_cents,
                vat_cents: -x.vat_cents,
                gross_cents: -x.gross_cents,
            })
            .collect(),
        Credit::Rest => left
            .iter()
            .filter(|r| r.1 != 0 || r.2 != 0 || r.3 != 0)
            .map(|r| balance_line(r.0, r.1, r.2, r.3, "invoice.line.balance"))
            .collect(),
        Credit::UpTo(refunded) => {
            let already: i64 = -done.iter().map(|d| d.gross_cents).sum::<i64>();
            let amount = refunded.saturating_sub(already).min(left_gross);
            if amount <= 0 {
                return Ok(None);
            }
            let weights: Vec<i64> = left.iter().map(|r| r.3.max(0)).collect();
            left.iter()
                .zip(allocate(amount, &weights))
                .filter(|(_, g)| *g != 0)
                .map(|(r, g)| {
                    let (_, vat) = split_gross(g, r.0);
                    // Never more VAT or net than the rate has left.
                    let vat = vat.clamp(0, r.2.max(0)).max(g - r.1.max(0));
                    balance_line(r.0, g - vat, vat, g, "invoice.line.partial")
                })
                .collect()
        }
    };
    if lines.is_empty() {
        return Ok(None);
    }
    let mut doc = Document {
        kind: DocKind::CreditNote,
        number: String::new(),
        issued_at: now(),
        paid_at: Some(now()),
        corrects: Some((invoice.number.clone(), invoice.issued_at)),
        reason: Some(reason.to_string()),
        locale: l,
        currency: invoice.currency.clone(),
        order_ref: invoice.order_ref.clone(),
        payment_reference: invoice.payment_reference.clone(),
        timezone: config.timezone.name().to_string(),
        seller: seller(&config.invoice, l),
        buyer: invoice.buyer.clone(),
        event: invoice.event.clone(),
        lines,
    };
    let id = insert(tx, config, order_id, Some(invoice_id), &mut doc).await?;
    let (buyer,): (Uuid,) = tx_run!(tx, c => sqlx::query_as("SELECT user_id FROM orders WHERE id = $1")
        .bind(order_id).fetch_one(c).await)?;
    Audit::new(buyer, "ISSUE_CREDIT_NOTE", "invoice", id).meta(serde_json::json!({ "number": doc.number, "corrects": invoice.number, "reason": reason, "gross_cents": doc.totals().2 })).write(tx).await?;
    Ok(Some((id, doc)))
}
