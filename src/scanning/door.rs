//! The door's offline side, on the server: signing keys (derived from `SECRET_KEY`, never stored),
//! tickets' signed codes, and `sync`, which takes in the entries devices made offline (once per
//! nonce, conflicts recorded) and sends them the tickets changed since their cursor.
use super::{
    offline::{
        DoorConflict, DoorDelta, DoorKey, DoorList, DoorPass, DoorStatus, DoorTicket, ListMark,
        OfflineEntry, MAX_ENTRIES_PER_SYNC,
    },
    DoorDevice, DoorKeyView, DoorOverview, DoorRefusal, Outcome,
};
use crate::{
    accounts::{session::hash_token, AuthUser},
    server::audit::audit,
    checkin::{
        rules::{decide, Decision, Gate, History},
        Direction, Rule,
    },
    db_run,
    error::AppError,
    server::{
        config::Config,
        db::{Db, Tx},
    },
    ticketing::{
        codes::{key_rows, signing_key, verify_code},
        signed::{self, Claims},
        TicketStatus,
    },
    tx_run,
};
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;
use std::collections::HashMap;
use uuid::Uuid;

/// The device's label: one line, at most 80 characters, never empty.
fn clean_label(label: &str) -> String {
    let l: String = crate::text::one_line(label)
        .chars()
        .take(80)
        .collect();
    if l.is_empty() {
        "?".into()
    } else {
        l
    }
}

/// The device clock's instant, if believable (within 30 days before and 10 minutes after ours),
/// never later than ours (an entry in the future would stretch its undo window).
fn device_time(at_ms: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let t = DateTime::<Utc>::from_timestamp_millis(at_ms)?;
    (t >= now - Duration::days(30) && t <= now + Duration::minutes(10)).then_some(t.min(now))
}

/// Which ticket an offline entry names: a signed code, a legacy token (even replaced: it names
/// its ticket), or an id; with the code's claims and whether the token was replaced (a reissue).
async fn entry_ticket(
    tx: &mut Tx,
    e: &OfflineEntry,
) -> Result<(Option<Uuid>, Option<Claims>, bool), AppError> {
    Ok(match (e.code.as_deref().map(str::trim), e.ticket_id) {
        (Some(text), _) if signed::is_signed(text) => match verify_code(tx, text).await? {
            Some(c) => (Some(c.ticket_id), Some(c), false),
            None => (None, None, false),
        },
        (Some(text), _) => {
            let row: Option<(Uuid, Option<DateTime<Utc>>)> = tx_run!(tx, c => sqlx::query_as(
                "SELECT ticket_id, revoked_at FROM ticket_tokens WHERE token_hash = $1")
                .bind(hash_token(text)).fetch_optional(c).await)?;
            (row.map(|r| r.0), None, row.is_some_and(|r| r.1.is_some()))
        }
        (None, Some(id)) => (Some(id), None, false),
        (None, None) => (None, None, false),
    })
}

