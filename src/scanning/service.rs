//! Redeeming tickets at the door. One atomic statement lets a ticket in (`VALID → USED`, only if its
//! token is live and now is within the pass's validity window); when it does not, a read in the same
//! transaction says why. Every attempt, let in or not, is audited in that transaction.
use super::{HolderTicket, Outcome, PassCount, ScanAnswer};
use crate::{
    accounts::{session::hash_token, AuthUser, Role},
    admin::service::audit,
    db_run,
    error::AppError,
    server::{config::Config, db::Db},
    ticketing::{service::valid_days, OrderStatus, TicketStatus},
    tx_run,
};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

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
    used_at: Option<DateTime<Utc>>,
    used_by_user_id: Option<Uuid>,
    used_scan_id: Option<Uuid>,
    holder: String,
    pass: String,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    order_status: OrderStatus,
    used_by: Option<String>,
    issue_no: i64,
}

const REDEEM_BY_TOKEN: &str = "UPDATE tickets SET status = 'USED', used_at = $1, used_by_user_id = $2, used_scan_id = $3 \
     WHERE id = (SELECT k.ticket_id FROM ticket_tokens k WHERE k.token_hash = $4 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $1)) \
     AND status = 'VALID' \
     AND ticket_type_id IN (SELECT tt.id FROM ticket_types tt WHERE (tt.valid_from IS NULL OR tt.valid_from <= $5) AND (tt.valid_until IS NULL OR tt.valid_until > $1)) \
     RETURNING id";

const REDEEM_BY_ID: &str = "UPDATE tickets SET status = 'USED', used_at = $1, used_by_user_id = $2, used_scan_id = $3 \
     WHERE id = $4 AND status = 'VALID' \
     AND ticket_type_id IN (SELECT tt.id FROM ticket_types tt WHERE (tt.valid_from IS NULL OR tt.valid_from <= $5) AND (tt.valid_until IS NULL OR tt.valid_until > $1)) \
     RETURNING id";

/// A signed code's ticket, only at the issue the code names (an older issue was replaced).
const REDEEM_BY_CODE: &str = "UPDATE tickets SET status = 'USED', used_at = $1, used_by_user_id = $2, used_scan_id = $3 \
     WHERE id = $4 AND status = 'VALID' AND issue_no = $6 \
     AND ticket_type_id IN (SELECT tt.id FROM ticket_types tt WHERE (tt.valid_from IS NULL OR tt.valid_from <= $5) AND (tt.valid_until IS NULL OR tt.valid_until > $1)) \
     RETURNING id";

