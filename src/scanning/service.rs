//! Redeeming tickets at the door, on a check-in list: the ticket's row is held, the list's rule
//! decides (`checkin::rules`), an entry (or exit) is recorded, and every attempt, let in or not, is
//! audited in the same transaction.
use super::{signed::Claims, HolderTicket, Outcome, PassCount, ScanAnswer};
use crate::server::prelude::*;
use crate::{
    accounts::{session::hash_token, AuthUser, Role},
    checkin::{
        self,
        rules::{decide, Decision, Gate, History},
        CheckinList, Direction,
    },
    ticketing::{service::valid_days, OrderStatus, TicketStatus},
};
use chrono::Duration;

/// What the door presents: a QR code's token, or a ticket found by name.
#[derive(Clone, Copy, Debug)]
pub enum Key<'a> {
    Token(&'a str),
    Ticket(Uuid),
}

#[derive(sqlx::FromRow)]
struct TicketFacts {
    #[sqlx(try_from = "String")]
    status: TicketStatus,
    holder: String,
    pass_id: Uuid,
    pass: String,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    order_status: OrderStatus,
    issue_no: i64,
}

/// Where a scan happens: the list (`None`: the default one) and, on an in/out list, the direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct At {
    pub list: Option<Uuid>,
    pub direction: Direction,
}

/// The ticket a key names, if any: a signed code's (`claims`), a live token's, or the id typed.
async fn ticket_of(
    tx: &mut Tx,
    key: Key<'_>,
    claims: Option<Option<Claims>>,
    at: DateTime<Utc>,
) -> Result<Option<Uuid>, sqlx::Error> {
    Ok(match (key, claims) {
        (_, Some(c)) => c.map(|c| c.ticket_id),
        (Key::Ticket(id), None) => Some(id),
        (Key::Token(token), None) => {
            let live: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
                "SELECT ticket_id FROM ticket_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)")
                .bind(hash_token(token.trim())).bind(at).fetch_optional(c).await)?;
            live.map(|r| r.0)
        }
    })
}

/// Where a ticket stands before the list's rule: known, not replaced or canceled, on the list,
/// within its pass's days (opening `grace` minutes early) and the list's hours.
#[allow(clippy::too_many_arguments)]
pub async fn gate(
    tx: &mut Tx,
    config: &Config,
    list: &CheckinList,
    ticket: Uuid,
    pass: Uuid,
    status: TicketStatus,
    refunded: bool,
    replaced: bool,
    window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    at: DateTime<Utc>,
) -> Result<Gate, sqlx::Error> {
    let opens = window
        .0
        .map(|v| v - Duration::minutes(config.scan_grace_minutes));
    Ok(if replaced {
        Gate::Canceled
    } else if status == TicketStatus::Canceled && refunded {
        Gate::Refunded
    } else if status == TicketStatus::Canceled {
        Gate::Canceled
    } else if !checkin::service::admits(tx, list, pass, ticket).await? {
        Gate::NotOnList
    } else if opens.is_some_and(|o| at < o)
        || window.1.is_some_and(|u| at >= u)
        || !checkin::service::list_open(list, at)
    {
        Gate::NotValidNow
    } else {
        Gate::Open
    })
}

/// Lets a ticket in on the default list, or says why not (see `redeem_at`).
pub async fn redeem(
    db: &Db,
    config: &Config,
    staff: &AuthUser,
    key: Key<'_>,
    scan_id: Uuid,
    at: DateTime<Utc>,
) -> Result<ScanAnswer, AppError> {
    redeem_at(db, config, staff, At::default(), key, scan_id, at).await
}