/// Records one offline entry (nothing if its nonce is known) and applies it by the list's rule at
/// the entry's time, as an online scan then would have: an entry or exit recorded, a double entry
/// (a conflict of that list and day), or an entry the server would have refused (shown to the
/// organiser, the ticket left alone). Nothing in it can fail the device's whole sync.
async fn take_entry(
    tx: &mut Tx,
    config: &Config,
    staff: &AuthUser,
    device_id: Uuid,
    e: &OfflineEntry,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let at = device_time(e.at_ms, now);
    // The list named (archived since, too), or the default one; a list this server never had
    // records the entry as refused, nowhere else.
    let list = crate::checkin::service::entry_list(tx, config, e.list_id).await?;
    let list_id = list.as_ref().map(|l| l.id);
    let direction = if e.answer == Outcome::Exit {
        Direction::Out
    } else {
        e.direction
    };
    let new = tx_run!(tx, c => sqlx::query(
        "INSERT INTO door_entries (nonce, device_id, staff_id, device_time, received_at, local_answer, outcome, list_id, direction) \
         VALUES ($1, $2, $3, $4, $5, $6, 'UNKNOWN', $7, $8) ON CONFLICT (nonce) DO NOTHING")
        .bind(e.nonce).bind(device_id).bind(staff.id).bind(at.unwrap_or(now)).bind(now).bind(e.answer.as_str())
        .bind(list_id).bind(direction.as_str())
        .execute(c).await.map(|r| r.rows_affected()))?;
    if new == 0 {
        return Ok(());
    }
    let at = at.unwrap_or(now);
    let code = e.code.as_deref().map(str::trim);
    let (ticket, claims, replaced_token) = entry_ticket(tx, e).await?;
    if let Some(id) = ticket {
        tx_run!(tx, c => sqlx::query("UPDATE tickets SET issue_no = issue_no WHERE id = $1")
            .bind(id).execute(c).await.map(|_| ()))?;
    }
    #[derive(sqlx::FromRow)]
    struct Facts {
        #[sqlx(try_from = "String")]
        status: TicketStatus,
        order_status: String,
        pass_id: Uuid,
        issue_no: i64,
        issued_at: DateTime<Utc>,
        valid_from: Option<DateTime<Utc>>,
        valid_until: Option<DateTime<Utc>>,
    }
    let facts: Option<Facts> = match ticket {
        None => None,
        Some(id) => tx_run!(tx, c => sqlx::query_as(
            "SELECT t.status, o.status AS order_status, t.ticket_type_id AS pass_id, t.issue_no, t.issued_at, tt.valid_from, tt.valid_until \
             FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id JOIN orders o ON o.id = t.order_id WHERE t.id = $1")
            .bind(id).fetch_optional(c).await)?,
    };
    let ticket = ticket.filter(|_| facts.is_some());
    // Never before the ticket existed.
    let at = facts.as_ref().map_or(at, |f| at.max(f.issued_at));
    let replaced = replaced_token
        || claims
            .zip(facts.as_ref())
            .is_some_and(|(c, f)| i64::from(c.issue) < f.issue_no);
    let let_through = matches!(e.answer, Outcome::Ok | Outcome::Exit);
    // This nonce recorded already: the same attempt got through online before its answer was
    // lost, or another attempt's id. Never a second row under one id.
    let earlier: Option<(Uuid, Uuid)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT ticket_id, list_id FROM checkins WHERE id = $1").bind(e.nonce).fetch_optional(c).await)?;
    let outcome = match (&facts, ticket, &list) {
        (Some(_), Some(id), Some(l)) if let_through && earlier.is_some() => {
            if earlier == Some((id, l.id)) {
                "LET_IN"
            } else {
                "REFUSED"
            }
        }
        // An exit on a list without exits (changed since the phone's sync): nothing recorded.
        (Some(_), Some(_), Some(l)) if direction == Direction::Out && l.rule != Rule::InOut => {
            "REFUSED"
        }
        (Some(f), Some(id), Some(list)) if let_through => {
            let gate = super::service::gate(
                tx,
                config,
                list,
                id,
                f.pass_id,
                f.status,
                f.order_status == "REFUNDED",
                replaced,
                (f.valid_from, f.valid_until),
                at,
            )
            .await?;
            let today = crate::checkin::service::day(config, at);
            let rows = crate::checkin::service::ticket_checkins(tx, id, list.id, &today).await?;
            let marks: Vec<_> = rows.iter().map(|r| r.mark()).collect();
            match decide(list.rule, direction, gate, &History::of(&marks, &today)) {
                d @ (Decision::LetIn | Decision::LetOut) => {
                    let entry = crate::checkin::service::NewCheckin {
                        id: e.nonce,
                        list: list.id,
                        ticket: id,
                        at,
                        direction: if d == Decision::LetIn {
                            Direction::In
                        } else {
                            Direction::Out
                        },
                        staff: staff.id,
                        device: Some(device_id),
                        offline: true,
                    };
                    crate::checkin::service::record(tx, config, &entry).await?;
                    if d == Decision::LetIn {
                        "LET_IN"
                    } else {
                        "LET_OUT"
                    }
                }
                Decision::Already(m) => {
                    // The entry that counted first: the one the mark stands for.
                    let first = rows.iter().find(|r| {
                        r.direction == Direction::In
                            && r.at.timestamp_millis() == m.at_ms
                            && r.day == m.day
                    });
                    tx_run!(tx, c => sqlx::query(
                        "INSERT INTO door_conflicts (id, ticket_id, first_scan_id, first_device_id, first_staff_id, first_at, second_nonce, detected_at, list_id, day) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                        .bind(Uuid::new_v4()).bind(id).bind(first.map(|r| r.id)).bind(first.and_then(|r| r.device_id))
                        .bind(first.and_then(|r| r.staff_id)).bind(first.map(|r| r.at)).bind(e.nonce).bind(now)
                        .bind(list.id).bind(&today)
                        .execute(c).await.map(|_| ()))?;
                    "CONFLICT"
                }
                // Let in by a device that did not know: shown to the organiser, the ticket unchanged.
                Decision::Refuse(Gate::Canceled) if replaced => "REVOKED",
                Decision::Refuse(Gate::Canceled | Gate::Refunded) => "CANCELED",
                Decision::Refuse(Gate::NotOnList) => "NOT_ON_LIST",
                Decision::Refuse(Gate::NotValidNow) => "NOT_VALID",
                Decision::Refuse(Gate::Unknown | Gate::Open) => "UNKNOWN",
            }
        }
        (Some(_), Some(_), _) => "REFUSED",
        _ => "UNKNOWN",
    };
    tx_run!(tx, c => sqlx::query(
        "UPDATE door_entries SET outcome = $1, ticket_id = $2, key_id = $3, issue_no = $4, device_time = $5 WHERE nonce = $6")
        .bind(outcome).bind(ticket).bind(claims.map(|c| i64::from(c.key_id))).bind(claims.map(|c| i64::from(c.issue)))
        .bind(at).bind(e.nonce).execute(c).await.map(|_| ()))?;
    audit(
        tx,
        staff.id,
        "SCAN_TICKET",
        "ticket",
        &ticket.map_or_else(|| "unknown".to_string(), |id| id.to_string()),
        serde_json::json!({
            "outcome": e.answer.as_str(),
            "scan_id": e.nonce,
            "offline": true,
            "device": device_id,
            "device_time": at,
            "recorded": outcome,
            "list": list_id,
            "direction": direction.as_str(),
            "manual": code.is_none(),
        }),
    )
    .await?;
    crate::server::metrics::door_answer(outcome, "offline");
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: Uuid,
    door_no: Option<i64>,
    issue_no: i64,
    status: String,
    order_status: String,
    used_at: Option<DateTime<Utc>>,
    used_by: Option<String>,
    holder: String,
    token_hash: Option<String>,
}

/// What a device sends: who it is, what it has, what it did offline.
pub struct SyncRequest<'a> {
    pub device_id: Uuid,
    pub label: &'a str,
    pub cursor: i64,
    pub entries: &'a [OfflineEntry],
}

