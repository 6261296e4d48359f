//! The sync itself: a device's entries in, the tickets, keys, passes and lists changed out.
use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
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
pub(crate) struct PassRow {
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
pub(crate) async fn door_lists(tx: &mut Tx, config: &Config) -> Result<Vec<DoorList>, AppError> {
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
