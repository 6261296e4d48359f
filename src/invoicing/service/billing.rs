//! The company an order is invoiced to: read, parsed from the form (its VAT number checked),
//! saved, corrected.
use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct BillingRow {
    pub(crate) company: String,
    pub(crate) address: String,
    pub(crate) country: String,
    pub(crate) vat_number: Option<String>,
    pub(crate) reference: Option<String>,
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

pub(crate) async fn billing_of(
    tx: &mut Tx,
    order_id: Uuid,
) -> Result<Option<BillingRow>, sqlx::Error> {
    tx_run!(tx, c => sqlx::query_as("SELECT company, address, country, vat_number, reference FROM billing_details WHERE order_id = $1")
        .bind(order_id).fetch_optional(c).await)
}

/// The EU VAT number patterns after the country prefix (VIES's formats): `9` a digit, `A` a
/// letter, `*` a digit or letter, anything else itself.
pub(crate) const VAT_FORMATS: &[(&str, &[&str])] = &[
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

pub(crate) fn fits(pattern: &str, s: &str) -> bool {
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
            Audit::new(user_id, "CORRECT_BILLING", "order", order_id)
                .meta(
                    serde_json::json!({ "credit_note": credit.number, "invoice": new_doc.number }),
                )
                .write(&mut tx)
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
