//! Taking in the entries a device made offline: which ticket each names, and applying it once.
use super::*;

/// Which ticket an offline entry names: a signed code, a legacy token (even replaced: it names
/// its ticket), or an id; with the code's claims and whether the token was replaced (a reissue).
pub(crate) async fn entry_ticket(
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
pub(crate) async fn take_entry(
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
            let gate = crate::scanning::service::gate(
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
