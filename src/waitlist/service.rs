//! The waiting list on the server: joining and leaving, the job that offers freed seats in order
//! (safe with several instances: a seat is taken for an offer by the same conditional UPDATE that
//! guards every sale, and an entry becomes OFFERED once, by a conditional UPDATE), and the back
//! office's moves.
use super::{MyWait, PassList, WaitRow, WaitStatus};
use crate::server::prelude::*;
use crate::{
    i18n::Locale,
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
    passes::{
        service::{TypeRow, TYPE_COLUMNS},
        Availability,
    },
    vouchers::{service as vouchers, VoucherEffect},
};
use chrono::Duration;

/// My entry: pass, status, place, offer code, offer end.
type MineRow = (Uuid, String, i64, Option<String>, Option<DateTime<Utc>>);
/// An entry as the back office lists it: id, email, name, status, joined, offer end.
type EntryRow = (
    Uuid,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// Joins a pass's list: the pass must be on sale and sold out to the public. One entry per person
/// and pass; an expired offer's entry is replaced by a new one at the end of the list.
pub async fn join(
    state: &AppState,
    user_id: Uuid,
    verified: bool,
    pass: Uuid,
) -> Result<(), AppError> {
    crate::accounts::service::limited(state, &format!("waitlist:{user_id}"), 30, 3600)?;
    // A seat offered holds it for hours: only confirmed addresses queue, as only they buy.
    if state.config.checkout_requires_verified_email && !verified {
        return Err(AppError::invalid("waitlist", "shop.error.email_unverified"));
    }
    let sql = format!("SELECT {TYPE_COLUMNS} FROM ticket_types WHERE id = $1");
    let row: Option<TypeRow> =
        db_run!(&state.db, pool => sqlx::query_as(&sql).bind(pass).fetch_optional(pool).await)?;
    let row = row.ok_or(AppError::NotFound)?;
    let at = now();
    match row.availability(at) {
        _ if row.is_hidden => return Err(AppError::invalid("waitlist", "shop.error.not_on_sale")),
        Availability::SoldOut => {}
        Availability::OnSale { .. } => {
            return Err(AppError::invalid("waitlist", "waitlist.error.not_sold_out"))
        }
        _ => return Err(AppError::invalid("waitlist", "shop.error.not_on_sale")),
    }
    let mut tx = state.db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query("DELETE FROM waitlist_entries WHERE user_id = $1 AND ticket_type_id = $2 AND status = 'EXPIRED'")
        .bind(user_id).bind(pass).execute(c).await.map(|_| ()))?;
    let n = tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO waitlist_entries (id, user_id, ticket_type_id, rank, status, created_at) VALUES ($1, $2, $3, $4, 'WAITING', $5) \
         ON CONFLICT (user_id, ticket_type_id) DO NOTHING")
        .bind(Uuid::new_v4()).bind(user_id).bind(pass).bind(at.timestamp_micros()).bind(at)
        .execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::invalid("waitlist", "waitlist.error.already"));
    }
    tx.commit().await?;
    Ok(())
}

/// Leaves a list. An offer not taken ends now: its seat goes to the next person.
pub async fn leave(state: &AppState, user_id: Uuid, pass: Uuid) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let entry: Option<(Option<Uuid>,)> = tx_run!(&mut tx, c => sqlx::query_as(
        "DELETE FROM waitlist_entries WHERE user_id = $1 AND ticket_type_id = $2 RETURNING voucher_id")
        .bind(user_id).bind(pass).fetch_optional(c).await)?;
    let Some((voucher,)) = entry else {
        return Err(AppError::NotFound);
    };
    if let Some(voucher) = voucher {
        end_offer(&mut tx, voucher).await?;
    }
    tx.commit().await?;
    offer_seats_soon(state).await;
    Ok(())
}

/// An offer given up or replaced: its hold ends and its code stops working.
async fn end_offer(tx: &mut Tx, voucher: Uuid) -> Result<(), sqlx::Error> {
    vouchers::end_hold(tx, voucher).await?;
    tx_run!(tx, c => sqlx::query("UPDATE vouchers SET valid_until = $1, updated_at = $1 WHERE id = $2 AND (valid_until IS NULL OR valid_until > $1)")
        .bind(now()).bind(voucher).execute(c).await.map(|_| ()))
}