#[derive(sqlx::FromRow)]
struct PassRow {
    door_no: Option<i64>,
    name: String,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
}

/// Takes a device's entries and answers with what changed since its cursor.
pub async fn sync(
    db: &Db,
    config: &Config,
    staff: &AuthUser,
    req: SyncRequest<'_>,
    now: DateTime<Utc>,
) -> Result<DoorDelta, AppError> {
    let SyncRequest {
        device_id,
        label,
        cursor,
        entries,
    } = req;
    if entries.len() > MAX_ENTRIES_PER_SYNC {
        return Err(AppError::invalid("entries", "door.error.too_many_entries"));
    }
    if entries
        .iter()
        .any(|e| e.code.as_ref().is_some_and(|c| c.len() > 512))
    {
        return Err(AppError::invalid("entries", "scan.error.token_empty"));
    }
    // The first sync of a fresh database makes its key, outside the sync's transaction.
    signing_key(db, config).await?;
    let label = clean_label(label);
    let mut tx = db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO door_devices (id, label, user_id, first_seen_at, last_sync_at, last_cursor) VALUES ($1, $2, $3, $4, $4, 0) \
         ON CONFLICT (id) DO UPDATE SET label = excluded.label, user_id = excluded.user_id, last_sync_at = excluded.last_sync_at")
        .bind(device_id).bind(&label).bind(staff.id).bind(now).execute(c).await.map(|_| ()))?;
    // The entries' tickets are held first, in one order for every writer (an online scan holds
    // one ticket, then the door's counter): two syncs, or a sync and a scan, never wait on each
    // other in a circle (PostgreSQL).
    let mut held = Vec::with_capacity(entries.len());
    for e in entries {
        if let (Some(id), _, _) = entry_ticket(&mut tx, e).await? {
            held.push(id);
        }
    }
    held.sort();
    held.dedup();
    for id in held {
        tx_run!(&mut tx, c => sqlx::query("UPDATE tickets SET issue_no = issue_no WHERE id = $1")
            .bind(id).execute(c).await.map(|_| ()))?;
    }
    for e in entries {
        take_entry(&mut tx, config, staff, device_id, e, now).await?;
    }
    let (counter,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT n FROM door_counter WHERE id = 1")
        .fetch_one(c).await)?;
    let full = cursor <= 0 || cursor > counter;
    let rows: Vec<TicketRow> = tx_run!(&mut tx, c => sqlx::query_as(concat!(
        "SELECT t.id, tt.door_no, t.issue_no, t.status, o.status AS order_status, t.used_at, ",
        "CASE WHEN t.used_by_user_id IS NULL THEN NULL ELSE ", crate::person_name_sql!(sp, s), " END AS used_by, ",
        crate::ticket_holder_sql!(up, u), " AS holder, \
         (SELECT k.token_hash FROM ticket_tokens k WHERE k.ticket_id = t.id AND k.revoked_at IS NULL ORDER BY k.created_at DESC LIMIT 1) AS token_hash \
         FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id JOIN orders o ON o.id = t.order_id \
         JOIN users u ON u.id = t.user_id LEFT JOIN profiles up ON up.user_id = u.id \
         LEFT JOIN users s ON s.id = t.used_by_user_id LEFT JOIN profiles sp ON sp.user_id = s.id \
         WHERE $1 OR t.door_seq > $2 ORDER BY t.door_seq"))
        .bind(full).bind(cursor).fetch_all(c).await)?;
    // The entries that matter of the tickets sent, per list: first entry, last entry, last mark.
    let sql = format!(
        "{} JOIN tickets t ON t.id = c.ticket_id WHERE $1 OR t.door_seq > $2 ORDER BY c.at, c.id",
        crate::checkin::service::CHECKIN_SELECT
    );
    let checkins: Vec<crate::checkin::service::CheckinRow> = tx_run!(&mut tx, c => sqlx::query_as(&sql)
        .bind(full).bind(cursor).fetch_all(c).await)?;
    let mut marks: HashMap<Uuid, Vec<ListMark>> = HashMap::new();
    let mut kept: HashMap<(Uuid, Uuid), [Option<&crate::checkin::service::CheckinRow>; 3]> =
        HashMap::new();
    for r in &checkins {
        let k = kept.entry((r.ticket_id, r.list_id)).or_default();
        if r.direction == Direction::In {
            k[0] = k[0].or(Some(r));
            k[1] = Some(r);
        }
        k[2] = Some(r);
    }
    for ((ticket, list), k) in kept {
        let mut ids = vec![];
        for r in k.into_iter().flatten() {
            if !ids.contains(&r.id) {
                ids.push(r.id);
                marks.entry(ticket).or_default().push(ListMark {
                    list,
                    mark: r.mark(),
                });
            }
        }
    }
    let tickets = rows
        .into_iter()
        .filter_map(|r| {
            Some(DoorTicket {
                id: r.id,
                pass_no: u16::try_from(r.door_no?).ok()?,
                issue: u16::try_from(r.issue_no).ok()?,
                status: match (r.status.as_str(), r.order_status.as_str()) {
                    ("USED", _) => DoorStatus::Used,
                    ("CANCELED", "REFUNDED") => DoorStatus::Refunded,
                    ("CANCELED", _) => DoorStatus::Canceled,
                    _ => DoorStatus::Valid,
                },
                used_at_ms: r.used_at.map(|t| t.timestamp_millis()),
                used_by: r.used_by,
                holder: config.door_offline_names.then_some(r.holder),
                legacy_hash: r.token_hash,
                marks: marks.remove(&r.id).unwrap_or_default(),
            })
        })
        .collect();
    let keys: Vec<(i64, Vec<u8>, Option<DateTime<Utc>>)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT id, public_key, revoked_at FROM door_keys ORDER BY id").fetch_all(c).await)?;
    let passes: Vec<PassRow> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT door_no, name, valid_from, valid_until FROM ticket_types ORDER BY door_no").fetch_all(c).await)?;
    let conflicts = conflicts_where(&mut tx, config, Some(device_id), 50).await?;
    let lists = door_lists(&mut tx, config).await?;
    tx_run!(&mut tx, c => sqlx::query("UPDATE door_devices SET last_cursor = $1 WHERE id = $2")
        .bind(counter).bind(device_id).execute(c).await.map(|_| ()))?;
    tx.commit().await?;
    Ok(DoorDelta {
        cursor: counter,
        full,
        server_time_ms: now.timestamp_millis(),
        grace_minutes: config.scan_grace_minutes,
        keys: keys
            .into_iter()
            .filter_map(|(id, pk, revoked)| {
                Some(DoorKey {
                    id: u8::try_from(id).ok()?,
                    public_key: data_encoding::HEXLOWER.encode(&pk),
                    revoked: revoked.is_some(),
                })
            })
            .collect(),
        passes: passes
            .into_iter()
            .filter_map(|p| {
                Some(DoorPass {
                    no: u16::try_from(p.door_no?).ok()?,
                    name: p.name,
                    valid_from: p.valid_from.map(|t| t.timestamp().div_euclid(60)),
                    valid_until: p.valid_until.map(|t| t.timestamp().div_euclid(60)),
                })
            })
            .collect(),
        tickets,
        received: entries.iter().map(|e| e.nonce).collect(),
        conflicts,
        lists,
        utc_offset_minutes: crate::checkin::service::offset_minutes(config, now),
    })
}

