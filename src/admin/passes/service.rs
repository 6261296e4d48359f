use super::PassRow;
use crate::server::prelude::*;

use crate::passes::service::{TypeRow as Row, TYPE_COLUMNS as COLUMNS};

fn local(config: &Config, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| config.local_input(t)).unwrap_or_default()
}

fn view(config: &Config, r: Row) -> PassRow {
    PassRow {
        id: r.id,
        name: r.name,
        description: r.description.unwrap_or_default(),
        price_cents: r.price_cents,
        currency: r.currency,
        capacity: r.capacity,
        sold: r.sold_count,
        reserved: r.reserved_count,
        held: r.held_count,
        waiting: r.waiting,
        is_active: r.is_active,
        is_hidden: r.is_hidden,
        names_required: r.names_required,
        sales_start_at: local(config, r.sales_start_at),
        sales_end_at: local(config, r.sales_end_at),
        valid_from: local(config, r.valid_from),
        valid_until: local(config, r.valid_until),
        version: r.version,
        vat_rate: r
            .vat_rate_bp
            .map(crate::invoicing::document::rate_percent)
            .unwrap_or_default(),
        vat_default: crate::invoicing::document::rate_percent(config.invoice.vat_default_bp),
    }
}

pub async fn passes(db: &Db, config: &Config) -> Result<Vec<PassRow>, AppError> {
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(&format!("SELECT {COLUMNS} FROM ticket_types ORDER BY created_at, name"))
        .fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| view(config, r)).collect())
}

pub async fn create(db: &Db, config: &Config, actor: Uuid) -> Result<PassRow, AppError> {
    let id = Uuid::new_v4();
    let mut tx = db.begin().await?;
    let now = now();
    // Passes created at once queue here, so each takes the next door number.
    crate::ticketing::codes::lock_door(&mut tx).await?;
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO ticket_types (id, name, price_cents, currency, capacity, is_active, created_at, updated_at, door_no) \
         VALUES ($1, $2, 0, 'eur', 0, $3, $4, $4, (SELECT COALESCE(MAX(door_no), 0) + 1 FROM ticket_types))")
        .bind(id).bind(crate::i18n::tr(Default::default(), "admin.passes.new_name")).bind(false).bind(now)
        .execute(c).await.map(|_| ()))?;
    Audit::new(actor, "CREATE_TICKET_TYPE", "ticket_type", id)
        .write(&mut tx)
        .await?;
    let row: Row = tx_run!(&mut tx, c => sqlx::query_as(&format!("SELECT {COLUMNS} FROM ticket_types WHERE id = $1")).bind(id).fetch_one(c).await)?;
    tx.commit().await?;
    Ok(view(config, row))
}

