//! Issuing invoices and credit notes (server only). One function per state change:
//! [`issue_invoice`] when an order is paid, [`credit_note`] when money goes back, [`set_billing`]
//! when the buyer gives or corrects a company address. Each runs in the caller's transaction, so
//! a document exists exactly when the change it documents committed.
use super::{
    document::{Buyer, DocKind, DocLine, Document, EventInfo, Seller},
    settings::InvoiceSettings,
    BillingInput, InvoiceLink,
};
use crate::{
    server::audit::audit,
    db_run,
    error::AppError,
    i18n::{tr, tr_with, Locale},
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
    server::{
        config::Config,
        db::{Db, Tx},
        state::now, state::AppState,
    },
    money::format_money,
    text::{one_line, printable, short_ref},
    tx_run,
};
use chrono::{DateTime, Datelike, Utc};
use sqlx::types::Json;
use uuid::Uuid;

/// `(net, vat)` of a line of `gross` cents at `rate_bp`: the VAT is `gross × rate / (1 + rate)`
/// rounded half away from zero to the cent, the net the rest, so `net + vat = gross` exactly.
pub fn split_gross(gross: i64, rate_bp: i64) -> (i64, i64) {
    let rate = i128::from(rate_bp.clamp(0, 10_000));
    let den = 10_000 + rate;
    let num = i128::from(gross).abs() * rate;
    let vat_abs = (2 * num + den) / (2 * den);
    // |vat| <= |gross|: it fits.
    let vat = i64::try_from(vat_abs).unwrap_or(0) * gross.signum();
    (gross - vat, vat)
}

/// Shares `amount` between `weights` in proportion, to the cent, the remainders going to the
/// largest fractions (ties: the first): the parts always add up to `amount`.
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if total == 0 {
        let mut out = vec![0; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = amount;
        }
        return out;
    }
    let a = i128::from(amount);
    let mut parts: Vec<(usize, i128, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = a * i128::from(*w);
            (i, exact / total, exact % total)
        })
        .collect();
    let mut left = a - parts.iter().map(|p| p.1).sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|x, y| parts[*y].2.cmp(&parts[*x].2).then(x.cmp(y)));
    for i in order {
        if left == 0 {
            break;
        }
        parts[i].1 += left.signum();
        left -= left.signum();
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p.1).unwrap_or(0))
        .collect()
}

/// The series a kind of document is numbered in, and the year its counter runs for (0 when the
/// prefix has no `{year}`: one counter forever).
fn series(settings: &InvoiceSettings, kind: DocKind, local_year: i32) -> (String, i64) {
    let prefix = match kind {
        DocKind::Invoice => &settings.invoice_prefix,
        DocKind::CreditNote => &settings.credit_note_prefix,
    };
    let year = if prefix.contains("{year}") {
        i64::from(local_year)
    } else {
        0
    };
    (prefix.clone(), year)
}

/// The next number of a series: one statement that creates or bumps the counter row and says
/// the value it now holds. Two transactions queue on that row (PostgreSQL) or on the write lock
/// (SQLite); a rolled-back one gives its number back, so the sequence has no gap.
async fn next_seq(tx: &mut Tx, series: &str, year: i64) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = tx_run!(tx, c => sqlx::query_as(
        "INSERT INTO invoice_counters (series, year, last_value) VALUES ($1, $2, 1) \
         ON CONFLICT (series, year) DO UPDATE SET last_value = invoice_counters.last_value + 1 RETURNING last_value")
        .bind(series).bind(year).fetch_one(c).await)?;
    Ok(n)
}