/// The lists not archived as the phones keep them (passes by door number, a workshop's seats).
async fn door_lists(tx: &mut Tx, config: &Config) -> Result<Vec<DoorList>, AppError> {
    let sql = "SELECT l.id FROM checkin_lists l WHERE l.archived_at IS NULL ORDER BY l.created_at";
    let ids: Vec<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(sql).fetch_all(c).await)?;
    let mut out = vec![];
    for (id,) in ids {
        let list = crate::checkin::service::door_list(tx, config, Some(id)).await?;
        let numbers: Vec<(Option<i64>,)> = tx_run!(tx, c => sqlx::query_as(
            "SELECT tt.door_no FROM checkin_list_passes p JOIN ticket_types tt ON tt.id = p.ticket_type_id WHERE p.list_id = $1")
            .bind(id).fetch_all(c).await)?;
        let booked = match list.talk_id {
            None => None,
            Some(talk) => {
                let rows: Vec<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
                    "SELECT ticket_id FROM workshop_bookings WHERE talk_id = $1").bind(talk).fetch_all(c).await)?;
                Some(rows.into_iter().map(|r| r.0).collect())
            }
        };
        out.push(DoorList {
            id,
            name: list.name,
            rule: list.rule,
            all_passes: list.all_passes,
            passes: numbers
                .into_iter()
                .filter_map(|(n,)| u16::try_from(n?).ok())
                .collect(),
            opens_ms: list.opens_at.map(|t| t.timestamp_millis()),
            closes_ms: list.closes_at.map(|t| t.timestamp_millis()),
            booked,
        });
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct ConflictRow {
    ticket_id: Uuid,
    pass: String,
    first_at: Option<DateTime<Utc>>,
    first_by: Option<String>,
    first_device: Option<String>,
    second_at: DateTime<Utc>,
    second_by: String,
    second_device: String,
    list: Option<String>,
    day: Option<String>,
}

