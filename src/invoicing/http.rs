//! The documents over HTTP: the PDF download (`/invoices/{id}.pdf`, the buyer's own or any for an
//! admin) and the accountant's CSV (`/admin/export/invoices.csv?from=&to=`).
use super::InvoiceRow;
use crate::server::prelude::*;
use crate::{accounts::Role, server::csv::amount, server::csv::csv_line};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::collections::HashMap;

/// The widest range, as instants both engines compare right (SQLite compares text: no sign).
fn far_past() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// `YYYY-MM-DD` (conference time) → the first instant of that day; `end` → of the next day.
fn day_bound(
    config: &Config,
    raw: Option<&str>,
    end: bool,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let field = if end { "to" } else { "from" };
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "invoice.error.date"))?;
    let day = if end { day.succ_opt() } else { Some(day) }
        .ok_or_else(|| AppError::invalid(field, "invoice.error.date"))?;
    let local = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| config.timezone.from_local_datetime(&t).earliest())
        .ok_or_else(|| AppError::invalid(field, "invoice.error.date"))?;
    Ok(Some(local.with_timezone(&Utc)))
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: Uuid,
    number: String,
    kind: String,
    issued_at: DateTime<Utc>,
    buyer_name: String,
    buyer_company: Option<String>,
    order_id: Uuid,
    net_cents: i64,
    vat_cents: i64,
    gross_cents: i64,
    currency: String,
}

/// Documents between two days (inclusive), matching `query` in their number, buyer or company.
pub async fn list(
    db: &Db,
    config: &Config,
    query: &str,
    from: Option<&str>,
    to: Option<&str>,
    limit: i64,
) -> Result<Vec<InvoiceRow>, AppError> {
    if query.chars().count() > 200 {
        return Err(AppError::invalid("query", "invoice.error.query_long"));
    }
    let from = day_bound(config, from, false)?.unwrap_or_else(far_past);
    let to = day_bound(config, to, true)?.unwrap_or_else(far_future);
    let pattern = format!(
        "%{}%",
        query.trim().to_lowercase().replace(['\\', '%', '_'], "")
    );
    let rows: Vec<ListRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, number, kind, issued_at, buyer_name, buyer_company, order_id, net_cents, vat_cents, gross_cents, currency FROM invoices \
         WHERE issued_at >= $1 AND issued_at < $2 AND (LOWER(number) LIKE $3 OR LOWER(buyer_name) LIKE $3 OR LOWER(COALESCE(buyer_company, '')) LIKE $3) \
         ORDER BY issued_at DESC, seq DESC LIMIT $4")
        .bind(from).bind(to).bind(&pattern).bind(limit).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|r| InvoiceRow {
            id: r.id,
            number: r.number,
            credit_note: r.kind == "CREDIT_NOTE",
            issued_on: r
                .issued_at
                .with_timezone(&config.timezone)
                .format("%Y-%m-%d")
                .to_string(),
            buyer: r.buyer_name,
            company: r.buyer_company,
            order_id: r.order_id,
            net_cents: r.net_cents,
            vat_cents: r.vat_cents,
            gross_cents: r.gross_cents,
            currency: r.currency,
        })
        .collect())
}

/// `GET /invoices/{id}.pdf`: the buyer of its order or an admin; anyone else (or no session)
/// gets the same 404 as a document that does not exist.
pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let Some(user) = crate::accounts::session::user_from_headers(&state.db, &headers).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(id) = file
        .strip_suffix(".pdf")
        .and_then(|id| Uuid::parse_str(id).ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let owner: Option<(Uuid,)> = match db_run!(&state.db, pool => sqlx::query_as(
        "SELECT o.user_id FROM invoices i JOIN orders o ON o.id = i.order_id WHERE i.id = $1")
        .bind(id).fetch_optional(pool).await)
    {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "invoice owner");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match owner {
        Some((owner,)) if owner == user.id || user.role == Role::Admin => {}
        _ => return StatusCode::NOT_FOUND.into_response(),
    }
    // Rendering costs CPU: a person gets a few dozen downloads per ten minutes.
    let key = format!("invoice-pdf:{}", user.id);
    if crate::accounts::service::limited(&state, &key, 60, 600).is_err() {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    match super::service::pdf(&state.db, id).await {
        Ok(Some(rendered)) => {
            let (_, number, bytes) = rendered.as_ref();
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{number}.pdf\""),
                    ),
                    (header::CACHE_CONTROL, "private, no-store".to_string()),
                ],
                bytes.clone(),
            )
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "invoice PDF");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /admin/export/invoices.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: one row per document and VAT
/// rate (number, type, date, the invoice a credit note corrects, buyer, company, country, VAT
/// number, rate, net, VAT, gross, currency, order, payment reference), oldest first. Admins
/// only; audited `EXPORT_PERSONAL_DATA` (it names buyers) with its row count.
pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let admin = match crate::accounts::session::user_from_headers(&state.db, &headers).await {
        None => return StatusCode::UNAUTHORIZED.into_response(),
        Some(u) if u.role != Role::Admin => return StatusCode::FORBIDDEN.into_response(),
        Some(u) => u.id,
    };
    match csv_text(
        &state,
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
    )
    .await
    {
        Ok((text, rows)) => {
            let audited = async {
                let mut tx = state.db.begin().await?;
                Audit::new(admin, "EXPORT_PERSONAL_DATA", "export", "invoices.csv").meta(serde_json::json!({ "file": "invoices.csv", "rows": rows, "from": q.get("from"), "to": q.get("to"), "complete": true })).write(&mut tx).await?;
                tx.commit().await
            };
            if let Err(e) = audited.await {
                tracing::error!(error = %e, "invoices CSV audit");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"invoices.csv\"",
                    ),
                    (header::CACHE_CONTROL, "private, no-store"),
                ],
                text,
            )
                .into_response()
        }
        Err(AppError::Invalid { .. }) => StatusCode::BAD_REQUEST.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "invoices CSV");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(sqlx::FromRow)]
