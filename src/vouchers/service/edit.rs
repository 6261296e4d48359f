//! The back office's changes to one voucher: a field saved (its hold recomputed), or deleted.
use super::*;

/// A voucher as the audit log records it, before and after a change.
pub(crate) fn snapshot(v: &Voucher) -> serde_json::Value {
    serde_json::json!({
        "code": v.code, "tag": v.tag, "ticket_type_id": v.ticket_type_id, "effect": v.effect.as_str(),
        "value": v.value, "max_uses": v.max_uses, "uses": v.uses, "valid_from": v.valid_from,
        "valid_until": v.valid_until, "unlocks_hidden": v.unlocks_hidden, "holds_seats": v.holds_seats,
    })
}

/// Reads a voucher for a change, after a no-op write on its row: on PostgreSQL no order can count
/// a use between the read and the change (SQLite's writers take turns already).
pub(crate) async fn locked(tx: &mut Tx, id: Uuid) -> Result<Option<Voucher>, sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE vouchers SET version = version WHERE id = $1").bind(id).execute(c).await.map(|_| ()))?;
    by_id(tx, id).await
}

/// Saves one field. The voucher's hold is recomputed: released from the pass it held (if any),
/// then taken again as the voucher now says (only seats the public could still buy), all in one
/// transaction with the version check.
pub async fn update(state: &AppState, edit: CellEdit<'_>) -> Result<VoucherRow, AppError> {
    let (db, config) = (&state.db, state.config.as_ref());
    let bad = |key: &'static str| AppError::invalid(edit.field, key);
    let mut tx = db.begin().await?;
    let before = locked(&mut tx, edit.id).await?.ok_or(AppError::NotFound)?;
    if before.version != edit.version {
        return Err(AppError::invalid(
            edit.field,
            "vouchers.error.changed_meanwhile",
        ));
    }
    let mut after = before.clone();
    let value = edit.value.trim();
    match edit.field {
        "code" => after.code = normalise_code(value).ok_or_else(|| bad("vouchers.error.code"))?,
        "tag" => after.tag = clean_tag(value)?,
        "ticket_type_id" => {
            after.ticket_type_id = match value {
                "" => None,
                v => {
                    let pass_id = Uuid::parse_str(v).map_err(|_| bad("shop.error.unknown_pass"))?;
                    let known: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT id FROM ticket_types WHERE id = $1").bind(pass_id).fetch_optional(c).await)?;
                    Some(known.ok_or_else(|| bad("shop.error.unknown_pass"))?.0)
                }
            }
        }
        "effect" => {
            after.effect = value.parse().map_err(|_| bad("vouchers.error.effect"))?;
            if after.effect == VoucherEffect::Percent && after.value > 100 {
                after.value = 100;
            }
        }
        "value" => {
            after.value = parse_value(after.effect, value)
                .map_err(|e| AppError::invalid(edit.field, e.message_key()))?
        }
        "max_uses" => {
            after.max_uses = parse_max_uses(value, edit.field)?;
            if after.max_uses < before.uses {
                return Err(bad("vouchers.error.below_uses"));
            }
        }
        "valid_from" | "valid_until" => {
            let t = match value {
                "" => None,
                v => Some(
                    config
                        .parse_local_input(v)
                        .ok_or_else(|| bad("admin.error.datetime_invalid"))?,
                ),
            };
            if edit.field == "valid_from" {
                after.valid_from = t;
            } else {
                after.valid_until = t;
            }
            if let (Some(s), Some(e)) = (after.valid_from, after.valid_until) {
                if e <= s {
                    return Err(bad("admin.error.end_before_start"));
                }
            }
        }
        "unlocks_hidden" => after.unlocks_hidden = value == "true",
        "holds_seats" => after.holds_seats = value == "true",
        _ => return Err(AppError::invalid("field", "admin.error.field_unknown")),
    }
    if matches!(edit.field, "ticket_type_id" | "holds_seats") {
        // Its orders' seats are on the pass it named: uses given back later go to that pass's hold.
        let (orders,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT COUNT(*) FROM orders WHERE voucher_id = $1").bind(edit.id).fetch_one(c).await)?;
        if orders > 0 {
            return Err(bad("vouchers.error.used"));
        }
        if after.holds_seats && after.ticket_type_id.is_none() {
            return Err(bad("vouchers.error.hold_needs_pass"));
        }
        if before.user_id.is_some()
            && matches!(edit.field, "ticket_type_id" | "holds_seats" | "code")
        {
            return Err(bad("vouchers.error.personal"));
        }
    }
    // The seats held follow the voucher: on the same pass, only the difference is taken (from
    // seats the public could buy) or given back; on another pass, or when the hold starts or
    // stops, the old hold goes back and the new one is taken. A hold that ended starts again only
    // if the end date moved on.
    let hold_runs = after.holds_seats && after.valid_until.is_none_or(|u| u > now());
    let old_held = before.held();
    let new_held = if hold_runs { after.uses_left() } else { 0 };
    let old_runs = before.holds_seats && before.hold_released_at.is_none();
    if old_runs && hold_runs && before.ticket_type_id == after.ticket_type_id {
        let pass = after.ticket_type_id.expect("a hold names its pass");
        let delta = new_held - old_held;
        if delta > 0 && !take_hold(&mut tx, pass, delta).await? {
            return Err(bad("vouchers.error.not_enough_seats"));
        }
        if delta < 0 {
            tx_run!(&mut tx, c => sqlx::query("UPDATE ticket_types SET held_count = held_count - $1 WHERE id = $2")
                .bind(-delta).bind(pass).execute(c).await.map(|_| ()))?;
        }
    } else {
        end_hold(&mut tx, edit.id).await?;
        if hold_runs {
            let pass = after.ticket_type_id.expect("checked above");
            if !take_hold(&mut tx, pass, new_held).await? {
                return Err(bad("vouchers.error.not_enough_seats"));
            }
        }
    }
    let n = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE vouchers SET code = $1, tag = $2, ticket_type_id = $3, effect = $4, value = $5, max_uses = $6, valid_from = $7, valid_until = $8, \
         unlocks_hidden = $9, holds_seats = $10, hold_released_at = $11, version = version + 1, updated_at = $12 \
         WHERE id = $13 AND version = $14")
        .bind(&after.code).bind(&after.tag).bind(after.ticket_type_id).bind(after.effect.as_str()).bind(after.value).bind(after.max_uses)
        .bind(after.valid_from).bind(after.valid_until).bind(after.unlocks_hidden).bind(after.holds_seats)
        .bind(if hold_runs { None } else { Some(now()) }).bind(now()).bind(edit.id).bind(edit.version)
        .execute(c).await.map(|r| r.rows_affected()));
    match n {
        Ok(1) => {}
        Ok(_) => return Err(bad("vouchers.error.changed_meanwhile")),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(bad("vouchers.error.code_taken"))
        }
        Err(e) => return Err(e.into()),
    }
    if !hold_runs && before.user_id.is_some() {
        expire_offer(&mut tx, edit.id).await?;
    }
    Audit::new(edit.by, "UPDATE_VOUCHER", "voucher", edit.id).meta(serde_json::json!({ "field": edit.field, "before": snapshot(&before), "after": snapshot(&after) })).write(&mut tx).await?;
    let row = one(&mut tx, config, edit.id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes a voucher no order ever used (its hold goes back); one that was used is ended instead
/// (end date now, hold released), so that its orders keep naming it.
pub async fn delete(db: &Db, admin: Uuid, id: Uuid, version: i64) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let before = locked(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if before.version != version {
        return Err(AppError::invalid(
            "voucher",
            "vouchers.error.changed_meanwhile",
        ));
    }
    end_hold(&mut tx, id).await?;
    let (orders,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT COUNT(*) FROM orders WHERE voucher_id = $1").bind(id).fetch_one(c).await)?;
    let (offers,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT COUNT(*) FROM waitlist_entries WHERE voucher_id = $1").bind(id).fetch_one(c).await)?;
    // A waiting-list offer ended by hand: its entry is marked expired (the seat goes to the next).
    expire_offer(&mut tx, id).await?;
    let action = if orders == 0 && offers == 0 {
        tx_run!(&mut tx, c => sqlx::query("DELETE FROM vouchers WHERE id = $1").bind(id).execute(c).await.map(|_| ()))?;
        "DELETE_VOUCHER"
    } else {
        tx_run!(&mut tx, c => sqlx::query("UPDATE vouchers SET valid_until = $1, version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(now()).bind(id).execute(c).await.map(|_| ()))?;
        "END_VOUCHER"
    };
    Audit::new(admin, action, "voucher", id)
        .meta(serde_json::json!({ "before": snapshot(&before) }))
        .commit(tx)
        .await
}