/// Lets a ticket in, or says why not. `at` is now (a parameter so the window's edges can be tested).
pub async fn redeem(
    db: &Db,
    config: &Config,
    staff: &AuthUser,
    key: Key<'_>,
    scan_id: Uuid,
    at: DateTime<Utc>,
) -> Result<ScanAnswer, AppError> {
    let opens_by = at + Duration::minutes(config.scan_grace_minutes);
    let mut tx = db.begin().await?;
    // A signed code: `Some(None)` when its signature does not hold under a key not revoked.
    let claims = match key {
        Key::Token(token) if super::signed::is_signed(token.trim()) => {
            Some(super::door::verify_code(&mut tx, token.trim()).await?)
        }
        _ => None,
    };
    let let_in: Option<(Uuid,)> = match (key, claims) {
        (_, Some(None)) => None,
        (_, Some(Some(c))) => tx_run!(&mut tx, conn => sqlx::query_as(REDEEM_BY_CODE)
            .bind(at).bind(staff.id).bind(scan_id).bind(c.ticket_id).bind(opens_by).bind(i64::from(c.issue))
            .fetch_optional(conn).await)?,
        (Key::Token(token), None) => tx_run!(&mut tx, c => sqlx::query_as(REDEEM_BY_TOKEN)
            .bind(at).bind(staff.id).bind(scan_id).bind(hash_token(token.trim())).bind(opens_by)
            .fetch_optional(c).await)?,
        (Key::Ticket(id), None) => tx_run!(&mut tx, c => sqlx::query_as(REDEEM_BY_ID)
            .bind(at).bind(staff.id).bind(scan_id).bind(id).bind(opens_by)
            .fetch_optional(c).await)?,
    };
    let ticket_id = match (let_in, key, claims) {
        (Some((id,)), _, _) => Some(id),
        (None, _, Some(c)) => c.map(|c| c.ticket_id),
        (None, Key::Ticket(id), None) => Some(id),
        (None, Key::Token(token), None) => {
            let live: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as(
                "SELECT ticket_id FROM ticket_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)")
                .bind(hash_token(token.trim())).bind(at).fetch_optional(c).await)?;
            live.map(|r| r.0)
        }
    };
    let facts: Option<TicketFacts> = match ticket_id {
        None => None,
        Some(id) => tx_run!(&mut tx, c => sqlx::query_as(concat!(
            "SELECT t.status, t.used_at, t.used_by_user_id, t.used_scan_id, ",
            crate::ticket_holder_sql!(up, u), " AS holder, \
             tt.name AS pass, tt.valid_from, tt.valid_until, o.status AS order_status, t.issue_no, ",
            crate::person_name_sql!(sp, s), " AS used_by \
             FROM tickets t JOIN users u ON u.id = t.user_id LEFT JOIN profiles up ON up.user_id = u.id \
             JOIN ticket_types tt ON tt.id = t.ticket_type_id JOIN orders o ON o.id = t.order_id \
             LEFT JOIN users s ON s.id = t.used_by_user_id LEFT JOIN profiles sp ON sp.user_id = s.id WHERE t.id = $1"))
            .bind(id).fetch_optional(c).await)?,
    };
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
    };
    if let Some(f) = facts {
        answer.holder = Some(f.holder);
        answer.pass = Some(f.pass);
        let replaced = claims
            .flatten()
            .is_some_and(|c| i64::from(c.issue) < f.issue_no);
        answer.outcome = match f.status {
            // A code of an issue since replaced: revoked, whatever the ticket's state.
            _ if replaced => Outcome::Canceled,
            TicketStatus::Used if let_in.is_some() => Outcome::Ok,
            // A retry of the very attempt that let the ticket in (its answer was lost on the way).
            TicketStatus::Used
                if f.used_scan_id == Some(scan_id) && f.used_by_user_id == Some(staff.id) =>
            {
                answer.repeated = true;
                Outcome::Ok
            }
            TicketStatus::Used => {
                answer.used_at = f.used_at;
                answer.used_at_local = f.used_at.map(|u| config.short_local(u));
                answer.used_by = f.used_by;
                Outcome::AlreadyUsed
            }
            TicketStatus::Canceled if f.order_status == OrderStatus::Refunded => Outcome::Refunded,
            TicketStatus::Canceled => Outcome::Canceled,
            TicketStatus::Valid => {
                answer.valid_days = valid_days(config, f.valid_from, f.valid_until);
                Outcome::NotValidToday
            }
        };
        if answer.outcome == Outcome::Ok {
            let used_at = if let_in.is_some() {
                Some(at)
            } else {
                f.used_at
            };
            answer.undo_until = match staff.role {
                Role::Admin => None,
                _ => used_at.map(|u| u + Duration::seconds(config.scan_undo_seconds)),
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
            "manual": matches!(key, Key::Ticket(_)),
            "signed": claims.is_some(),
            "repeated": answer.repeated,
        }),
    )
    .await?;
    tx.commit().await?;
    crate::server::metrics::door_answer(answer.outcome.as_str(), "online");
    Ok(answer)
}

/// Puts a used ticket back to VALID: the staff member who let it in, within `SCAN_UNDO_SECONDS`;
/// an admin, any time. Audited as `UNDO_SCAN` with who had let it in and when.
pub async fn undo(
    db: &Db,
    config: &Config,
    actor: &AuthUser,
    ticket_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let row: Option<(String, Option<DateTime<Utc>>, Option<Uuid>)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT status, used_at, used_by_user_id FROM tickets WHERE id = $1")
        .bind(ticket_id).fetch_optional(c).await)?;
    let Some((status, used_at, used_by)) = row else {
        return Err(AppError::NotFound);
    };
    if status != TicketStatus::Used.as_str() {
        return Err(AppError::invalid("ticket", "scan.error.not_used"));
    }
    if actor.role != Role::Admin {
        let mine = used_by == Some(actor.id);
        let in_time =
            used_at.is_some_and(|u| at - u <= Duration::seconds(config.scan_undo_seconds));
        if !mine {
            return Err(AppError::Forbidden);
        }
        if !in_time {
            return Err(AppError::invalid("ticket", "scan.error.undo_too_late"));
        }
    }
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE tickets SET status = 'VALID', used_at = NULL, used_by_user_id = NULL, used_scan_id = NULL WHERE id = $1 AND status = 'USED'")
        .bind(ticket_id).execute(c).await.map(|_| ()))?;
    audit(
        &mut tx,
        actor.id,
        "UNDO_SCAN",
        "ticket",
        &ticket_id.to_string(),
        serde_json::json!({ "used_at": used_at, "used_by": used_by }),
    )
    .await?;
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
    audit(
        &mut tx,
        staff.id,
        "SCAN_SEARCH",
        "ticket",
        "search",
        serde_json::json!({ "query": query, "found": rows.len() }),
    )
    .await?;
    tx.commit().await?;
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