/// My entries, with my place among those waiting.
pub async fn mine(db: &Db, config: &Config, user_id: Uuid) -> Result<Vec<MyWait>, AppError> {
    let rows: Vec<MineRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT w.ticket_type_id, w.status, \
         (SELECT COUNT(*) FROM waitlist_entries o WHERE o.ticket_type_id = w.ticket_type_id AND o.status = 'WAITING' AND o.rank <= w.rank) AS position, \
         v.code, w.offered_until \
         FROM waitlist_entries w LEFT JOIN vouchers v ON v.id = w.voucher_id WHERE w.user_id = $1")
        .bind(user_id).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(pass, status, position, code, until)| {
            let status: WaitStatus = status.parse().ok()?;
            Some(MyWait {
                ticket_type_id: pass,
                status,
                position,
                offer_code: code.filter(|_| status == WaitStatus::Offered),
                offered_until: until
                    .filter(|_| status == WaitStatus::Offered)
                    .map(|u| config.short_local(u)),
            })
        })
        .collect())
}

/// What came of one attempt to offer a seat.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Sent,
    /// No seat is free on the pass.
    NoSeat,
    /// The entry was served meanwhile (another instance, or it left).
    Gone,
}

/// Offers one seat of `pass` to entry `entry_id` (WAITING), in the caller's transaction: the seat
/// is held (only if free), a personal one-seat voucher made, the entry marked OFFERED, the mail
/// queued.
async fn offer(tx: &mut Tx, config: &Config, entry_id: Uuid) -> Result<Offer, AppError> {
    let row: Option<(Uuid, Uuid, String, String, String, bool)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT w.user_id, w.ticket_type_id, u.email, u.locale, t.name, \
         (t.is_active AND NOT t.is_hidden AND (t.sales_start_at IS NULL OR t.sales_start_at <= $2) AND (t.sales_end_at IS NULL OR t.sales_end_at > $2)) \
         FROM waitlist_entries w JOIN users u ON u.id = w.user_id \
         JOIN ticket_types t ON t.id = w.ticket_type_id WHERE w.id = $1 AND w.status = 'WAITING' AND u.deleted_at IS NULL")
        .bind(entry_id).bind(now()).fetch_optional(c).await)?;
    let Some((user_id, pass, email, locale, pass_name, on_sale)) = row else {
        return Ok(Offer::Gone);
    };
    if !on_sale {
        // An offer for a pass no longer (or not yet) sold could not be used: none is made.
        return Ok(Offer::NoSeat);
    }
    // The seat: free only if nobody reserved, bought or holds it (the people waiting are the
    // ones it is for, so they do not count here).
    let took = tx_run!(tx, c => sqlx::query(
        "UPDATE ticket_types SET held_count = held_count + 1 WHERE id = $1 AND reserved_count + sold_count + held_count + 1 <= capacity")
        .bind(pass).execute(c).await.map(|r| r.rows_affected()))?;
    if took != 1 {
        return Ok(Offer::NoSeat);
    }
    let until = now()
        .checked_add_signed(Duration::hours(config.waitlist_offer_hours))
        .ok_or_else(|| AppError::invalid("waitlist", "waitlist.error.hours"))?;
    let voucher = Uuid::new_v4();
    let mut code = vouchers::generate_code();
    while !vouchers::insert(
        tx,
        voucher,
        &code,
        "waitlist",
        Some(pass),
        VoucherEffect::Percent,
        0,
        1,
        Some(until),
        true,
        Some(user_id),
    )
    .await?
    {
        code = vouchers::generate_code();
    }
    let marked = tx_run!(tx, c => sqlx::query(
        "UPDATE waitlist_entries SET status = 'OFFERED', voucher_id = $1, offered_until = $2 WHERE id = $3 AND status = 'WAITING'")
        .bind(voucher).bind(until).bind(entry_id).execute(c).await.map(|r| r.rows_affected()))?;
    if marked != 1 {
        return Ok(Offer::Gone);
    }
    let locale = Locale::from_code(&locale).unwrap_or_default();
    let local = until.with_timezone(&config.timezone);
    enqueue(
        tx,
        &Mail::new(
            MailKind::WaitlistOffer,
            Some(user_id),
            email,
            locale,
            Some(format!("{}/tickets?voucher={code}", config.base_url)),
        )
        .with(vec![
            ("pass", pass_name),
            ("until", local.format("%d/%m/%Y %H:%M").to_string()),
            ("hours", config.waitlist_offer_hours.to_string()),
        ]),
    )
    .await?;
    Ok(Offer::Sent)
}

