//! Check-in lists and entries on the server: the lists (made, changed, archived, audited), the list
//! a scan is for, a ticket's marks on a list, recording an entry or an exit (and the ticket's
//! first-entry fields), counters, arrivals.
use super::{
    rules::Mark, Arrivals, CheckinList, Choice, Direction, ListArrivals, ListCounters, ListDraft,
    ListsAdmin, PassCount, Rule, ENTRANCE,
};
use crate::accounts::AuthUser;
use crate::server::prelude::*;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use std::collections::BTreeMap;

#[derive(sqlx::FromRow)]
struct ListRow {
    id: Uuid,
    name: String,
    #[sqlx(try_from = "String")]
    rule: Rule,
    all_passes: bool,
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
    talk_id: Option<Uuid>,
    talk_title: Option<String>,
    archived_at: Option<DateTime<Utc>>,
}

const LIST_COLUMNS: &str = "l.id, l.name, l.rule, l.all_passes, l.opens_at, l.closes_at, l.talk_id, \
     c.title AS talk_title, l.archived_at FROM checkin_lists l LEFT JOIN conferences c ON c.id = l.talk_id";

/// A list's instant as a `datetime-local` field shows it (conference time).
fn local_field(config: &Config, at: Option<DateTime<Utc>>) -> String {
    at.map(|t| {
        t.with_timezone(&config.timezone)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

fn to_list(config: &Config, r: ListRow, passes: &[(Uuid, Uuid)]) -> CheckinList {
    CheckinList {
        id: r.id,
        name: r.name,
        rule: r.rule,
        all_passes: r.all_passes,
        passes: passes
            .iter()
            .filter(|(l, _)| *l == r.id)
            .map(|(_, p)| *p)
            .collect(),
        opens_local: local_field(config, r.opens_at),
        closes_local: local_field(config, r.closes_at),
        opens_at: r.opens_at,
        closes_at: r.closes_at,
        talk_id: r.talk_id,
        talk_title: r.talk_title,
        archived: r.archived_at.is_some(),
    }
}

/// Every list, the default one first, then by creation.
pub async fn lists(db: &Db, config: &Config) -> Result<Vec<CheckinList>, AppError> {
    let sql = format!("SELECT {LIST_COLUMNS} ORDER BY CASE WHEN l.id = $1 THEN 0 ELSE 1 END, l.created_at, l.name");
    let rows: Vec<ListRow> =
        db_run!(db, pool => sqlx::query_as(&sql).bind(ENTRANCE).fetch_all(pool).await)?;
    let passes: Vec<(Uuid, Uuid)> = db_run!(db, pool => sqlx::query_as(
        "SELECT list_id, ticket_type_id FROM checkin_list_passes").fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|r| to_list(config, r, &passes))
        .collect())
}

/// The list a scan is for: the one named (not archived), else the default one (or the first list
/// not archived when the default was archived).
pub async fn door_list(
    tx: &mut Tx,
    config: &Config,
    id: Option<Uuid>,
) -> Result<CheckinList, AppError> {
    let sql = format!(
        "SELECT {LIST_COLUMNS} WHERE l.archived_at IS NULL AND ($1 OR l.id = $2) \
         ORDER BY CASE WHEN l.id = $2 THEN 0 ELSE 1 END, l.created_at LIMIT 1"
    );
    let row: Option<ListRow> = tx_run!(tx, c => sqlx::query_as(&sql)
        .bind(id.is_none()).bind(id.unwrap_or(ENTRANCE)).fetch_optional(c).await)?;
    let Some(row) = row else {
        return Err(AppError::invalid("list", "checkin.error.list_unknown"));
    };
    let passes: Vec<(Uuid, Uuid)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT list_id, ticket_type_id FROM checkin_list_passes WHERE list_id = $1")
        .bind(row.id).fetch_all(c).await)?;
    Ok(to_list(config, row, &passes))
}

/// The list an offline entry names: that list (archived since, too), the default one when it
/// names none, `None` for a list this server never had.
pub async fn entry_list(
    tx: &mut Tx,
    config: &Config,
    id: Option<Uuid>,
) -> Result<Option<CheckinList>, AppError> {
    let Some(id) = id else {
        return door_list(tx, config, None).await.map(Some);
    };
    let sql = format!("SELECT {LIST_COLUMNS} WHERE l.id = $1");
    let row: Option<ListRow> =
        tx_run!(tx, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let passes: Vec<(Uuid, Uuid)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT list_id, ticket_type_id FROM checkin_list_passes WHERE list_id = $1")
        .bind(id).fetch_all(c).await)?;
    Ok(Some(to_list(config, row, &passes)))
}

/// A recorded entry or exit, with who made it and on which device.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct CheckinRow {
    pub id: Uuid,
    pub list_id: Uuid,
    pub ticket_id: Uuid,
    pub at: DateTime<Utc>,
    pub day: String,
    #[sqlx(try_from = "String")]
    pub direction: Direction,
    pub staff_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub staff: Option<String>,
    pub device: Option<String>,
}