/// Double entries, newest first: those of one device, or all.
async fn conflicts_where(
    tx: &mut Tx,
    config: &Config,
    device: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DoorConflict>, sqlx::Error> {
    let rows: Vec<ConflictRow> = tx_run!(tx, c => sqlx::query_as(concat!(
        "SELECT dc.ticket_id, tt.name AS pass, dc.first_at, ",
        "CASE WHEN dc.first_staff_id IS NULL THEN NULL ELSE ", crate::person_name_sql!(fp, f), " END AS first_by, ",
        "fd.label AS first_device, de.device_time AS second_at, ", crate::person_name_sql!(sp, s), " AS second_by, \
         sd.label AS second_device, cl.name AS list, dc.day \
         FROM door_conflicts dc LEFT JOIN checkin_lists cl ON cl.id = dc.list_id JOIN tickets t ON t.id = dc.ticket_id JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         JOIN door_entries de ON de.nonce = dc.second_nonce JOIN door_devices sd ON sd.id = de.device_id \
         JOIN users s ON s.id = de.staff_id LEFT JOIN profiles sp ON sp.user_id = s.id \
         LEFT JOIN users f ON f.id = dc.first_staff_id LEFT JOIN profiles fp ON fp.user_id = f.id \
         LEFT JOIN door_devices fd ON fd.id = dc.first_device_id \
         WHERE $1 IS NULL OR de.device_id = $1 OR dc.first_device_id = $1 \
         ORDER BY dc.detected_at DESC, dc.id LIMIT $2"))
        .bind(device).bind(limit).fetch_all(c).await)?;
    Ok(rows
        .into_iter()
        .map(|r| DoorConflict {
            ticket_id: r.ticket_id,
            pass: r.pass,
            first_at_ms: r.first_at.map(|t| t.timestamp_millis()),
            first_at_local: r.first_at.map(|t| config.short_local(t)),
            first_by: r.first_by.map(|b| match r.first_device {
                Some(d) => format!("{b} · {d}"),
                None => b,
            }),
            second_at_ms: r.second_at.timestamp_millis(),
            second_at_local: config.short_local(r.second_at),
            second_by: format!("{} · {}", r.second_by, r.second_device),
            list: r.list,
            day: r.day,
        })
        .collect())
}

/// The back office's view of the door: conflicts, devices, keys.
pub async fn overview(db: &Db, config: &Config) -> Result<DoorOverview, AppError> {
    let signer_id = signing_key(db, config).await?.0;
    let mut tx = db.begin().await?;
    let conflicts = conflicts_where(&mut tx, config, None, 500).await?;
    #[derive(sqlx::FromRow)]
    struct RefusedRow {
        ticket_id: Uuid,
        pass: String,
        device_time: DateTime<Utc>,
        staff: String,
        device: String,
        outcome: String,
    }
    let refused: Vec<RefusedRow> = tx_run!(&mut tx, c => sqlx::query_as(concat!(
        "SELECT e.ticket_id, tt.name AS pass, e.device_time, ", crate::person_name_sql!(p, u), " AS staff, d.label AS device, e.outcome \
         FROM door_entries e JOIN tickets t ON t.id = e.ticket_id JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         JOIN door_devices d ON d.id = e.device_id JOIN users u ON u.id = e.staff_id LEFT JOIN profiles p ON p.user_id = u.id \
         WHERE e.local_answer IN ('OK', 'EXIT') AND e.outcome IN ('REVOKED', 'CANCELED', 'NOT_VALID', 'NOT_ON_LIST') \
         ORDER BY e.received_at DESC, e.nonce LIMIT 500"))
        .fetch_all(c).await)?;
    #[derive(sqlx::FromRow)]
    struct DeviceRow {
        id: Uuid,
        label: String,
        staff: Option<String>,
        first_seen_at: DateTime<Utc>,
        last_sync_at: DateTime<Utc>,
        entries: i64,
        conflicts: i64,
    }
    let devices: Vec<DeviceRow> = tx_run!(&mut tx, c => sqlx::query_as(concat!(
        "SELECT d.id, d.label, CASE WHEN d.user_id IS NULL THEN NULL ELSE ", crate::person_name_sql!(p, u), " END AS staff, \
         d.first_seen_at, d.last_sync_at, \
         (SELECT COUNT(*) FROM door_entries e WHERE e.device_id = d.id) AS entries, \
         (SELECT COUNT(*) FROM door_conflicts dc JOIN door_entries e ON e.nonce = dc.second_nonce \
            WHERE e.device_id = d.id OR dc.first_device_id = d.id) AS conflicts \
         FROM door_devices d LEFT JOIN users u ON u.id = d.user_id LEFT JOIN profiles p ON p.user_id = u.id \
         ORDER BY d.last_sync_at DESC LIMIT 200"))
        .fetch_all(c).await)?;
    tx.commit().await?;
    let keys = key_rows(db).await?;
    Ok(DoorOverview {
        conflicts,
        refused: refused
            .into_iter()
            .map(|r| DoorRefusal {
                ticket_id: r.ticket_id,
                pass: r.pass,
                at_local: config.short_local(r.device_time),
                by: format!("{} · {}", r.staff, r.device),
                outcome: r.outcome,
            })
            .collect(),
        devices: devices
            .into_iter()
            .map(|d| DoorDevice {
                id: d.id,
                label: d.label,
                staff: d.staff,
                first_seen: config.short_local(d.first_seen_at),
                last_sync: config.short_local(d.last_sync_at),
                entries: d.entries,
                conflicts: d.conflicts,
            })
            .collect(),
        keys: keys
            .into_iter()
            .map(|k| DoorKeyView {
                id: k.id,
                fingerprint: data_encoding::HEXLOWER
                    .encode(&k.public_key)
                    .chars()
                    .take(16)
                    .collect(),
                created: config.short_local(k.created_at),
                revoked: k.revoked_at.map(|t| config.short_local(t)),
                signing: k.id == i64::from(signer_id),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_clocks_far_off_are_not_believed() {
        let now = Utc::now();
        let ms = now.timestamp_millis();
        assert_eq!(device_time(ms, now), Some(now.with_nanosecond_ms()));
        assert_eq!(
            device_time(ms + 5 * 60_000, now),
            Some(now),
            "never later than now"
        );
        assert_eq!(device_time(ms + 11 * 60_000, now), None);
        assert_eq!(device_time(ms - 31 * 86_400_000, now), None);
        assert_eq!(device_time(i64::MAX, now), None);
        assert_eq!(device_time(i64::MIN, now), None);
    }

    trait Ms {
        fn with_nanosecond_ms(self) -> Self;
    }
    impl Ms for DateTime<Utc> {
        fn with_nanosecond_ms(self) -> Self {
            DateTime::<Utc>::from_timestamp_millis(self.timestamp_millis()).unwrap_or(self)
        }
    }

    #[test]
    fn labels_are_one_clean_line() {
        assert_eq!(clean_label("  Porte A\n\u{202e}x "), "Porte A x");
        assert_eq!(clean_label("\u{200b}"), "?");
        assert_eq!(clean_label(&"a".repeat(200)).len(), 80);
    }
}