/// The job: ends lapsed holds (offers not taken go EXPIRED), then, on every pass with automatic
/// offers, offers each free seat to the next person waiting. Returns the offers sent.
pub async fn offer_seats(state: &AppState) -> Result<usize, AppError> {
    vouchers::release_lapsed_holds(&state.db).await?;
    let passes: Vec<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT t.id FROM ticket_types t WHERE t.waitlist_auto AND t.is_active AND NOT t.is_hidden \
         AND (t.sales_start_at IS NULL OR t.sales_start_at <= $1) AND (t.sales_end_at IS NULL OR t.sales_end_at > $1) \
         AND EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.ticket_type_id = t.id AND w.status = 'WAITING') \
         AND t.reserved_count + t.sold_count + t.held_count < t.capacity")
        .bind(now()).fetch_all(pool).await)?;
    let mut sent = 0;
    for (pass,) in passes {
        // At most one pass's worth of offers per run and pass: the next run goes on.
        for _ in 0..200 {
            let next: Option<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as(
                "SELECT w.id FROM waitlist_entries w JOIN users u ON u.id = w.user_id WHERE w.ticket_type_id = $1 AND w.status = 'WAITING' \
                 AND u.deleted_at IS NULL ORDER BY w.rank, w.id LIMIT 1")
                .bind(pass).fetch_optional(pool).await)?;
            let Some((entry,)) = next else { break };
            let mut tx = state.db.begin().await?;
            match offer(&mut tx, &state.config, entry).await? {
                Offer::Sent => {
                    tx.commit().await?;
                    sent += 1;
                }
                Offer::NoSeat => break,
                Offer::Gone => continue,
            }
        }
    }
    if sent > 0 {
        state.mailer.wake();
    }
    Ok(sent)
}

/// [`offer_seats`] after a request freed seats: its failure is logged, never the request's (the
/// background job tries again within 30 seconds).
pub async fn offer_seats_soon(state: &AppState) {
    if let Err(e) = offer_seats(state).await {
        tracing::warn!(error = %e, "waiting-list offers after freeing seats");
    }
}

/// After a purchase: the buyer's entries for the passes bought leave the lists (an offer of theirs
/// that another order used is spent; a different offer still running keeps its entry).
pub async fn bought(tx: &mut Tx, order_id: Uuid) -> Result<(), sqlx::Error> {
    // An offer used is spent: its code stops, and if the order is refunded later, the seat goes
    // to the next person rather than back to this offer.
    let offer: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT v.id FROM orders o JOIN vouchers v ON v.id = o.voucher_id WHERE o.id = $1 AND v.user_id IS NOT NULL")
        .bind(order_id).fetch_optional(c).await)?;
    if let Some((voucher,)) = offer {
        end_offer(tx, voucher).await?;
    }
    tx_run!(tx, c => sqlx::query(
        "DELETE FROM waitlist_entries WHERE user_id = (SELECT user_id FROM orders WHERE id = $1) \
         AND ticket_type_id IN (SELECT ticket_type_id FROM order_items WHERE order_id = $1) \
         AND (status <> 'OFFERED' OR voucher_id = (SELECT voucher_id FROM orders WHERE id = $1))")
        .bind(order_id).execute(c).await.map(|_| ()))
}

// ---------------------------------------------------------------------------------------------
// The back office.

