//! The back office's table: vouchers listed, created (one or a batch), and exported as CSV.
use super::*;

// ---------------------------------------------------------------------------------------------
// The back office.

#[derive(sqlx::FromRow)]
pub(crate) struct ListRow {
    #[sqlx(flatten)]
    v: Voucher,
    pass_name: Option<String>,
    orders: i64,
}

pub(crate) fn money_text(cents: i64) -> String {
    crate::money::price_text(cents)
}

pub(crate) fn row_view(config: &Config, r: ListRow) -> VoucherRow {
    let local = |t: Option<DateTime<Utc>>| t.map(|t| config.local_input(t)).unwrap_or_default();
    let v = r.v;
    VoucherRow {
        held: v.held(),
        id: v.id,
        code: v.code,
        tag: v.tag,
        ticket_type_id: v.ticket_type_id,
        pass_name: r.pass_name,
        effect: v.effect,
        value: match v.effect {
            VoucherEffect::Percent => v.value.to_string(),
            _ => money_text(v.value),
        },
        max_uses: v.max_uses,
        uses: v.uses,
        valid_from: local(v.valid_from),
        valid_until: local(v.valid_until),
        unlocks_hidden: v.unlocks_hidden,
        holds_seats: v.holds_seats,
        personal: v.user_id.is_some(),
        orders: r.orders,
        version: v.version,
    }
}

pub(crate) const LIST: &str = "SELECT v.id, v.code, v.tag, v.ticket_type_id, v.effect, v.value, v.max_uses, v.uses, v.valid_from, v.valid_until, v.unlocks_hidden, \
     v.holds_seats, v.hold_released_at, v.user_id, v.version, t.name AS pass_name, \
     (SELECT COUNT(*) FROM orders o WHERE o.voucher_id = v.id) AS orders \
     FROM vouchers v LEFT JOIN ticket_types t ON t.id = v.ticket_type_id";

/// Vouchers, newest first (the first 1 000), of one tag when `tag` is not empty.
pub async fn list(db: &Db, config: &Config, tag: &str) -> Result<Vec<VoucherRow>, AppError> {
    let tag = tag.trim();
    let sql = if tag.is_empty() {
        format!("{LIST} ORDER BY v.created_at DESC, v.code LIMIT 1000")
    } else {
        format!("{LIST} WHERE v.tag = $1 ORDER BY v.created_at DESC, v.code LIMIT 1000")
    };
    let rows: Vec<ListRow> = db_run!(db, pool => {
        let mut q = sqlx::query_as(&sql);
        if !tag.is_empty() {
            q = q.bind(tag);
        }
        q.fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(|r| row_view(config, r)).collect())
}

pub(crate) async fn one(tx: &mut Tx, config: &Config, id: Uuid) -> Result<VoucherRow, AppError> {
    let sql = format!("{LIST} WHERE v.id = $1");
    let row: Option<ListRow> =
        tx_run!(tx, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)?;
    row.map(|r| row_view(config, r)).ok_or(AppError::NotFound)
}

pub async fn passes(db: &Db) -> Result<Vec<(Uuid, String, bool)>, AppError> {
    Ok(
        db_run!(db, pool => sqlx::query_as("SELECT id, name, is_hidden FROM ticket_types ORDER BY name, id").fetch_all(pool).await)?,
    )
}

pub(crate) fn clean_tag(raw: &str) -> Result<String, AppError> {
    let tag = raw.trim();
    if tag.chars().count() > 60 || tag.chars().any(char::is_control) {
        return Err(AppError::invalid("tag", "vouchers.error.tag"));
    }
    Ok(tag.to_string())
}

/// What the create form sends: every field as typed (empty: the default).
pub struct Batch<'a> {
    pub count: &'a str,
    pub code: &'a str,
    pub tag: &'a str,
    pub effect: &'a str,
    pub value: &'a str,
    pub pass: &'a str,
    pub max_uses: &'a str,
}

pub(crate) fn parse_value(effect: VoucherEffect, raw: &str) -> Result<i64, AppError> {
    match effect {
        VoucherEffect::Percent => raw
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .ok()
            .filter(|p| (0..=100).contains(p))
            .ok_or_else(|| AppError::invalid("value", "vouchers.error.percent")),
        _ => crate::money::parse_price(raw)
            .ok_or_else(|| AppError::invalid("value", "admin.error.price_invalid")),
    }
}

pub(crate) fn parse_max_uses(raw: &str, field: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| AppError::invalid(field, "vouchers.error.max_uses"))
}

