//! Documents as stored, read back (with their lines).
use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct DocRow {
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
pub(crate) struct LineRow {
    description: String,
    quantity: i64,
    unit_net_cents: i64,
    vat_rate_bp: i64,
    net_cents: i64,
    vat_cents: i64,
    gross_cents: i64,
}

/// A document's lines, in order (`$1` its id).
pub(crate) const LINES_SQL: &str = "SELECT description, quantity, unit_net_cents, vat_rate_bp, net_cents, vat_cents, gross_cents FROM invoice_lines WHERE invoice_id = $1 ORDER BY position";

pub(crate) const DOC_COLUMNS: &str = "number, kind, order_id, corrects_id, reason, issued_at, paid_at, locale, currency, timezone, order_ref, payment_reference, seller, buyer, event";

pub(crate) fn line(r: LineRow) -> DocLine {
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

pub(crate) fn assemble(
    r: DocRow,
    lines: Vec<LineRow>,
    corrects: Option<(String, DateTime<Utc>)>,
) -> Document {
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

pub(crate) async fn load_tx(tx: &mut Tx, id: Uuid) -> Result<Document, sqlx::Error> {
    let sql = format!("SELECT {DOC_COLUMNS} FROM invoices WHERE id = $1");
    let r: DocRow = tx_run!(tx, c => sqlx::query_as(&sql).bind(id).fetch_one(c).await)?;
    let lines: Vec<LineRow> = tx_run!(tx, c => sqlx::query_as(
        LINES_SQL)
        .bind(id).fetch_all(c).await)?;
    Ok(assemble(r, lines, None))
}