impl CheckinRow {
    pub fn mark(&self) -> Mark {
        Mark {
            at_ms: self.at.timestamp_millis(),
            day: self.day.clone(),
            direction: self.direction,
            by: match (&self.staff, &self.device) {
                (Some(s), Some(d)) => Some(format!("{s} · {d}")),
                (Some(s), None) => Some(s.clone()),
                (None, d) => d.clone(),
            },
        }
    }
}

/// The SELECT of `CheckinRow`s (alias `c`), to be followed by a WHERE.
pub const CHECKIN_SELECT: &str = concat!(
    "SELECT c.id, c.list_id, c.ticket_id, c.at, c.day, c.direction, c.staff_id, c.device_id, ",
    "CASE WHEN c.staff_id IS NULL THEN NULL ELSE ",
    crate::person_name_sql!(sp, s),
    " END AS staff, dd.label AS device \
     FROM checkins c LEFT JOIN users s ON s.id = c.staff_id LEFT JOIN profiles sp ON sp.user_id = s.id \
     LEFT JOIN door_devices dd ON dd.id = c.device_id "
);

/// What the list's rule needs of a ticket's entries and exits on a list, oldest first: its first
/// entry, its first entry on `today`, its last mark (at most three rows, each found by the
/// `(ticket_id, list_id, at)` index: an in/out list scanned all day costs no more than a new one).
pub async fn ticket_checkins(
    tx: &mut Tx,
    ticket: Uuid,
    list: Uuid,
    today: &str,
) -> Result<Vec<CheckinRow>, sqlx::Error> {
    let sql = format!(
        "{CHECKIN_SELECT} WHERE c.id IN ( \
           SELECT id FROM (SELECT id FROM checkins WHERE ticket_id = $1 AND list_id = $2 AND direction = 'IN' ORDER BY at, id LIMIT 1) a \
           UNION ALL SELECT id FROM (SELECT id FROM checkins WHERE ticket_id = $1 AND list_id = $2 AND direction = 'IN' AND day = $3 ORDER BY at, id LIMIT 1) b \
           UNION ALL SELECT id FROM (SELECT id FROM checkins WHERE ticket_id = $1 AND list_id = $2 ORDER BY at DESC, id DESC LIMIT 1) l) \
         ORDER BY c.at, c.id"
    );
    tx_run!(tx, c => sqlx::query_as(&sql).bind(ticket).bind(list).bind(today).fetch_all(c).await)
}

/// The conference day of an instant.
pub fn day(config: &Config, at: DateTime<Utc>) -> String {
    at.with_timezone(&config.timezone)
        .format("%Y-%m-%d")
        .to_string()
}

/// The zone's offset from UTC at an instant, in minutes (for the phones' own day arithmetic).
pub fn offset_minutes(config: &Config, at: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    at.with_timezone(&config.timezone)
        .offset()
        .fix()
        .local_minus_utc()
        / 60
}

