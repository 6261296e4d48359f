//! Numbering and writing a document: its series, its next number, the seller, the rows.
use super::*;

/// The series a kind of document is numbered in, and the year its counter runs for (0 when the
/// prefix has no `{year}`: one counter forever).
pub(crate) fn series(settings: &InvoiceSettings, kind: DocKind, local_year: i32) -> (String, i64) {
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
pub(crate) async fn next_seq(tx: &mut Tx, series: &str, year: i64) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = tx_run!(tx, c => sqlx::query_as(
        "INSERT INTO invoice_counters (series, year, last_value) VALUES ($1, $2, 1) \
         ON CONFLICT (series, year) DO UPDATE SET last_value = invoice_counters.last_value + 1 RETURNING last_value")
        .bind(series).bind(year).fetch_one(c).await)?;
    Ok(n)
}

/// The seller as the settings say today, texts in the document's language.
pub(crate) fn seller(settings: &InvoiceSettings, locale: Locale) -> Seller {
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
pub(crate) async fn insert(
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
