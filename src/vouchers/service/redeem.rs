//! A voucher used in the shop: the code looked up, its uses counted in an order's transaction
//! and given back, and the seats it holds on its pass.
use super::*;

/// Failed code lookups one address may make in [`GUESS_WINDOW_SECS`] before every lookup of that
/// address is refused for a while.
pub const GUESSES_PER_IP: usize = 10;
pub const GUESS_WINDOW_SECS: u64 = 10 * 60;

/// The voucher of a code typed in the shop, usable now by `user`. Unknown, not yet or no longer
/// valid, used up and someone else's codes all get the same answer (`voucher.error.invalid`), so
/// that a guesser learns nothing from it; failed lookups are rate limited per address, and past
/// the budget every lookup from that address is refused for a while.
pub async fn lookup(state: &AppState, raw: &str, user: Option<Uuid>) -> Result<Voucher, AppError> {
    let key = format!(
        "voucher:fail:ip:{}",
        crate::accounts::service::ip_key(state)
    );
    let window = std::time::Duration::from_secs(GUESS_WINDOW_SECS);
    // Counted before the lookup (parallel guesses cannot all slip in before the first is counted),
    // and taken back when the code was good.
    state
        .rate_limiter
        .hit(&key, GUESSES_PER_IP, window)
        .map_err(|secs| AppError::RateLimited {
            minutes: secs.div_ceil(60),
        })?;
    let found = match normalise_code(raw) {
        Some(code) => by_code(&state.db, &code).await?,
        None => None,
    };
    match found {
        Some(v) if v.usable_by(user, now()) => {
            state.rate_limiter.forgive(&key);
            Ok(v)
        }
        _ => Err(AppError::invalid("voucher", "voucher.error.invalid")),
    }
}

/// What the shop tells about a valid code.
pub async fn applied(db: &Db, config: &Config, v: &Voucher) -> Result<AppliedVoucher, sqlx::Error> {
    let pass_name = match v.ticket_type_id {
        Some(id) => db_run!(db, pool => sqlx::query_as::<_, (String,)>("SELECT name FROM ticket_types WHERE id = $1").bind(id).fetch_optional(pool).await)?.map(|r| r.0),
        None => None,
    };
    Ok(AppliedVoucher {
        code: v.code.clone(),
        effect: v.effect,
        value: v.value,
        pass_name,
        uses_left: v.uses_left(),
        personal_until: v.user_id.and(v.valid_until).map(|u| config.short_local(u)),
    })
}

/// Counts `n` uses of `v` in the order's transaction, as one conditional UPDATE: the voucher must
/// still be as it was read (`version`), valid now, with `n` uses left. Returns whether its hold
/// still runs (the seats then come out of it), or the error to show on the code field.
pub async fn take(tx: &mut Tx, v: &Voucher, n: i64) -> Result<bool, AppError> {
    let at = now();
    let row: Option<(Option<DateTime<Utc>>,)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET uses = uses + $1, updated_at = $2 WHERE id = $3 AND version = $4 AND uses + $1 <= max_uses \
         AND (valid_from IS NULL OR valid_from <= $2) AND (valid_until IS NULL OR valid_until > $2) RETURNING hold_released_at")
        .bind(n).bind(at).bind(v.id).bind(v.version).fetch_optional(c).await)?;
    match row {
        Some((released,)) => Ok(v.holds_seats && released.is_none()),
        None => {
            let changed = by_id(tx, v.id)
                .await?
                .is_none_or(|now| now.version != v.version);
            Err(AppError::invalid(
                "voucher",
                if changed {
                    "voucher.error.changed"
                } else {
                    "voucher.error.invalid"
                },
            ))
        }
    }
}

/// A late payment (after the order was released) takes its uses again, whatever the voucher's
/// dates: the buyer paid the price it gave. Returns `None` when they are gone (the payment is
/// refunded), else whether the hold runs.
pub async fn retake(
    tx: &mut Tx,
    id: Uuid,
    n: i64,
) -> Result<Option<(bool, Option<Uuid>)>, sqlx::Error> {
    let row: Option<(bool, Option<DateTime<Utc>>, Option<Uuid>)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET uses = uses + $1, updated_at = $2 WHERE id = $3 AND uses + $1 <= max_uses RETURNING holds_seats, hold_released_at, ticket_type_id")
        .bind(n).bind(now()).bind(id).fetch_optional(c).await)?;
    Ok(row.map(|(holds, released, pass)| (holds && released.is_none(), pass)))
}