struct CsvRow {
    number: String,
    kind: String,
    issued_at: DateTime<Utc>,
    corrects: Option<String>,
    buyer_name: String,
    buyer_company: Option<String>,
    buyer: sqlx::types::Json<super::document::Buyer>,
    vat_rate_bp: i64,
    net_cents: i64,
    vat_cents: i64,
    gross_cents: i64,
    currency: String,
    order_id: Uuid,
    payment_reference: Option<String>,
}

async fn csv_text(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(String, usize), AppError> {
    let config = &state.config;
    let from = day_bound(config, from, false)?.unwrap_or_else(far_past);
    let to = day_bound(config, to, true)?.unwrap_or_else(far_future);
    let rows: Vec<CsvRow> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT i.number, i.kind, i.issued_at, (SELECT c.number FROM invoices c WHERE c.id = i.corrects_id) AS corrects, i.buyer_name, i.buyer_company, i.buyer, \
         l.vat_rate_bp, CAST(SUM(l.net_cents) AS BIGINT) AS net_cents, CAST(SUM(l.vat_cents) AS BIGINT) AS vat_cents, CAST(SUM(l.gross_cents) AS BIGINT) AS gross_cents, \
         i.currency, i.order_id, i.payment_reference \
         FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id WHERE i.issued_at >= $1 AND i.issued_at < $2 \
         GROUP BY i.id, i.number, i.kind, i.issued_at, i.corrects_id, i.buyer_name, i.buyer_company, i.buyer, l.vat_rate_bp, i.currency, i.order_id, i.payment_reference, i.series, i.year, i.seq \
         ORDER BY i.issued_at, i.series, i.year, i.seq, l.vat_rate_bp")
        .bind(from).bind(to).fetch_all(pool).await)?;
    let mut out = String::from("\u{feff}");
    out.push_str(&csv_line(&[
        "number",
        "type",
        "issue_date",
        "corrects",
        "buyer",
        "company",
        "country",
        "vat_number",
        "vat_rate",
        "net",
        "vat",
        "gross",
        "currency",
        "order_id",
        "payment_reference",
    ]));
    let n = rows.len();
    for r in rows {
        out.push_str(&row_line(&[
            r.number,
            r.kind,
            r.issued_at
                .with_timezone(&config.timezone)
                .format("%Y-%m-%d")
                .to_string(),
            r.corrects.unwrap_or_default(),
            r.buyer_name,
            r.buyer_company.unwrap_or_default(),
            r.buyer.0.country.unwrap_or_default(),
            r.buyer.0.vat_number.unwrap_or_default(),
            amount(r.vat_rate_bp),
            amount(r.net_cents),
            amount(r.vat_cents),
            amount(r.gross_cents),
            r.currency.to_uppercase(),
            r.order_id.to_string(),
            r.payment_reference.unwrap_or_default(),
        ]));
    }
    Ok((out, n))
}

/// Columns 8 to 11 (rate, net, VAT, gross) are numbers we wrote: left as they are, a credit
/// note's "-119.98" stays a number for the spreadsheet (the formula guard would quote it).
const NUMBER_COLUMNS: std::ops::RangeInclusive<usize> = 8..=11;

fn row_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if NUMBER_COLUMNS.contains(&i) {
                f.clone()
            } else {
                crate::server::csv::csv_field(f)
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Invoices as files: one PDF, and the accountant's CSV.
pub fn routes() -> axum::Router<crate::server::state::AppState> {
    axum::Router::new()
        .route("/admin/export/invoices.csv", axum::routing::get(csv))
        .route("/invoices/{file}", axum::routing::get(download))
}