pub async fn lists(db: &Db, config: &Config) -> Result<Vec<PassList>, AppError> {
    let passes: Vec<(Uuid, String, bool, i64, i64, i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, name, waitlist_auto, capacity, reserved_count, sold_count, held_count FROM ticket_types \
         WHERE EXISTS (SELECT 1 FROM waitlist_entries w WHERE w.ticket_type_id = ticket_types.id) ORDER BY name, id")
        .fetch_all(pool).await)?;
    let mut out = vec![];
    for (id, name, auto, capacity, reserved, sold, held) in passes {
        let rows: Vec<EntryRow> = db_run!(db, pool => sqlx::query_as(
            concat!("SELECT w.id, u.email, ", crate::person_name_sql!(p, u), " AS name, w.status, w.created_at, w.offered_until \
             FROM waitlist_entries w JOIN users u ON u.id = w.user_id LEFT JOIN profiles p ON p.user_id = u.id \
             WHERE w.ticket_type_id = $1 ORDER BY CASE w.status WHEN 'OFFERED' THEN 0 WHEN 'WAITING' THEN 1 ELSE 2 END, w.rank, w.id LIMIT 1000"))
            .bind(id).fetch_all(pool).await)?;
        let entries: Vec<WaitRow> = rows
            .into_iter()
            .filter_map(|(id, email, name, status, joined_at, offered_until)| {
                Some(WaitRow {
                    id,
                    email,
                    name,
                    status: status.parse().ok()?,
                    joined_at: config.short_local(joined_at),
                    offered_until: offered_until.map(|u| config.short_local(u)),
                })
            })
            .collect();
        out.push(PassList {
            ticket_type_id: id,
            name,
            auto,
            free: (capacity - reserved - sold - held).max(0),
            entries,
        });
    }
    Ok(out)
}

/// Swaps a waiting entry's rank with the one before it.
pub async fn move_up(db: &Db, admin: Uuid, entry_id: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let me: Option<(Uuid, i64)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT ticket_type_id, rank FROM waitlist_entries WHERE id = $1 AND status = 'WAITING'")
        .bind(entry_id).fetch_optional(c).await)?;
    let (pass, rank) = me.ok_or(AppError::NotFound)?;
    let before: Option<(Uuid, i64)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT id, rank FROM waitlist_entries WHERE ticket_type_id = $1 AND status = 'WAITING' AND (rank < $2 OR (rank = $2 AND id < $3)) ORDER BY rank DESC, id DESC LIMIT 1")
        .bind(pass).bind(rank).bind(entry_id).fetch_optional(c).await)?;
    let Some((other, other_rank)) = before else {
        return Err(AppError::invalid("waitlist", "waitlist.error.first"));
    };
    // Equal ranks (joined in the same microsecond) are told apart by one.
    let (mine, theirs) = if other_rank == rank {
        (rank - 1, rank)
    } else {
        (other_rank, rank)
    };
    tx_run!(&mut tx, c => {
        sqlx::query("UPDATE waitlist_entries SET rank = $1 WHERE id = $2").bind(mine).bind(entry_id).execute(&mut *c).await?;
        sqlx::query("UPDATE waitlist_entries SET rank = $1 WHERE id = $2").bind(theirs).bind(other).execute(&mut *c).await.map(|_| ())
    })?;
    Audit::new(admin, "WAITLIST_MOVE_UP", "waitlist_entry", entry_id)
        .meta(serde_json::json!({ "pass": pass, "passed": other }))
        .commit(tx)
        .await
}

pub async fn offer_by_hand(state: &AppState, admin: Uuid, entry_id: Uuid) -> Result<(), AppError> {
    vouchers::release_lapsed_holds(&state.db).await?;
    let mut tx = state.db.begin().await?;
    match offer(&mut tx, &state.config, entry_id).await? {
        Offer::Sent => {}
        Offer::NoSeat => return Err(AppError::invalid("waitlist", "waitlist.error.no_seat")),
        Offer::Gone => return Err(AppError::NotFound),
    }
    Audit::new(admin, "WAITLIST_OFFER", "waitlist_entry", entry_id)
        .meta(serde_json::json!({ "by_hand": true }))
        .commit(tx)
        .await?;
    state.mailer.wake();
    Ok(())
}

pub async fn set_auto(
    state: &AppState,
    admin: Uuid,
    pass: Uuid,
    auto: bool,
) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let before: Option<(bool,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT waitlist_auto FROM ticket_types WHERE id = $1").bind(pass).fetch_optional(c).await)?;
    let (before,) = before.ok_or(AppError::NotFound)?;
    tx_run!(&mut tx, c => sqlx::query("UPDATE ticket_types SET waitlist_auto = $1, updated_at = $2 WHERE id = $3")
        .bind(auto).bind(now()).bind(pass).execute(c).await.map(|_| ()))?;
    Audit::new(admin, "WAITLIST_AUTO", "ticket_type", pass)
        .meta(serde_json::json!({ "before": before, "after": auto }))
        .commit(tx)
        .await?;
    if auto {
        offer_seats_soon(state).await;
    }
    Ok(())
}