/// Gives back `n` uses of voucher `id` (an order released or refunded). Called before the order's
/// seats are given back, so that every transaction locks a voucher before its pass (PostgreSQL then
/// cannot deadlock a release against an order). Returns the pass whose hold the seats go back to
/// while the voucher's hold runs: the caller adds them with [`rehold`] once it has freed them.
pub async fn return_uses(tx: &mut Tx, id: Uuid, n: i64) -> Result<Option<Uuid>, sqlx::Error> {
    if n <= 0 {
        return Ok(None);
    }
    let row: Option<(bool, Option<DateTime<Utc>>, Option<Uuid>)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET uses = CASE WHEN uses >= $1 THEN uses - $1 ELSE 0 END, updated_at = $2 WHERE id = $3 RETURNING holds_seats, hold_released_at, ticket_type_id")
        .bind(n).bind(now()).bind(id).fetch_optional(c).await)?;
    Ok(match row {
        Some((true, None, pass)) => pass,
        _ => None,
    })
}

/// The seats of [`return_uses`] back in their voucher's hold. A voucher's pass cannot change once
/// an order used it, so these are seats the same transaction just freed on that pass.
pub async fn rehold(tx: &mut Tx, pass: Uuid, n: i64) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET held_count = held_count + $1 WHERE id = $2")
        .bind(n).bind(pass).execute(c).await.map(|_| ()))
}

/// Ends the holds of vouchers whose end date passed (their unused seats go back on sale, or to the
/// waiting list), and marks the waiting-list offers among them expired. Returns how many ended.
pub async fn release_lapsed_holds(db: &Db) -> Result<usize, AppError> {
    let at = now();
    let lapsed: Vec<(Uuid,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id FROM vouchers WHERE holds_seats AND hold_released_at IS NULL AND valid_until IS NOT NULL AND valid_until <= $1 LIMIT 200")
        .bind(at).fetch_all(pool).await)?;
    let mut n = 0;
    for (id,) in lapsed {
        let mut tx = db.begin().await?;
        if end_hold(&mut tx, id).await? {
            expire_offer(&mut tx, id).await?;
            n += 1;
        }
        tx.commit().await?;
    }
    Ok(n)
}

/// The waiting-list entry a voucher was offered to, if it is still OFFERED, becomes EXPIRED (its
/// seat goes to the next person).
pub async fn expire_offer(tx: &mut Tx, voucher: Uuid) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE waitlist_entries SET status = 'EXPIRED' WHERE voucher_id = $1 AND status = 'OFFERED'")
        .bind(voucher).execute(c).await.map(|_| ()))
}

/// Ends a voucher's hold now (once: the UPDATE is conditional), giving its seats back to its pass.
pub async fn end_hold(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    let row: Option<(i64, Option<Uuid>)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET hold_released_at = $1 WHERE id = $2 AND holds_seats AND hold_released_at IS NULL RETURNING max_uses - uses, ticket_type_id")
        .bind(now()).bind(id).fetch_optional(c).await)?;
    match row {
        Some((seats, Some(pass))) => {
            tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET held_count = held_count - $1 WHERE id = $2")
                .bind(seats.max(0)).bind(pass).execute(c).await.map(|_| ()))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Takes `seats` of `pass` for a hold, only if the public could still buy them (people waiting
/// on the pass count as taken): false when they are not free.
pub async fn take_hold(tx: &mut Tx, pass: Uuid, seats: i64) -> Result<bool, sqlx::Error> {
    if seats <= 0 {
        return Ok(true);
    }
    let n = tx_run!(tx, c => sqlx::query(
        "UPDATE ticket_types SET held_count = held_count + $1 WHERE id = $2 AND reserved_count + sold_count + held_count + $1 \
         + (SELECT COUNT(*) FROM waitlist_entries w WHERE w.ticket_type_id = $2 AND w.status = 'WAITING') <= capacity")
        .bind(seats).bind(pass).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