/// The seller as the settings say today, texts in the document's language.
fn seller(settings: &InvoiceSettings, locale: Locale) -> Seller {
    let or_default = |value: &str, key: &str| {
        if value.is_empty() {
            tr(locale, key)
        } else {
            value.to_string()
        }
    };
    Seller {
        name: settings.seller_name.clone(),
        address: settings.seller_address.clone(),
        country: settings.seller_country.clone(),
        vat_number: settings.seller_vat_number.clone(),
        registration: settings.seller_registration.clone(),
        vat_registered: settings.vat_registered(),
        vat_exemption: if settings.vat_registered() {
            String::new()
        } else {
            or_default(&settings.vat_exemption, "invoice.default.vat_exemption")
        },
        payment_terms: or_default(&settings.payment_terms, "invoice.default.payment_terms"),
        late_penalties: or_default(&settings.late_penalties, "invoice.default.late_penalties"),
        footer: settings.footer.clone(),
    }
}

/// Writes a document: takes its number, dates it now (after the number: dates never go back
/// within a series), inserts it and its lines. Returns its id and number.
async fn insert(
    tx: &mut Tx,
    config: &Config,
    order_id: Uuid,
    corrects: Option<Uuid>,
    doc: &mut Document,
) -> Result<Uuid, sqlx::Error> {
    let local_year = now().with_timezone(&config.timezone).year();
    let (series, year) = series(&config.invoice, doc.kind, local_year);
    let seq = next_seq(tx, &series, year).await?;
    let issued_at = now();
    doc.number = format!(
        "{}{seq:05}",
        series.replace("{year}", &local_year.to_string())
    );
    doc.issued_at = issued_at;
    let id = Uuid::new_v4();
    let (net, vat, gross) = doc.totals();
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO invoices (id, number, kind, series, year, seq, order_id, corrects_id, reason, issued_at, paid_at, locale, currency, timezone, order_ref, \
         payment_reference, seller, buyer, event, buyer_name, buyer_company, net_cents, vat_cents, gross_cents) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)")
        .bind(id).bind(&doc.number).bind(doc.kind.as_str()).bind(&series).bind(year).bind(seq).bind(order_id).bind(corrects)
        .bind(&doc.reason).bind(issued_at).bind(doc.paid_at).bind(doc.locale.code()).bind(&doc.currency).bind(&doc.timezone)
        .bind(&doc.order_ref).bind(&doc.payment_reference).bind(Json(&doc.seller)).bind(Json(&doc.buyer)).bind(Json(&doc.event))
        .bind(&doc.buyer.name).bind(&doc.buyer.company).bind(net).bind(vat).bind(gross)
        .execute(c).await.map(|_| ()))?;
    for (i, l) in doc.lines.iter().enumerate() {
        tx_run!(tx, c => sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_net_cents, vat_rate_bp, net_cents, vat_cents, gross_cents) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(id).bind(i as i64).bind(&l.description).bind(l.quantity).bind(l.unit_net_cents).bind(l.vat_rate_bp)
            .bind(l.net_cents).bind(l.vat_cents).bind(l.gross_cents)
            .execute(c).await.map(|_| ()))?;
    }
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct OrderHead {
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
struct ItemRow {
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

#[derive(sqlx::FromRow)]
struct BillingRow {
    company: String,
    address: String,
    country: String,
    vat_number: Option<String>,
    reference: Option<String>,
}

/// The company an order is invoiced to, as the forms show it.
pub async fn billing_input(db: &Db, order_id: Uuid) -> Result<Option<BillingInput>, sqlx::Error> {
    let row: Option<BillingRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT company, address, country, vat_number, reference FROM billing_details WHERE order_id = $1")
        .bind(order_id).fetch_optional(pool).await)?;
    Ok(row.map(|b| BillingInput {
        company: b.company,
        address: b.address,
        country: b.country,
        vat_number: b.vat_number.unwrap_or_default(),
        reference: b.reference.unwrap_or_default(),
    }))
}

async fn billing_of(tx: &mut Tx, order_id: Uuid) -> Result<Option<BillingRow>, sqlx::Error> {
    tx_run!(tx, c => sqlx::query_as("SELECT company, address, country, vat_number, reference FROM billing_details WHERE order_id = $1")
        .bind(order_id).fetch_optional(c).await)
}

/// The conference's first and last instants (its talks).
async fn event(tx: &mut Tx, config: &Config) -> Result<EventInfo, sqlx::Error> {
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
    audit(
        tx,
        head.user_id,
        "ISSUE_INVOICE",
        "invoice",
        &id.to_string(),
        serde_json::json!({ "number": doc.number, "order": order_id, "gross_cents": doc.totals().2 }),
    )
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct DocRow {
    number: String,
    kind: String,
    order_id: Uuid,
    corrects_id: Option<Uuid>,
    reason: Option<String>,
    issued_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    locale: String,
    currency: String,
    timezone: String,
    order_ref: String,
    payment_reference: Option<String>,
    seller: Json<Seller>,
    buyer: Json<Buyer>,
    event: Json<EventInfo>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    description: String,
    quantity: i64,
    unit_net_cents: i64,
    vat_rate_bp: i64,
    net_cents: i64,
    vat_cents: i64,
    gross_cents: i64,
}

/// A document's lines, in order (`$1` its id).
const LINES_SQL: &str = "SELECT description, quantity, unit_net_cents, vat_rate_bp, net_cents, vat_cents, gross_cents FROM invoice_lines WHERE invoice_id = $1 ORDER BY position";

const DOC_COLUMNS: &str = "number, kind, order_id, corrects_id, reason, issued_at, paid_at, locale, currency, timezone, order_ref, payment_reference, seller, buyer, event";

fn line(r: LineRow) -> DocLine {
    DocLine {
        description: r.description,
        quantity: r.quantity,
        unit_net_cents: r.unit_net_cents,
        vat_rate_bp: r.vat_rate_bp,
        net_cents: r.net_cents,
        vat_cents: r.vat_cents,
        gross_cents: r.gross_cents,
    }
}

fn assemble(r: DocRow, lines: Vec<LineRow>, corrects: Option<(String, DateTime<Utc>)>) -> Document {
    Document {
        kind: DocKind::parse(&r.kind).unwrap_or(DocKind::Invoice),
        number: r.number,
        issued_at: r.issued_at,
        paid_at: r.paid_at,
        corrects,
        reason: r.reason,
        locale: Locale::from_code(&r.locale).unwrap_or_default(),
        currency: r.currency,
        order_ref: r.order_ref,
        payment_reference: r.payment_reference,
        timezone: r.timezone,
        seller: r.seller.0,
        buyer: r.buyer.0,
        event: r.event.0,
        lines: lines.into_iter().map(line).collect(),
    }
}

/// An issued document as stored, with the order it belongs to.
pub async fn load(db: &Db, id: Uuid) -> Result<Option<(Uuid, Document)>, sqlx::Error> {
    let sql = format!("SELECT {DOC_COLUMNS} FROM invoices WHERE id = $1");
    let Some(r): Option<DocRow> =
        db_run!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?
    else {
        return Ok(None);
    };
    let lines: Vec<LineRow> = db_run!(db, pool => sqlx::query_as(
        LINES_SQL)
        .bind(id).fetch_all(pool).await)?;
    let corrects: Option<(String, DateTime<Utc>)> = match r.corrects_id {
        Some(c) => {
            db_run!(db, pool => sqlx::query_as("SELECT number, issued_at FROM invoices WHERE id = $1")
            .bind(c).fetch_optional(pool).await)?
        }
        None => None,
    };
    let order = r.order_id;
    Ok(Some((order, assemble(r, lines, corrects))))
}

async fn load_tx(tx: &mut Tx, id: Uuid) -> Result<Document, sqlx::Error> {
    let sql = format!("SELECT {DOC_COLUMNS} FROM invoices WHERE id = $1");
    let r: DocRow = tx_run!(tx, c => sqlx::query_as(&sql).bind(id).fetch_one(c).await)?;
    let lines: Vec<LineRow> = tx_run!(tx, c => sqlx::query_as(
        LINES_SQL)
        .bind(id).fetch_all(c).await)?;
    Ok(assemble(r, lines, None))
}

/// Rendered PDFs of the last documents asked for. An issued document never changes, so its
/// bytes are the same for everyone allowed to see it (the caller checks who asks, first).
type Rendered = (Uuid, String, Vec<u8>);
static RENDERED: std::sync::Mutex<Vec<(Uuid, std::sync::Arc<Rendered>)>> =
    std::sync::Mutex::new(Vec::new());
const RENDERED_KEPT: usize = 64;

fn cached(id: Uuid) -> Option<std::sync::Arc<Rendered>> {
    let kept = RENDERED.lock().unwrap_or_else(|p| p.into_inner());
    kept.iter().find(|(k, _)| *k == id).map(|(_, v)| v.clone())
}

fn keep(id: Uuid, rendered: std::sync::Arc<Rendered>) {
    let mut kept = RENDERED.lock().unwrap_or_else(|p| p.into_inner());
    kept.retain(|(k, _)| *k != id);
    if kept.len() >= RENDERED_KEPT {
        kept.remove(0);
    }
    kept.push((id, rendered));
}

/// The PDF of a document: (order, number, bytes), rendered off the async threads (CPU work),
/// once while it stays among the last ones asked for.
pub async fn pdf(db: &Db, id: Uuid) -> Result<Option<std::sync::Arc<Rendered>>, AppError> {
    if let Some(hit) = cached(id) {
        return Ok(Some(hit));
    }
    let Some((order, doc)) = load(db, id).await? else {
        return Ok(None);
    };
    let number = doc.number.clone();
    let bytes = tokio::task::spawn_blocking(move || super::pdf::render(&doc))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|e| {
            tracing::error!(error = %e, invoice = %id, "PDF rendering failed");
            AppError::Internal
        })?;
    let rendered = std::sync::Arc::new((order, number, bytes));
    keep(id, rendered.clone());
    Ok(Some(rendered))
}

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
async fn current_invoice(tx: &mut Tx, order_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id FROM invoices WHERE order_id = $1 AND kind = 'INVOICE' ORDER BY issued_at DESC, seq DESC LIMIT 1")
        .bind(order_id).fetch_optional(c).await)?;
    Ok(row.map(|r| r.0))
}