/// Lets a ticket in (or out) on a list, or says why not. `at` is now (a parameter so days and the
/// window's edges can be tested). The ticket's row is written first, so two scans of one ticket
/// run one after the other on PostgreSQL too; the list's rule (`checkin::rules`) decides.
pub async fn redeem_at(
    db: &Db,
    config: &Config,
    staff: &AuthUser,
    door: At,
    key: Key<'_>,
    scan_id: Uuid,
    at: DateTime<Utc>,
) -> Result<ScanAnswer, AppError> {
    let mut tx = db.begin().await?;
    let list = checkin::service::door_list(&mut tx, config, door.list).await?;
    // A signed code: `Some(None)` when its signature does not hold under a key not revoked.
    let claims = match key {
        Key::Token(token) if super::signed::is_signed(token.trim()) => {
            Some(crate::ticketing::codes::verify_code(&mut tx, token.trim()).await?)
        }
        _ => None,
    };
    let ticket_id = ticket_of(&mut tx, key, claims, at).await?;
    if let Some(id) = ticket_id {
        // Holds the ticket's row to the end (PostgreSQL): its scans queue here.
        tx_run!(&mut tx, c => sqlx::query("UPDATE tickets SET issue_no = issue_no WHERE id = $1")
            .bind(id).execute(c).await.map(|_| ()))?;
    }
    let facts: Option<TicketFacts> = match ticket_id {
        None => None,
        Some(id) => tx_run!(&mut tx, c => sqlx::query_as(concat!(
            "SELECT t.status, ",
            crate::ticket_holder_sql!(up, u), " AS holder, \
             tt.id AS pass_id, tt.name AS pass, tt.valid_from, tt.valid_until, o.status AS order_status, t.issue_no \
             FROM tickets t JOIN users u ON u.id = t.user_id LEFT JOIN profiles up ON up.user_id = u.id \
             JOIN ticket_types tt ON tt.id = t.ticket_type_id JOIN orders o ON o.id = t.order_id WHERE t.id = $1"))
            .bind(id).fetch_optional(c).await)?,
    };
    let today = checkin::service::day(config, at);
    let mut answer = ScanAnswer {
        scan_id,
        outcome: Outcome::Unknown,
        ticket_id: facts.as_ref().and(ticket_id),
        holder: None,
        pass: None,
        used_at: None,
        used_at_local: None,
        used_by: None,
        valid_days: None,
        undo_until: None,
        repeated: false,
        offline: false,
        list: Some(list.name.clone()),
        day: Some(today.clone()),
    };
    let mut recorded: Option<Direction> = None;
    // Written last, just before the commit: the ticket's update takes the door's change counter,
    // which every writer waits for (PostgreSQL), so it is held for the commit alone.
    let mut to_record: Option<checkin::service::NewCheckin> = None;
    if let (Some(f), Some(ticket)) = (facts, ticket_id) {
        answer.holder = Some(f.holder);
        answer.pass = Some(f.pass);
        let replaced = claims
            .flatten()
            .is_some_and(|c| i64::from(c.issue) < f.issue_no);
        let gate = gate(
            &mut tx,
            config,
            &list,
            ticket,
            f.pass_id,
            f.status,
            f.order_status == OrderStatus::Refunded,
            replaced,
            (f.valid_from, f.valid_until),
            at,
        )
        .await?;
        let rows = checkin::service::ticket_checkins(&mut tx, ticket, list.id, &today).await?;
        // This very attempt was recorded already (its answer was lost on the way): the same answer.
        let earlier: Option<(Uuid, Option<Uuid>, String, Uuid)> = tx_run!(&mut tx, c => sqlx::query_as(
            "SELECT ticket_id, staff_id, direction, list_id FROM checkins WHERE id = $1")
            .bind(scan_id).fetch_optional(c).await)?;
        let decision = match earlier {
            Some((t, s, d, l)) if t == ticket && s == Some(staff.id) && l == list.id => {
                answer.repeated = true;
                if d == "OUT" {
                    Decision::LetOut
                } else {
                    Decision::LetIn
                }
            }
            taken => {
                let marks: Vec<_> = rows.iter().map(|r| r.mark()).collect();
                match decide(
                    list.rule,
                    door.direction,
                    gate,
                    &History::of(&marks, &today),
                ) {
                    // Another attempt's id (another steward's, or another ticket's) records nothing.
                    Decision::LetIn | Decision::LetOut if taken.is_some() => {
                        return Err(AppError::invalid("scan_id", "scan.error.scan_id_reused"))
                    }
                    d => d,
                }
            }
        };
        answer.outcome = match decision {
            Decision::LetIn | Decision::LetOut => {
                let direction = if decision == Decision::LetIn {
                    Direction::In
                } else {
                    Direction::Out
                };
                if !answer.repeated {
                    let entry = checkin::service::NewCheckin {
                        id: scan_id,
                        list: list.id,
                        ticket,
                        at,
                        direction,
                        staff: staff.id,
                        device: None,
                        offline: false,
                    };
                    to_record = Some(entry);
                    recorded = Some(direction);
                }
                if direction == Direction::In {
                    Outcome::Ok
                } else {
                    Outcome::Exit
                }
            }
            Decision::Already(mark) => {
                let used_at = DateTime::<Utc>::from_timestamp_millis(mark.at_ms);
                answer.used_at = used_at;
                answer.used_at_local = used_at.map(|u| config.short_local(u));
                answer.used_by = mark.by;
                Outcome::AlreadyUsed
            }
            Decision::Refuse(Gate::Canceled) => Outcome::Canceled,
            Decision::Refuse(Gate::Refunded) => Outcome::Refunded,
            Decision::Refuse(Gate::NotOnList) => Outcome::NotOnList,
            Decision::Refuse(Gate::NotValidNow) => {
                answer.valid_days = valid_days(config, f.valid_from, f.valid_until);
                Outcome::NotValidToday
            }
            Decision::Refuse(Gate::Unknown | Gate::Open) => Outcome::Unknown,
        };
        if answer.outcome == Outcome::Ok {
            answer.undo_until = match staff.role {
                Role::Admin => None,
                _ => Some(at + Duration::seconds(config.scan_undo_seconds)),
            };
        }
    }
    audit(
        &mut tx,
        staff.id,
        "SCAN_TICKET",
        "ticket",
        &answer
            .ticket_id
            .map_or_else(|| "unknown".to_string(), |id| id.to_string()),
        serde_json::json!({
            "outcome": answer.outcome.as_str(),
            "scan_id": scan_id,
            "list": list.id,
            "direction": recorded.map(Direction::as_str),
            "manual": matches!(key, Key::Ticket(_)),
            "signed": claims.is_some(),
            "repeated": answer.repeated,
        }),
    )
    .await?;
    if let Some(entry) = to_record {
        checkin::service::record(&mut tx, config, &entry).await?;
    }
    tx.commit().await?;
    crate::server::metrics::door_answer(answer.outcome.as_str(), "online");
    Ok(answer)
}