/// Whether a list admits a ticket of this pass: its passes, and for a workshop's list a seat booked.
pub async fn admits(
    tx: &mut Tx,
    list: &CheckinList,
    pass: Uuid,
    ticket: Uuid,
) -> Result<bool, sqlx::Error> {
    if !list.all_passes && !list.passes.contains(&pass) {
        return Ok(false);
    }
    match list.talk_id {
        None => Ok(true),
        Some(talk) => {
            let booked: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
                "SELECT ticket_id FROM workshop_bookings WHERE talk_id = $1 AND ticket_id = $2")
                .bind(talk).bind(ticket).fetch_optional(c).await)?;
            Ok(booked.is_some())
        }
    }
}

/// Whether the list is open at `at` (its own hours, if it has them).
pub fn list_open(list: &CheckinList, at: DateTime<Utc>) -> bool {
    list.opens_at.is_none_or(|o| o <= at) && list.closes_at.is_none_or(|c| at < c)
}

/// One entry or exit to record.
pub struct NewCheckin {
    pub id: Uuid,
    pub list: Uuid,
    pub ticket: Uuid,
    pub at: DateTime<Utc>,
    pub direction: Direction,
    pub staff: Uuid,
    pub device: Option<Uuid>,
    pub offline: bool,
}

/// Records an entry or exit; an entry that is the ticket's first ever also sets its first-entry
/// fields (USED, when, by whom, which scan). Every one tells the door's devices (`last_checkin_at`).
pub async fn record(tx: &mut Tx, config: &Config, e: &NewCheckin) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO checkins (id, list_id, ticket_id, at, day, direction, staff_id, device_id, offline, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(e.id).bind(e.list).bind(e.ticket).bind(e.at).bind(day(config, e.at)).bind(e.direction.as_str())
        .bind(e.staff).bind(e.device).bind(e.offline).bind(now()).execute(c).await.map(|_| ()))?;
    if e.direction == Direction::In {
        if let Some(to) = crate::webhooks::service::listeners(tx, "ticket.checked_in").await? {
            let (order, pass): (Uuid, Uuid) = tx_run!(tx, c => sqlx::query_as(
                "SELECT order_id, ticket_type_id FROM tickets WHERE id = $1").bind(e.ticket).fetch_one(c).await)?;
            let data = serde_json::json!({
                "checkin_id": e.id, "ticket_id": e.ticket, "order_id": order, "pass_id": pass,
                "list_id": e.list, "at": e.at, "day": day(config, e.at), "offline": e.offline,
            });
            // Each entry recorded is its own event (an entry undone, then scanned again with the
            // same scan id, is told again).
            to.emit(tx, None, data).await?;
        }
        tx_run!(tx, c => sqlx::query(
            "UPDATE tickets SET status = CASE WHEN status = 'VALID' THEN 'USED' ELSE status END, \
             used_by_user_id = CASE WHEN used_at IS NULL OR $1 < used_at THEN $2 ELSE used_by_user_id END, \
             used_scan_id = CASE WHEN used_at IS NULL OR $1 < used_at THEN $3 ELSE used_scan_id END, \
             used_at = CASE WHEN used_at IS NULL OR $1 < used_at THEN $1 ELSE used_at END, last_checkin_at = $1 WHERE id = $4")
            .bind(e.at).bind(e.staff).bind(e.id).bind(e.ticket).execute(c).await.map(|_| ()))
    } else {
        tx_run!(tx, c => sqlx::query("UPDATE tickets SET last_checkin_at = $1 WHERE id = $2")
            .bind(e.at).bind(e.ticket).execute(c).await.map(|_| ()))
    }
}

/// An entry undone (`entry` let `ticket` in on `list` at `entry_at`): the entry is removed, the
/// ticket's first-entry fields follow its first entry left (VALID again when there is none), and
/// the webhooks hear `ticket.checkin_undone` (a poller of the check-ins no longer finds it).
pub async fn remove_entry(
    tx: &mut Tx,
    entry: Uuid,
    ticket: Uuid,
    list: Uuid,
    entry_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("DELETE FROM checkins WHERE id = $1")
        .bind(entry).execute(c).await.map(|_| ()))?;
    if let Some(to) = crate::webhooks::service::listeners(tx, "ticket.checkin_undone").await? {
        let data = serde_json::json!({
            "checkin_id": entry, "ticket_id": ticket, "list_id": list, "at": entry_at, "undone_at": now,
        });
        to.emit(tx, None, data).await?;
    }
    refresh_first_entry(tx, ticket, now).await
}