/// A new value, parsed once: what the column gets.
enum Value {
    Text(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
}

impl Value {
    fn json(&self) -> serde_json::Value {
        match self {
            Value::Text(t) => serde_json::json!(t),
            Value::Int(n) => serde_json::json!(n),
            Value::OptInt(n) => serde_json::json!(n),
            Value::Bool(b) => serde_json::json!(b),
            Value::Time(t) => serde_json::json!(t),
        }
    }
}

fn parse_time(config: &Config, field: &str, raw: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    config
        .parse_local_input(raw)
        .map(Some)
        .ok_or_else(|| AppError::invalid(field, "admin.error.datetime_invalid"))
}

/// Saves one field. Refused when the pass changed since `version`, or when the value is bad.
pub async fn update(state: &AppState, edit: CellEdit<'_>) -> Result<PassRow, AppError> {
    let (db, config) = (&state.db, state.config.as_ref());
    let mut tx = db.begin().await?;
    let before: Row = tx_run!(&mut tx, c => sqlx::query_as(&format!("SELECT {COLUMNS} FROM ticket_types WHERE id = $1")).bind(edit.id).fetch_optional(c).await)?
        .ok_or(AppError::NotFound)?;
    if before.version != edit.version {
        return Err(AppError::invalid(
            edit.field,
            "admin.error.changed_meanwhile",
        ));
    }
    let bad = |key: &str| AppError::invalid(edit.field, key);
    let (column, value, old, action) = match edit.field {
        "name" => {
            let v = edit.value.trim();
            if v.is_empty() || v.chars().count() > 120 {
                return Err(bad("admin.error.name_invalid"));
            }
            (
                "name",
                Value::Text(Some(v.into())),
                serde_json::json!(before.name),
                "UPDATE_TICKET_TYPE",
            )
        }
        "description" => {
            let v = edit.value.trim();
            if v.chars().count() > 2000 {
                return Err(bad("admin.error.description_long"));
            }
            let v = (!v.is_empty()).then(|| v.to_string());
            (
                "description",
                Value::Text(v),
                serde_json::json!(before.description),
                "UPDATE_TICKET_TYPE",
            )
        }
        "price" => {
            let cents = crate::money::parse_price(edit.value)
                .ok_or_else(|| bad("admin.error.price_invalid"))?;
            (
                "price_cents",
                Value::Int(cents),
                serde_json::json!(before.price_cents),
                "UPDATE_PRICE",
            )
        }
        "currency" => {
            let v = edit.value.trim().to_ascii_lowercase();
            if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(bad("admin.error.currency_invalid"));
            }
            (
                "currency",
                Value::Text(Some(v)),
                serde_json::json!(before.currency),
                "UPDATE_PRICE",
            )
        }
        "vat_rate" => {
            // Empty: the default rate of the settings; else one of VAT_RATES.
            let v = edit.value.trim();
            let bp = if v.is_empty() {
                None
            } else {
                Some(
                    crate::invoice_settings::parse_rate(v)
                        .filter(|bp| config.invoice.vat_rates_bp.contains(bp))
                        .ok_or_else(|| bad("admin.error.vat_rate_invalid"))?,
                )
            };
            (
                "vat_rate_bp",
                Value::OptInt(bp),
                serde_json::json!(before.vat_rate_bp),
                "UPDATE_PRICE",
            )
        }
        "capacity" => {
            let n = edit
                .value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=1_000_000).contains(n))
                .ok_or_else(|| bad("admin.error.capacity_invalid"))?;
            if n < before.sold_count + before.reserved_count + before.held_count {
                return Err(bad("admin.error.capacity_floor"));
            }
            (
                "capacity",
                Value::Int(n),
                serde_json::json!(before.capacity),
                "UPDATE_QUOTA",
            )
        }
        "is_active" | "is_hidden" | "names_required" => {
            let b = match edit.value.trim() {
                "true" | "on" => true,
                "false" | "off" | "" => false,
                _ => return Err(bad("admin.error.bool_invalid")),
            };
            let (column, was) = match edit.field {
                "is_active" => ("is_active", before.is_active),
                "is_hidden" => ("is_hidden", before.is_hidden),
                _ => ("names_required", before.names_required),
            };
            (
                column,
                Value::Bool(b),
                serde_json::json!(was),
                "UPDATE_TICKET_TYPE",
            )
        }
        "sales_start_at" | "sales_end_at" | "valid_from" | "valid_until" => {
            let t = parse_time(config, edit.field, edit.value)?;
            let (start, end) = match edit.field {
                "sales_start_at" => (t, before.sales_end_at),
                "sales_end_at" => (before.sales_start_at, t),
                "valid_from" => (t, before.valid_until),
                _ => (before.valid_from, t),
            };
            if let (Some(s), Some(e)) = (start, end) {
                if e <= s {
                    return Err(bad("admin.error.end_before_start"));
                }
            }
            let old = match edit.field {
                "sales_start_at" => before.sales_start_at,
                "sales_end_at" => before.sales_end_at,
                "valid_from" => before.valid_from,
                _ => before.valid_until,
            };
            let column = match edit.field {
                "sales_start_at" => "sales_start_at",
                "sales_end_at" => "sales_end_at",
                "valid_from" => "valid_from",
                _ => "valid_until",
            };
            (
                column,
                Value::Time(t),
                serde_json::json!(old),
                "UPDATE_TICKET_TYPE",
            )
        }
        _ => return Err(AppError::invalid("field", "admin.error.field_unknown")),
    };
    // The capacity floor is checked again in the statement itself: a sale between the read
    // and the write cannot slip under it.
    let floor = if column == "capacity" {
        " AND reserved_count + sold_count + held_count <= $1"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE ticket_types SET {column} = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4{floor}"
    );
    let now = now();
    let changed = match &value {
        Value::Text(v) => {
            tx_run!(&mut tx, c => sqlx::query(&sql).bind(v.clone()).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?
        }
        Value::Int(v) => {
            tx_run!(&mut tx, c => sqlx::query(&sql).bind(*v).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?
        }
        Value::OptInt(v) => {
            tx_run!(&mut tx, c => sqlx::query(&sql).bind(*v).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?
        }
        Value::Bool(v) => {
            tx_run!(&mut tx, c => sqlx::query(&sql).bind(*v).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?
        }
        Value::Time(v) => {
            tx_run!(&mut tx, c => sqlx::query(&sql).bind(*v).bind(now).bind(edit.id).bind(edit.version).execute(c).await.map(|r| r.rows_affected()))?
        }
    };
    if changed != 1 {
        return Err(bad(if column == "capacity" {
            "admin.error.capacity_floor"
        } else {
            "admin.error.changed_meanwhile"
        }));
    }
    Audit::new(edit.by, action, "ticket_type", edit.id)
        .meta(serde_json::json!({ "field": edit.field, "before": old, "after": value.json() }))
        .write(&mut tx)
        .await?;
    let row: Row = tx_run!(&mut tx, c => sqlx::query_as(&format!("SELECT {COLUMNS} FROM ticket_types WHERE id = $1")).bind(edit.id).fetch_one(c).await)?;
    tx.commit().await?;
    Ok(view(config, row))
}