/// Undoes a ticket's last entry (on `list`, else on any list): the staff member who let it in,
/// within `SCAN_UNDO_SECONDS`; an admin, any time. The ticket's first-entry fields then follow its
/// first entry left (VALID again when none is left). Audited as `UNDO_SCAN`.
pub async fn undo(
    db: &Db,
    config: &Config,
    actor: &AuthUser,
    ticket_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    undo_on(db, config, actor, ticket_id, None, at).await
}

pub async fn undo_on(
    db: &Db,
    config: &Config,
    actor: &AuthUser,
    ticket_id: Uuid,
    list: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    // Holds the ticket's row, as a scan does: an entry and an undo of one ticket queue.
    let exists = tx_run!(&mut tx, c => sqlx::query("UPDATE tickets SET issue_no = issue_no WHERE id = $1")
        .bind(ticket_id).execute(c).await.map(|r| r.rows_affected()))?;
    if exists == 0 {
        return Err(AppError::NotFound);
    }
    let last: Option<(Uuid, Uuid, DateTime<Utc>, Option<Uuid>)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT id, list_id, at, staff_id FROM checkins WHERE ticket_id = $1 AND direction = 'IN' AND ($2 OR list_id = $3) \
         ORDER BY at DESC, id DESC LIMIT 1")
        .bind(ticket_id).bind(list.is_none()).bind(list.unwrap_or_default()).fetch_optional(c).await)?;
    let Some((entry, list_id, used_at, used_by)) = last else {
        return Err(AppError::invalid("ticket", "scan.error.not_used"));
    };
    if actor.role != Role::Admin {
        let mine = used_by == Some(actor.id);
        let in_time = at - used_at <= Duration::seconds(config.scan_undo_seconds);
        if !mine {
            return Err(AppError::Forbidden);
        }
        if !in_time {
            return Err(AppError::invalid("ticket", "scan.error.undo_too_late"));
        }
    }
    checkin::service::remove_entry(&mut tx, entry, ticket_id, list_id, used_at, at).await?;
    Audit::new(actor.id, "UNDO_SCAN", "ticket", ticket_id).meta(serde_json::json!({ "used_at": used_at, "used_by": used_by, "list": list_id, "entry": entry })).write(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Checked in / expected per pass type, in one grouped query.
pub async fn counters(db: &Db) -> Result<Vec<PassCount>, AppError> {
    let rows: Vec<(String, i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT tt.name, COALESCE(SUM(CASE WHEN t.status = 'USED' THEN 1 ELSE 0 END), 0), COUNT(t.id) \
         FROM ticket_types tt LEFT JOIN tickets t ON t.ticket_type_id = tt.id AND t.status IN ('VALID', 'USED') \
         GROUP BY tt.id, tt.name ORDER BY tt.name")
        .fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(pass, checked_in, expected)| PassCount {
            pass,
            checked_in,
            expected,
        })
        .collect())
}