/// Per rate: what the credit notes of `invoice` already took back (negative amounts).
async fn credited(tx: &mut Tx, invoice: Uuid) -> Result<Vec<DocLine>, sqlx::Error> {
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
                ("rate", &super::document::rate_text(rate, l)),
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
    audit(
        tx,
        buyer,
        "ISSUE_CREDIT_NOTE",
        "invoice",
        &id.to_string(),
        serde_json::json!({ "number": doc.number, "corrects": invoice.number, "reason": reason, "gross_cents": doc.totals().2 }),
    )
    .await?;
    Ok(Some((id, doc)))
}

/// Queues the mail that carries one document (a credit note for a partial refund, a corrected
/// invoice); the PDF is attached when it is sent.
pub async fn mail_document(
    tx: &mut Tx,
    config: &Config,
    order_id: Uuid,
    id: Uuid,
    doc: &Document,
) -> Result<(), sqlx::Error> {
    let (user_id, email): (Uuid, String) = tx_run!(tx, c => sqlx::query_as(
        "SELECT o.user_id, u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1")
        .bind(order_id).fetch_one(c).await)?;
    let kind_key = match doc.kind {
        DocKind::Invoice => "invoice.kind.invoice",
        DocKind::CreditNote => "invoice.kind.credit_note",
    };
    let mail_id = enqueue(
        tx,
        &Mail {
            kind: MailKind::InvoiceDocument,
            user_id: Some(user_id),
            to: email,
            locale: doc.locale,
            vars: vec![
                ("document", tr(doc.locale, kind_key)),
                ("number", doc.number.clone()),
                ("order", doc.order_ref.clone()),
                (
                    "total",
                    format_money(doc.totals().2, &doc.currency, doc.locale),
                ),
            ],
            link: Some(format!("{}/me/orders", config.base_url)),
            order_id: Some(order_id),
        },
    )
    .await?;
    attach(tx, mail_id, id).await
}