/// One voucher (a code typed, or generated) or a batch of generated codes under one tag, all
/// with the form's effect, pass and uses (defaults: 0 % off every pass, once). Audited
/// `CREATE_VOUCHER` (a batch as one entry). Holding seats and unlocking a hidden pass are set
/// afterwards in the table, voucher by voucher.
pub async fn create(
    db: &Db,
    config: &Config,
    admin: Uuid,
    batch: &Batch<'_>,
) -> Result<Vec<VoucherRow>, AppError> {
    let count: i64 = match batch.count.trim() {
        "" => 1,
        raw => raw
            .parse()
            .ok()
            .filter(|n| (1..=MAX_BATCH).contains(n))
            .ok_or_else(|| AppError::invalid("count", "vouchers.error.count"))?,
    };
    let tag = clean_tag(batch.tag)?;
    let typed = match batch.code.trim() {
        "" => None,
        raw => Some(
            normalise_code(raw).ok_or_else(|| AppError::invalid("code", "vouchers.error.code"))?,
        ),
    };
    if typed.is_some() && count > 1 {
        return Err(AppError::invalid("code", "vouchers.error.code_with_batch"));
    }
    let effect = match batch.effect.trim() {
        "" => VoucherEffect::Percent,
        raw => raw
            .parse()
            .map_err(|_| AppError::invalid("effect", "vouchers.error.effect"))?,
    };
    let value = match batch.value.trim() {
        "" => 0,
        raw => parse_value(effect, raw)?,
    };
    let max_uses = match batch.max_uses.trim() {
        "" => 1,
        raw => parse_max_uses(raw, "max_uses")?,
    };
    let mut tx = db.begin().await?;
    let pass = match batch.pass.trim() {
        "" => None,
        raw => {
            let id = Uuid::parse_str(raw)
                .map_err(|_| AppError::invalid("ticket_type_id", "shop.error.unknown_pass"))?;
            let known: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT id FROM ticket_types WHERE id = $1").bind(id).fetch_optional(c).await)?;
            Some(
                known
                    .ok_or_else(|| AppError::invalid("ticket_type_id", "shop.error.unknown_pass"))?
                    .0,
            )
        }
    };
    let mut ids = vec![];
    let mut codes = vec![];
    while (ids.len() as i64) < count {
        let id = Uuid::new_v4();
        let code = typed.clone().unwrap_or_else(generate_code);
        let added = insert(
            &mut tx, id, &code, &tag, pass, effect, value, max_uses, None, false, None,
        )
        .await?;
        if added {
            ids.push(id);
            codes.push(code);
        } else if typed.is_some() {
            return Err(AppError::invalid("code", "vouchers.error.code_taken"));
        }
    }
    Audit::new(admin, "CREATE_VOUCHER", "voucher", ids.first().map(Uuid::to_string).unwrap_or_default()).meta(serde_json::json!({ "count": count, "tag": tag, "codes": codes, "effect": effect.as_str(), "value": value, "ticket_type_id": pass, "max_uses": max_uses })).write(&mut tx).await?;
    let mut rows = vec![];
    for id in &ids {
        rows.push(one(&mut tx, config, *id).await?);
    }
    tx.commit().await?;
    Ok(rows)
}

/// The CSV of one tag's vouchers (every voucher when the tag is empty): code, tag, pass, effect,
/// value, uses, validity. Admins only; no personal data in it.
pub async fn csv(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    use axum::{
        http::{header, StatusCode},
        response::IntoResponse,
    };
    let admin = crate::accounts::session::user_from_headers(&state.db, &headers).await;
    if !admin.is_some_and(|u| u.role == crate::accounts::Role::Admin) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let tag = q.get("tag").map(String::as_str).unwrap_or("");
    let rows = match list(&state.db, &state.config, tag).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "vouchers CSV");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut out = String::from("\u{feff}");
    out.push_str(&crate::server::csv::csv_line(&[
        "code",
        "tag",
        "pass",
        "effect",
        "value",
        "max_uses",
        "uses",
        "valid_from",
        "valid_until",
        "unlocks_hidden",
        "holds_seats",
    ]));
    for r in rows {
        out.push_str(&crate::server::csv::csv_line(&[
            r.code,
            r.tag,
            r.pass_name.unwrap_or_default(),
            r.effect.as_str().to_string(),
            r.value,
            r.max_uses.to_string(),
            r.uses.to_string(),
            r.valid_from,
            r.valid_until,
            r.unlocks_hidden.to_string(),
            r.holds_seats.to_string(),
        ]));
    }
    let name = if tag.is_empty() {
        "vouchers".to_string()
    } else {
        format!(
            "vouchers-{}",
            tag.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        )
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        out,
    )
        .into_response()
}

/// The vouchers' CSV export.
pub fn export_routes() -> axum::Router<crate::server::state::AppState> {
    axum::Router::new().route("/admin/export/vouchers.csv", axum::routing::get(csv))
}
