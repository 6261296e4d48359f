use super::*;
use crate::server::prelude::*;
use chrono::{DateTime, Duration, Timelike, Utc};
use std::collections::BTreeMap;

/// Sales and check-ins are grouped by local day in Rust (day boundaries in the conference's
/// zone, the same on both engines): one query each, a row per ticket, a few thousand at most.
pub async fn dashboard(db: &Db, config: &Config) -> Result<Dashboard, AppError> {
    let local = |t: DateTime<Utc>| t.with_timezone(&config.timezone).naive_local();
    let sold: Vec<(DateTime<Utc>, i64, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT t.issued_at, oi.unit_price_cents, o.currency FROM tickets t \
         JOIN order_items oi ON oi.order_id = t.order_id AND oi.ticket_type_id = t.ticket_type_id \
         JOIN orders o ON o.id = t.order_id WHERE t.status IN ('VALID', 'USED')")
        .fetch_all(pool).await)?;
    let mut per_day: BTreeMap<NaiveDate, (i64, i64)> = BTreeMap::new();
    for (at, cents, _) in &sold {
        let e = per_day.entry(local(*at).date()).or_default();
        e.0 += 1;
        e.1 += cents;
    }
    let mut sales = vec![];
    if let (Some(first), Some(last)) = (
        per_day.keys().next().copied(),
        per_day.keys().next_back().copied(),
    ) {
        let mut d = first.max(last - Duration::days(180));
        while d <= last {
            let (tickets, revenue_cents) = per_day.get(&d).copied().unwrap_or_default();
            sales.push(DaySales {
                day: d,
                tickets,
                revenue_cents,
            });
            match d.succ_opt() {
                Some(next) => d = next,
                None => break,
            }
        }
    }
    let passes: Vec<(String, i64, i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT name, sold_count, reserved_count, capacity FROM ticket_types ORDER BY valid_from, name")
        .fetch_all(pool).await)?;
    let used: Vec<(DateTime<Utc>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT used_at FROM tickets WHERE used_at IS NOT NULL AND status = 'USED'")
        .fetch_all(pool).await)?;
    let mut per_quarter: BTreeMap<NaiveDate, BTreeMap<NaiveTime, i64>> = BTreeMap::new();
    for (at,) in &used {
        let t = local(*at);
        let quarter =
            NaiveTime::from_hms_opt(t.hour(), t.minute() / 15 * 15, 0).unwrap_or_default();
        *per_quarter
            .entry(t.date())
            .or_default()
            .entry(quarter)
            .or_default() += 1;
    }
    let checkins = per_quarter
        .into_iter()
        .map(|(day, counts)| {
            // Every quarter between the first and the last check-in of the day.
            let first = *counts.keys().next().expect("non-empty");
            let last = *counts.keys().next_back().expect("non-empty");
            let mut quarters = vec![];
            let mut q = first;
            loop {
                quarters.push((q, counts.get(&q).copied().unwrap_or(0)));
                let next = q + Duration::minutes(15);
                if q >= last || next < q {
                    break;
                }
                q = next;
            }
            CheckinDay { day, quarters }
        })
        .collect();
    let (paid_orders, voucher_orders, discount_cents): (i64, i64, i64) = db_run!(db, pool => sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COUNT(voucher_id) AS BIGINT), CAST(COALESCE(SUM(discount_cents), 0) AS BIGINT) \
         FROM orders WHERE status = 'PAID'")
        .fetch_one(pool).await)?;
    let saved: Vec<(String, Option<String>, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT c.title, c.location, CAST(COUNT(*) AS BIGINT) AS saves FROM user_program_items i \
         JOIN conferences c ON c.id = i.conference_id GROUP BY c.id, c.title, c.location \
         ORDER BY saves DESC, c.title LIMIT 10")
        .fetch_all(pool).await)?;
    Ok(Dashboard {
        currency: sold
            .first()
            .map(|s| s.2.clone())
            .unwrap_or_else(|| "eur".into()),
        tickets: sold.len() as i64,
        revenue_cents: sold.iter().map(|s| s.1).sum(),
        checked_in: used.len() as i64,
        paid_orders,
        voucher_orders,
        discount_cents,
        sales,
        passes: passes
            .into_iter()
            .map(|(name, sold, reserved, capacity)| PassFill {
                name,
                sold,
                reserved,
                capacity,
            })
            .collect(),
        checkins,
        saved: saved
            .into_iter()
            .map(|(title, room, saves)| TalkSaves {
                title,
                room: room.unwrap_or_default(),
                saves,
            })
            .collect(),
    })
}