/// Makes a queued mail carry a document.
pub async fn attach(tx: &mut Tx, mail_id: Uuid, invoice_id: Uuid) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE outbox_emails SET invoice_id = $1 WHERE id = $2")
        .bind(invoice_id).bind(mail_id).execute(c).await.map(|_| ()))
}

/// The documents of an order, oldest first (what `/me/orders` and the back office link to).
pub async fn links_of(db: &Db, order_id: Uuid) -> Result<Vec<InvoiceLink>, sqlx::Error> {
    let rows: Vec<(Uuid, String, String, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, number, kind, gross_cents FROM invoices WHERE order_id = $1 ORDER BY issued_at, seq")
        .bind(order_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, number, kind, gross_cents)| InvoiceLink {
            id,
            number,
            credit_note: kind == DocKind::CreditNote.as_str(),
            gross_cents,
        })
        .collect())
}

/// The EU VAT number patterns after the country prefix (VIES's formats): `9` a digit, `A` a
/// letter, `*` a digit or letter, anything else itself.
const VAT_FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["U99999999"]),
    ("BE", &["0999999999", "1999999999"]),
    ("BG", &["999999999", "9999999999"]),
    ("CY", &["99999999A"]),
    ("CZ", &["99999999", "999999999", "9999999999"]),
    ("DE", &["999999999"]),
    ("DK", &["99999999"]),
    ("EE", &["999999999"]),
    ("EL", &["999999999"]),
    ("ES", &["A9999999A", "99999999A", "A99999999"]),
    ("FI", &["99999999"]),
    ("FR", &["**999999999"]),
    ("HR", &["99999999999"]),
    ("HU", &["99999999"]),
    ("IE", &["9999999A", "9999999AA", "9A99999A"]),
    ("IT", &["99999999999"]),
    ("LT", &["999999999", "999999999999"]),
    ("LU", &["99999999"]),
    ("LV", &["99999999999"]),
    ("MT", &["99999999"]),
    ("NL", &["999999999B99"]),
    ("PL", &["9999999999"]),
    ("PT", &["999999999"]),
    (
        "RO",
        &[
            "99",
            "999",
            "9999",
            "99999",
            "999999",
            "9999999",
            "99999999",
            "999999999",
            "9999999999",
        ],
    ),
    ("SE", &["9999999999" /* + 01 */]),
    ("SI", &["99999999"]),
    ("SK", &["9999999999"]),
    ("XI", &["999999999", "999999999999", "GD999", "HA999"]),
];