/// Tickets whose holder or buyer matches `query` (name or email, at least 2 characters), audited.
pub async fn search(
    db: &Db,
    config: &Config,
    staff: &AuthUser,
    query: &str,
) -> Result<Vec<HolderTicket>, AppError> {
    let query = query.trim();
    if query.chars().count() < 2 {
        return Err(AppError::invalid("query", "scan.error.query_short"));
    }
    let pattern = crate::server::db::like_pattern(query);
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        holder: String,
        email: String,
        pass: String,
        #[sqlx(try_from = "String")]
        status: TicketStatus,
        used_at: Option<DateTime<Utc>>,
    }
    let mut tx = db.begin().await?;
    let rows: Vec<Row> = tx_run!(&mut tx, c => sqlx::query_as(
        concat!("SELECT t.id, ", crate::ticket_holder_sql!(), " AS holder, COALESCE(t.holder_email, u.email) AS email, \
         tt.name AS pass, t.status, t.used_at \
         FROM tickets t JOIN users u ON u.id = t.user_id LEFT JOIN profiles p ON p.user_id = u.id JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE u.deleted_at IS NULL AND (LOWER(COALESCE(t.holder_name, '')) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(t.holder_email, '')) LIKE $1 ESCAPE '\\' \
            OR LOWER(u.email) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(p.first_name, '') || ' ' || COALESCE(p.last_name, '')) LIKE $1 ESCAPE '\\') \
         ORDER BY COALESCE(t.holder_name, p.last_name, u.email), t.id LIMIT 25"))
        .bind(&pattern).fetch_all(c).await)?;
    Audit::new(staff.id, "SCAN_SEARCH", "ticket", "search")
        .meta(serde_json::json!({ "query": query, "found": rows.len() }))
        .commit(tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| HolderTicket {
            ticket_id: r.id,
            holder: r.holder,
            email: r.email,
            pass: r.pass,
            status: r.status,
            used_at_local: r.used_at.map(|u| config.short_local(u)),
        })
        .collect())
}