async fn refresh_first_entry(
    tx: &mut Tx,
    ticket: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let first: Option<(Uuid, DateTime<Utc>, Option<Uuid>)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id, at, staff_id FROM checkins WHERE ticket_id = $1 AND direction = 'IN' ORDER BY at, id LIMIT 1")
        .bind(ticket).fetch_optional(c).await)?;
    match first {
        Some((id, at, staff)) => tx_run!(tx, c => sqlx::query(
            "UPDATE tickets SET status = 'USED', used_at = $1, used_by_user_id = $2, used_scan_id = $3, last_checkin_at = $4 \
             WHERE id = $5 AND status IN ('VALID', 'USED')")
            .bind(at).bind(staff).bind(id).bind(now).bind(ticket).execute(c).await.map(|_| ())),
        None => tx_run!(tx, c => sqlx::query(
            "UPDATE tickets SET status = 'VALID', used_at = NULL, used_by_user_id = NULL, used_scan_id = NULL, last_checkin_at = $1 \
             WHERE id = $2 AND status = 'USED'")
            .bind(now).bind(ticket).execute(c).await.map(|_| ())),
    }
}

/// `YYYY-MM-DDTHH:MM` in conference time (empty: none).
fn parse_local(config: &Config, raw: &str, field: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| AppError::invalid(field, "checkin.error.time"))?;
    if !(2000..=9999).contains(&chrono::Datelike::year(&naive)) {
        return Err(AppError::invalid(field, "checkin.error.time"));
    }
    config
        .timezone
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(|| AppError::invalid(field, "checkin.error.time"))
}