fn fits(pattern: &str, s: &str) -> bool {
    pattern.len() == s.len()
        && pattern.chars().zip(s.chars()).all(|(p, c)| match p {
            '9' => c.is_ascii_digit(),
            'A' => c.is_ascii_uppercase(),
            '*' => c.is_ascii_digit() || c.is_ascii_uppercase(),
            other => other == c,
        })
}

/// A VAT number for a buyer in `country`: normalised (upper case, no spaces, dots or dashes);
/// for an EU country (and Northern Ireland), its prefix and format checked. `None`: malformed.
pub fn check_vat_number(country: &str, raw: &str) -> Option<String> {
    let v: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}'))
        .collect::<String>()
        .to_ascii_uppercase();
    if v.is_empty() || v.len() > 20 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let prefix = match country {
        "GR" => "EL",
        "GB" if v.starts_with("XI") => "XI",
        other => other,
    };
    let Some((_, patterns)) = VAT_FORMATS.iter().find(|(p, _)| *p == prefix) else {
        return Some(v); // outside the EU: printed as given
    };
    let rest = v.strip_prefix(prefix)?;
    let ok = if prefix == "SE" {
        rest.len() == 12 && rest.ends_with("01") && fits("9999999999", &rest[..10])
    } else {
        patterns.iter().any(|p| fits(p, rest))
    };
    ok.then_some(v)
}

/// A company address as typed, checked field by field (errors name the field).
pub struct Billing {
    pub company: String,
    pub address: String,
    pub country: String,
    pub vat_number: Option<String>,
    pub reference: Option<String>,
}

