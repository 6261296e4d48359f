//! The back office's view of the door: double entries, refused entries, devices, keys.
use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct ConflictRow {
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
pub(crate) async fn conflicts_where(
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
