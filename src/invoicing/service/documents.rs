//! A document mailed to the buyer, attached to a mail, listed for an order.
use super::*;

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