/// Parses the form; `Ok(None)` when the buyer asked for no company invoice (no company name).
pub fn parse_billing(input: &BillingInput) -> Result<Option<Billing>, AppError> {
    let company = input.company.trim();
    let address = input.address.trim();
    let vat = input.vat_number.trim();
    if company.is_empty() && address.is_empty() && vat.is_empty() {
        return Ok(None);
    }
    // One line each (a printed document must not be given extra lines or reordered text), and
    // the address at most 6 lines of 100 characters.
    let single = |value: &str, field: &str, key: &str, max: usize| -> Result<(), AppError> {
        if value.chars().count() > max || value.chars().any(|c| !printable(c)) {
            return Err(AppError::invalid(field, key));
        }
        Ok(())
    };
    if company.is_empty() {
        return Err(AppError::invalid(
            "billing[company]",
            "invoice.error.company",
        ));
    }
    single(company, "billing[company]", "invoice.error.company", 200)?;
    let address_lines: Vec<&str> = address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if address_lines.is_empty() || address_lines.len() > 6 {
        return Err(AppError::invalid(
            "billing[address]",
            "invoice.error.address",
        ));
    }
    for line in &address_lines {
        single(line, "billing[address]", "invoice.error.address", 100)?;
    }
    let country = input.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(AppError::invalid(
            "billing[country]",
            "invoice.error.country",
        ));
    }
    let vat_number =
        if vat.is_empty() {
            None
        } else {
            single(vat, "billing[vat_number]", "invoice.error.vat_number", 40)?;
            Some(check_vat_number(&country, vat).ok_or_else(|| {
                AppError::invalid("billing[vat_number]", "invoice.error.vat_number")
            })?)
        };
    let reference = Some(input.reference.trim())
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if let Some(r) = &reference {
        single(r, "billing[reference]", "invoice.error.reference", 100)?;
    }
    Ok(Some(Billing {
        company: company.to_string(),
        address: address_lines.join("\n"),
        country,
        vat_number,
        reference,
    }))
}

/// Writes (or replaces) an order's company address, in the caller's transaction.
pub async fn save_billing(tx: &mut Tx, order_id: Uuid, b: &Billing) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO billing_details (order_id, company, address, country, vat_number, reference, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (order_id) DO UPDATE SET company = excluded.company, address = excluded.address, country = excluded.country, \
         vat_number = excluded.vat_number, reference = excluded.reference, updated_at = excluded.updated_at")
        .bind(order_id).bind(&b.company).bind(&b.address).bind(&b.country).bind(&b.vat_number).bind(&b.reference).bind(now())
        .execute(c).await.map(|_| ()))
}

/// How many times the company of a paid order may be corrected (each a credit note and a new
/// invoice); past that, the organiser does it.
pub const MAX_CORRECTIONS: i64 = 3;