/// The editor's lists, passes and workshops.
pub async fn lists_admin(db: &Db, config: &Config) -> Result<ListsAdmin, AppError> {
    let lists = lists(db, config).await?;
    let passes: Vec<(Uuid, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, name FROM ticket_types ORDER BY valid_from, name").fetch_all(pool).await)?;
    let workshops: Vec<(Uuid, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT c.id, c.title FROM workshops w JOIN conferences c ON c.id = w.talk_id ORDER BY c.start_at, c.title")
        .fetch_all(pool).await)?;
    let talks: Vec<(Uuid, String)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, title FROM conferences ORDER BY start_at, title").fetch_all(pool).await)?;
    let seats: Vec<(Uuid, i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT talk_id, capacity, booked_count FROM workshops").fetch_all(pool).await)?;
    let choice = |(id, name): (Uuid, String)| Choice { id, name };
    Ok(ListsAdmin {
        lists,
        passes: passes.into_iter().map(choice).collect(),
        workshops: workshops.into_iter().map(choice).collect(),
        talks: talks.into_iter().map(choice).collect(),
        seats,
    })
}

/// Creates (no id) or changes a list; every field is checked and named when wrong.
pub async fn save(
    db: &Db,
    config: &Config,
    admin: &AuthUser,
    d: &ListDraft,
) -> Result<Uuid, AppError> {
    let name = crate::text::one_line(&d.name);
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::invalid("name", "checkin.error.name"));
    }
    let rule = Rule::parse(d.rule.trim())
        .ok_or_else(|| AppError::invalid("rule", "checkin.error.rule"))?;
    let opens = parse_local(config, &d.opens_at, "opens_at")?;
    let closes = parse_local(config, &d.closes_at, "closes_at")?;
    if let (Some(o), Some(c)) = (opens, closes) {
        if c <= o {
            return Err(AppError::invalid(
                "closes_at",
                "checkin.error.closes_before",
            ));
        }
    }
    if d.passes.len() > 500 {
        return Err(AppError::invalid("passes", "checkin.error.passes"));
    }
    if !d.all_passes && d.passes.is_empty() {
        return Err(AppError::invalid("passes", "checkin.error.no_pass"));
    }
    let mut passes = d.passes.clone();
    passes.sort();
    passes.dedup();
    let now = crate::server::state::now();
    let mut tx = db.begin().await?;
    if !crate::passes::service::all_exist(&mut tx, &passes).await? {
        return Err(AppError::invalid("passes", "checkin.error.passes"));
    }
    if let Some(talk) = d.talk_id {
        let workshop: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT talk_id FROM workshops WHERE talk_id = $1")
            .bind(talk).fetch_optional(c).await)?;
        if workshop.is_none() {
            return Err(AppError::invalid("talk_id", "checkin.error.workshop"));
        }
    }
    let id = match d.id {
        Some(id) => {
            let n = tx_run!(&mut tx, c => sqlx::query(
                "UPDATE checkin_lists SET name = $1, rule = $2, all_passes = $3, opens_at = $4, closes_at = $5, talk_id = $6 WHERE id = $7")
                .bind(&name).bind(rule.as_str()).bind(d.all_passes).bind(opens).bind(closes).bind(d.talk_id).bind(id)
                .execute(c).await.map(|r| r.rows_affected()))?;
            if n != 1 {
                return Err(AppError::NotFound);
            }
            id
        }
        None => {
            let id = Uuid::new_v4();
            tx_run!(&mut tx, c => sqlx::query(
                "INSERT INTO checkin_lists (id, name, rule, all_passes, opens_at, closes_at, talk_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(id).bind(&name).bind(rule.as_str()).bind(d.all_passes).bind(opens).bind(closes).bind(d.talk_id).bind(now)
                .execute(c).await.map(|_| ()))?;
            id
        }
    };
    tx_run!(&mut tx, c => sqlx::query("DELETE FROM checkin_list_passes WHERE list_id = $1").bind(id).execute(c).await.map(|_| ()))?;
    if !d.all_passes {
        for p in &passes {
            tx_run!(&mut tx, c => sqlx::query("INSERT INTO checkin_list_passes (list_id, ticket_type_id) VALUES ($1, $2)")
                .bind(id).bind(p).execute(c).await.map(|_| ()))?;
        }
    }
    // The door's devices fetch the lists again at their next sync.
    crate::ticketing::codes::lock_door(&mut tx).await?;
    audit(
        &mut tx,
        admin.id,
        if d.id.is_some() {
            "UPDATE_CHECKIN_LIST"
        } else {
            "CREATE_CHECKIN_LIST"
        },
        "checkin_list",
        &id.to_string(),
        serde_json::json!({
            "name": name, "rule": rule.as_str(), "all_passes": d.all_passes, "passes": passes,
            "opens_at": opens, "closes_at": closes, "talk_id": d.talk_id,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Archives a list or brings it back; audited.
pub async fn archive(db: &Db, admin: &AuthUser, id: Uuid, archived: bool) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let at = archived.then(crate::server::state::now);
    let n = tx_run!(&mut tx, c => sqlx::query("UPDATE checkin_lists SET archived_at = $1 WHERE id = $2")
        .bind(at).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    crate::ticketing::codes::lock_door(&mut tx).await?;
    audit(
        &mut tx,
        admin.id,
        if archived {
            "ARCHIVE_CHECKIN_LIST"
        } else {
            "RESTORE_CHECKIN_LIST"
        },
        "checkin_list",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Checked in / expected per pass on a list for the day of `now` (DAILY: entered today; ONCE:
/// entered ever; INOUT: inside now). Expected: the tickets not canceled the list admits.
pub async fn counters(
    db: &Db,
    config: &Config,
    list_id: Uuid,
    now: DateTime<Utc>,
) -> Result<ListCounters, AppError> {
    // Read only: no write transaction (SQLite's writer) for a counter every phone polls.
    let list = lists(db, config)
        .await?
        .into_iter()
        .find(|l| l.id == list_id && !l.archived)
        .ok_or_else(|| AppError::invalid("list", "checkin.error.list_unknown"))?;
    let today = day(config, now);
    let checked = match list.rule {
        Rule::Once => "EXISTS (SELECT 1 FROM checkins c WHERE c.ticket_id = t.id AND c.list_id = $1 AND c.direction = 'IN' AND $4 = $4)",
        Rule::Daily => "EXISTS (SELECT 1 FROM checkins c WHERE c.ticket_id = t.id AND c.list_id = $1 AND c.direction = 'IN' AND c.day = $4)",
        Rule::InOut => "(SELECT c.direction FROM checkins c WHERE c.ticket_id = t.id AND c.list_id = $1 AND $4 = $4 ORDER BY c.at DESC, c.id DESC LIMIT 1) = 'IN'",
    };
    let sql = format!(
        "SELECT tt.name, COALESCE(SUM(CASE WHEN {checked} THEN 1 ELSE 0 END), 0), COUNT(t.id) \
         FROM ticket_types tt JOIN tickets t ON t.ticket_type_id = tt.id AND t.status IN ('VALID', 'USED') \
         WHERE ($2 OR tt.id IN (SELECT p.ticket_type_id FROM checkin_list_passes p WHERE p.list_id = $1)) \
         AND (NOT $5 OR EXISTS (SELECT 1 FROM workshop_bookings b WHERE b.talk_id = $3 AND b.ticket_id = t.id)) \
         GROUP BY tt.id, tt.name ORDER BY tt.name"
    );
    let rows: Vec<(String, i64, i64)> = db_run!(db, pool => sqlx::query_as(&sql)
        .bind(list.id).bind(list.all_passes).bind(list.talk_id.unwrap_or_default()).bind(&today)
        .bind(list.talk_id.is_some()).fetch_all(pool).await)?;
    let rows: Vec<PassCount> = rows
        .into_iter()
        .map(|(pass, checked_in, expected)| PassCount {
            pass,
            checked_in,
            expected,
        })
        .collect();
    Ok(ListCounters {
        list_id: list.id,
        day: today,
        checked_in: rows.iter().map(|r| r.checked_in).sum(),
        expected: rows.iter().map(|r| r.expected).sum(),
        inside: (list.rule == Rule::InOut).then(|| rows.iter().map(|r| r.checked_in).sum()),
        rows,
    })
}

/// How many are inside on an in/out list now.
async fn inside(db: &Db, list: Uuid) -> Result<i64, AppError> {
    let (n,): (i64,) = db_run!(db, pool => sqlx::query_as(
        "SELECT COUNT(*) FROM (SELECT DISTINCT ticket_id FROM checkins WHERE list_id = $1) x \
         WHERE (SELECT c.direction FROM checkins c WHERE c.ticket_id = x.ticket_id AND c.list_id = $1 \
                ORDER BY c.at DESC, c.id DESC LIMIT 1) = 'IN'")
        .bind(list).fetch_one(pool).await)?;
    Ok(n)
}

/// Entries per quarter hour (conference time) on each list not archived, for a day (empty: today).
pub async fn arrivals(
    db: &Db,
    config: &Config,
    raw_day: &str,
    now: DateTime<Utc>,
) -> Result<Arrivals, AppError> {
    let raw_day = raw_day.trim();
    let day = if raw_day.is_empty() {
        day(config, now)
    } else {
        NaiveDate::parse_from_str(raw_day, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("day", "checkin.error.day"))?
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut out = vec![];
    for list in lists(db, config).await?.into_iter().filter(|l| !l.archived) {
        let times: Vec<(DateTime<Utc>,)> = db_run!(db, pool => sqlx::query_as(
            "SELECT at FROM checkins WHERE list_id = $1 AND day = $2 AND direction = 'IN' ORDER BY at")
            .bind(list.id).bind(&day).fetch_all(pool).await)?;
        let mut quarters: BTreeMap<String, i64> = BTreeMap::new();
        for (at,) in &times {
            let local = at.with_timezone(&config.timezone);
            let label = format!("{:02}:{:02}", local.hour(), local.minute() / 15 * 15);
            *quarters.entry(label).or_insert(0) += 1;
        }
        out.push(ListArrivals {
            list_id: list.id,
            name: list.name,
            rule: list.rule,
            total: i64::try_from(times.len()).unwrap_or(i64::MAX),
            quarters: quarters.into_iter().collect(),
            inside: match list.rule {
                Rule::InOut => Some(inside(db, list.id).await?),
                _ => None,
            },
        });
    }
    Ok(Arrivals { day, lists: out })
}