/// The buyer gives or corrects the company an order is invoiced to. Before payment the address
/// is only saved; once the invoice is issued, it is never edited: a credit note cancels it and a
/// new invoice is issued to the new address (both mailed). Refused for someone else's order, an
/// order canceled or refunded, and once a refund was credited (the organiser corrects that).
pub async fn set_billing(
    state: &AppState,
    user_id: Uuid,
    order_id: Uuid,
    input: &BillingInput,
) -> Result<(), AppError> {
    let billing = parse_billing(input)?
        .ok_or_else(|| AppError::invalid("billing[company]", "invoice.error.company"))?;
    // Each correction of a paid order takes two numbers and mails two PDFs: a few per hour.
    crate::accounts::service::limited(state, &format!("billing:{user_id}"), 10, 3600)?;
    let config = &state.config;
    let mut tx = state.db.begin().await?;
    // Lock the order (a no-op write on PostgreSQL) so two corrections cannot both credit it.
    let locked = tx_run!(&mut tx, c => sqlx::query("UPDATE orders SET updated_at = updated_at WHERE id = $1 AND user_id = $2")
        .bind(order_id).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    if locked != 1 {
        return Err(AppError::NotFound);
    }
    let (status,): (String,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT status FROM orders WHERE id = $1")
        .bind(order_id).fetch_one(c).await)?;
    match status.as_str() {
        "PENDING_PAYMENT" => {
            save_billing(&mut tx, order_id, &billing).await?;
        }
        "PAID" => {
            let Some(current) = current_invoice(&mut tx, order_id).await? else {
                return Err(AppError::invalid(
                    "billing[company]",
                    "invoice.error.no_invoice",
                ));
            };
            if !credited(&mut tx, current).await?.is_empty() {
                return Err(AppError::invalid(
                    "billing[company]",
                    "invoice.error.already_credited",
                ));
            }
            if billing_of(&mut tx, order_id).await?.is_some_and(|b| {
                (
                    &b.company,
                    &b.address,
                    &b.country,
                    &b.vat_number,
                    &b.reference,
                ) == (
                    &billing.company,
                    &billing.address,
                    &billing.country,
                    &billing.vat_number,
                    &billing.reference,
                )
            }) {
                return Err(AppError::invalid(
                    "billing[company]",
                    "invoice.error.unchanged",
                ));
            }
            let (corrections,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as(
                "SELECT COUNT(*) FROM invoices WHERE order_id = $1 AND kind = 'CREDIT_NOTE' AND reason = 'correction'")
                .bind(order_id).fetch_one(c).await)?;
            if corrections >= MAX_CORRECTIONS {
                return Err(AppError::invalid(
                    "billing[company]",
                    "invoice.error.too_many_corrections",
                ));
            }
            let (paid_at,): (Option<DateTime<Utc>>,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT paid_at FROM invoices WHERE id = $1")
                .bind(current).fetch_one(c).await)?;
            save_billing(&mut tx, order_id, &billing).await?;
            let Some((credit_id, credit)) =
                credit_note(&mut tx, config, order_id, Credit::Rest, "correction").await?
            else {
                return Err(AppError::invalid(
                    "billing[company]",
                    "invoice.error.no_invoice",
                ));
            };
            let new_id =
                issue_invoice(&mut tx, config, order_id, paid_at.unwrap_or_else(now)).await?;
            let new_doc = load_tx(&mut tx, new_id).await?;
            mail_document(&mut tx, config, order_id, credit_id, &credit).await?;
            mail_document(&mut tx, config, order_id, new_id, &new_doc).await?;
            audit(
                &mut tx,
                user_id,
                "CORRECT_BILLING",
                "order",
                &order_id.to_string(),
                serde_json::json!({ "credit_note": credit.number, "invoice": new_doc.number }),
            )
            .await?;
        }
        _ => {
            return Err(AppError::invalid(
                "billing[company]",
                "invoice.error.order_closed",
            ))
        }
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_into_net_and_vat_that_add_up() {
        // 3 × 33,33 € at 20 %: 99,99 € → VAT 16,67 €, net 83,32 €.
        assert_eq!(split_gross(9999, 2000), (8332, 1667));
        assert_eq!(split_gross(-9999, 2000), (-8332, -1667));
        assert_eq!(split_gross(12000, 2000), (10000, 2000));
        assert_eq!(split_gross(1000, 550), (948, 52));
        assert_eq!(split_gross(0, 2000), (0, 0));
        assert_eq!(split_gross(5, 1000), (5, 0));
        assert_eq!(
            split_gross(i64::MAX, 2000).0 + split_gross(i64::MAX, 2000).1,
            i64::MAX
        );
        for g in [1, 7, 99, 3333, 9999, 123_456] {
            for r in [0, 210, 550, 1000, 2000] {
                let (n, v) = split_gross(g, r);
                assert_eq!(n + v, g);
                assert!(v >= 0 && v <= g);
            }
        }
    }

    #[test]
    fn shares_always_add_up() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(1000, &[9999, 0]), vec![1000, 0]);
        assert_eq!(allocate(7, &[0, 0]), vec![7, 0]);
        assert_eq!(allocate(5000, &[2000, 3000, 5000]), vec![1000, 1500, 2500]);
        let parts = allocate(12_345, &[3333, 6667, 1]);
        assert_eq!(parts.iter().sum::<i64>(), 12_345);
    }

    #[test]
    fn vat_numbers_are_checked_against_their_country() {
        assert_eq!(
            check_vat_number("FR", "fr 40 123 456 824").as_deref(),
            Some("FR40123456824")
        );
        assert_eq!(
            check_vat_number("DE", "DE123456789").as_deref(),
            Some("DE123456789")
        );
        assert_eq!(
            check_vat_number("GR", "EL123456789").as_deref(),
            Some("EL123456789")
        );
        assert_eq!(
            check_vat_number("NL", "NL123456789B01").as_deref(),
            Some("NL123456789B01")
        );
        assert_eq!(
            check_vat_number("SE", "SE123456789001").as_deref(),
            Some("SE123456789001")
        );
        assert_eq!(
            check_vat_number("CH", "CHE-123.456.789 TVA").as_deref(),
            Some("CHE123456789TVA")
        );
        for (country, bad) in [
            ("FR", "FR4012345682"),
            ("FR", "DE123456789"),
            ("DE", "DE12345678X"),
            ("GR", "GR123456789"),
            ("SE", "SE123456789012"),
            ("BE", "BE2123456789"),
            ("FR", "<script>"),
        ] {
            assert_eq!(check_vat_number(country, bad), None, "{country} {bad}");
        }
    }

    #[test]
    fn a_company_address_is_parsed_once() {
        let input = |company: &str, address: &str, country: &str, vat: &str| BillingInput {
            company: company.into(),
            address: address.into(),
            country: country.into(),
            vat_number: vat.into(),
            reference: String::new(),
        };
        assert!(parse_billing(&input("", "", "", "")).unwrap().is_none());
        let b = parse_billing(&input(
            " ACME SAS ",
            "1 rue X\r\n\r\n69001 Lyon",
            "fr",
            "FR40123456824",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            (b.company.as_str(), b.address.as_str(), b.country.as_str()),
            ("ACME SAS", "1 rue X\n69001 Lyon", "FR")
        );
        let field = |r: Result<Option<Billing>, AppError>| {
            r.err().and_then(|e| e.field().map(str::to_string))
        };
        assert_eq!(
            field(parse_billing(&input("", "1 rue X", "FR", ""))).as_deref(),
            Some("billing[company]")
        );
        assert_eq!(
            field(parse_billing(&input("ACME", "", "FR", ""))).as_deref(),
            Some("billing[address]")
        );
        assert_eq!(
            field(parse_billing(&input("ACME", "1 rue X", "France", ""))).as_deref(),
            Some("billing[country]")
        );
        assert_eq!(
            field(parse_billing(&input("ACME", "1 rue X", "FR", "FR123"))).as_deref(),
            Some("billing[vat_number]")
        );
        // One-line fields: no line breaks, no invisible or reordering characters (found by an
        // attack: 99 line breaks in the company pushed the buyer off the PDF's page).
        for company in [
            "ACME\nVAT: FR00000000000",
            "AC\rME",
            "\u{202e}EMCA",
            "AC\u{200b}ME",
            "\u{feff}=1+1",
        ] {
            assert_eq!(
                field(parse_billing(&input(company, "1 rue X", "FR", ""))).as_deref(),
                Some("billing[company]"),
                "{company:?}"
            );
        }
        let long_line = "x".repeat(101);
        assert_eq!(
            field(parse_billing(&input("ACME", &long_line, "FR", ""))).as_deref(),
            Some("billing[address]")
        );
        let mut bad_ref = input("ACME", "1 rue X", "FR", "");
        bad_ref.reference = "PO\n12".into();
        assert_eq!(
            field(parse_billing(&bad_ref)).as_deref(),
            Some("billing[reference]"),
            "the error names its own field"
        );
        assert_eq!(one_line(" Ann\n\u{202e}e \u{7}Dupont "), "Ann e Dupont");
        assert_eq!(one_line(&"é".repeat(300)).chars().count(), 120);
    }
}
