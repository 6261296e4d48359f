use super::Seats;
use crate::server::prelude::*;
use crate::{
    accounts::AuthUser,
    i18n::Locale,
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
};

/// A ticket of the user's (not canceled) whose pass covers the talk's start.
const COVERING: &str = "SELECT t.id FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
     JOIN conferences c ON c.id = $2 \
     WHERE (t.user_id = $1 OR t.holder_user_id = $1) AND t.status IN ('VALID', 'USED') \
     AND (tt.valid_from IS NULL OR tt.valid_from <= c.start_at) AND (tt.valid_until IS NULL OR tt.valid_until > c.start_at) \
     ORDER BY t.issued_at, t.id LIMIT 1";

pub async fn seats(db: &Db, me: Option<Uuid>) -> Result<Vec<Seats>, AppError> {
    let rows: Vec<(Uuid, i64, i64)> = db_run!(db, pool => sqlx::query_as(
        "SELECT w.talk_id, w.capacity, w.booked_count FROM workshops w JOIN conferences c ON c.id = w.talk_id ORDER BY c.start_at")
        .fetch_all(pool).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for (talk, capacity, booked) in rows {
        let (mine, covered, waiting) = match me {
            None => (false, false, None),
            Some(user) => {
                let mine: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as(
                    "SELECT ticket_id FROM workshop_bookings WHERE talk_id = $1 AND user_id = $2")
                    .bind(talk).bind(user).fetch_optional(pool).await)?;
                let covered: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as(COVERING)
                    .bind(user).bind(talk).fetch_optional(pool).await)?;
                let place: Option<(i64,)> = db_run!(db, pool => sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM workshop_waitlist o WHERE o.talk_id = w.talk_id AND o.created_at <= w.created_at) \
                     FROM workshop_waitlist w WHERE w.talk_id = $1 AND w.user_id = $2")
                    .bind(talk).bind(user).fetch_optional(pool).await)?;
                (mine.is_some(), covered.is_some(), place.map(|p| p.0))
            }
        };
        out.push(Seats {
            talk_id: talk,
            capacity,
            booked,
            mine,
            covered,
            logged_in: me.is_some(),
            waiting,
        });
    }
    Ok(out)
}

async fn talk_exists(tx: &mut Tx, talk: Uuid) -> Result<bool, sqlx::Error> {
    let row: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as("SELECT id FROM conferences WHERE id = $1")
        .bind(talk).fetch_optional(c).await)?;
    Ok(row.is_some())
}

/// Seats are booked, freed and waited for until the workshop starts (then the room is what it is).
async fn open_for_booking(tx: &mut Tx, talk: Uuid) -> Result<(), AppError> {
    let row: Option<(chrono::DateTime<chrono::Utc>,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT start_at FROM conferences WHERE id = $1").bind(talk).fetch_optional(c).await)?;
    match row {
        None => Err(AppError::NotFound),
        Some((start,)) if crate::server::state::now() >= start => {
            Err(AppError::invalid("talk_id", "workshop.error.started"))
        }
        Some(_) => Ok(()),
    }
}

/// The ticket a seat would be booked on: the user's ticket whose pass covers the workshop, when
/// they hold no seat there yet (refused on `talk_id` otherwise).
async fn seat_ticket(tx: &mut Tx, user: &AuthUser, talk: Uuid) -> Result<Uuid, AppError> {
    let held: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT ticket_id FROM workshop_bookings WHERE talk_id = $1 AND user_id = $2")
        .bind(talk).bind(user.id).fetch_optional(c).await)?;
    if held.is_some() {
        return Err(AppError::invalid(
            "talk_id",
            "workshop.error.already_booked",
        ));
    }
    let ticket: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(COVERING)
        .bind(user.id).bind(talk).fetch_optional(c).await)?;
    ticket
        .map(|(t,)| t)
        .ok_or_else(|| AppError::invalid("talk_id", "workshop.error.no_pass"))
}

/// One seat for the user: refused when the talk needs no booking, the user has no pass
/// covering it, holds a seat already, or the workshop is full.
pub async fn book(db: &Db, user: &AuthUser, talk: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    open_for_booking(&mut tx, talk).await?;
    let workshop: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT talk_id FROM workshops WHERE talk_id = $1").bind(talk).fetch_optional(c).await)?;
    if workshop.is_none() {
        return Err(AppError::invalid("talk_id", "workshop.error.no_booking"));
    }
    let ticket = seat_ticket(&mut tx, user, talk).await?;
    let taken = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE workshops SET booked_count = booked_count + 1 WHERE talk_id = $1 AND booked_count < capacity")
        .bind(talk).execute(c).await.map(|r| r.rows_affected()))?;
    if taken != 1 {
        return Err(AppError::invalid("talk_id", "workshop.error.full"));
    }
    // Two bookings of one person at once (PostgreSQL): the second finds the first's row, and
    // its transaction, seat included, is rolled back.
    let inserted = tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO workshop_bookings (talk_id, ticket_id, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(talk).bind(ticket).bind(user.id).bind(crate::server::state::now()).execute(c).await.map(|r| r.rows_affected()))?;
    if inserted != 1 {
        return Err(AppError::invalid(
            "talk_id",
            "workshop.error.already_booked",
        ));
    }
    tx_run!(&mut tx, c => sqlx::query("DELETE FROM workshop_waitlist WHERE talk_id = $1 AND user_id = $2")
        .bind(talk).bind(user.id).execute(c).await.map(|_| ()))?;
    Audit::new(user.id, "BOOK_WORKSHOP", "talk", talk)
        .meta(serde_json::json!({ "ticket": ticket }))
        .commit(tx)
        .await
}

/// Joins (or leaves) a full workshop's waiting list: only with a pass that covers it, without
/// a seat, and while the workshop is full (else: book).
pub async fn wait(db: &Db, user: &AuthUser, talk: Uuid, wait: bool) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    if !talk_exists(&mut tx, talk).await? {
        return Err(AppError::NotFound);
    }
    if !wait {
        let gone = tx_run!(&mut tx, c => sqlx::query("DELETE FROM workshop_waitlist WHERE talk_id = $1 AND user_id = $2")
            .bind(talk).bind(user.id).execute(c).await.map(|r| r.rows_affected()))?;
        if gone == 0 {
            return Err(AppError::invalid("talk_id", "workshop.error.not_waiting"));
        }
        let id = talk.to_string();
        Audit::new(user.id, "LEAVE_WORKSHOP_WAITLIST", "talk", &id)
            .commit(tx)
            .await?;
        return Ok(());
    }
    open_for_booking(&mut tx, talk).await?;
    let seats: Option<(i64, i64)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT capacity, booked_count FROM workshops WHERE talk_id = $1").bind(talk).fetch_optional(c).await)?;
    let Some((capacity, booked)) = seats else {
        return Err(AppError::invalid("talk_id", "workshop.error.no_booking"));
    };
    seat_ticket(&mut tx, user, talk).await?;
    if booked < capacity {
        return Err(AppError::invalid("talk_id", "workshop.error.not_full"));
    }
    let n = tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO workshop_waitlist (talk_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(talk).bind(user.id).bind(crate::server::state::now()).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::invalid(
            "talk_id",
            "workshop.error.already_waiting",
        ));
    }
    let id = talk.to_string();
    Audit::new(user.id, "JOIN_WORKSHOP_WAITLIST", "talk", &id)
        .commit(tx)
        .await
}

/// Gives a workshop's free seats to the first people waiting whose pass still covers it (the
/// others leave the line), each booked, audited and mailed. Returns the seats given.
pub async fn promote(tx: &mut Tx, config: &Config, talk: Uuid) -> Result<usize, AppError> {
    // The workshop's row first, as `book` takes it: its count is exact until commit, and a
    // booking, a freeing or another promotion of this workshop waits (no circle of waits).
    let held = tx_run!(tx, c => sqlx::query("UPDATE workshops SET capacity = capacity WHERE talk_id = $1")
        .bind(talk).execute(c).await.map(|r| r.rows_affected()))?;
    let started: Option<(chrono::DateTime<chrono::Utc>,)> = match held {
        0 => None,
        _ => tx_run!(tx, c => sqlx::query_as("SELECT start_at FROM conferences WHERE id = $1")
            .bind(talk).fetch_optional(c).await)?,
    };
    // Once it has started, a freed seat stays free.
    if started.is_none_or(|(start,)| crate::server::state::now() >= start) {
        return Ok(0);
    }
    let mut given = 0;
    // At most the line's length: each turn books someone or takes someone out of the line.
    for _ in 0..1000 {
        let next: Option<(Uuid, String, String)> = tx_run!(tx, c => sqlx::query_as(
            "SELECT w.user_id, u.email, u.locale FROM workshop_waitlist w JOIN users u ON u.id = w.user_id \
             JOIN workshops s ON s.talk_id = w.talk_id \
             WHERE w.talk_id = $1 AND s.booked_count < s.capacity ORDER BY w.created_at, w.user_id LIMIT 1")
            .bind(talk).fetch_optional(c).await)?;
        let Some((user, email, locale)) = next else {
            break;
        };
        // Someone who left the line at this very moment is not booked.
        let left = tx_run!(tx, c => sqlx::query("DELETE FROM workshop_waitlist WHERE talk_id = $1 AND user_id = $2")
            .bind(talk).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
        if left != 1 {
            continue;
        }
        let active: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
            "SELECT id FROM users WHERE id = $1 AND status = 'ACTIVE' AND anonymized_at IS NULL")
            .bind(user).fetch_optional(c).await)?;
        if active.is_none() {
            continue;
        }
        let ticket: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(COVERING)
            .bind(user).bind(talk).fetch_optional(c).await)?;
        let Some((ticket,)) = ticket else {
            continue;
        };
        let inserted = tx_run!(tx, c => sqlx::query(
            "INSERT INTO workshop_bookings (talk_id, ticket_id, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(talk).bind(ticket).bind(user).bind(crate::server::state::now()).execute(c).await.map(|r| r.rows_affected()))?;
        if inserted != 1 {
            continue;
        }
        tx_run!(tx, c => sqlx::query("UPDATE workshops SET booked_count = booked_count + 1 WHERE talk_id = $1")
            .bind(talk).execute(c).await.map(|_| ()))?;
        let (title, start): (String, chrono::DateTime<chrono::Utc>) = tx_run!(tx, c => sqlx::query_as(
            "SELECT title, start_at FROM conferences WHERE id = $1").bind(talk).fetch_one(c).await)?;
        let meta = serde_json::json!({ "ticket": ticket, "from_waitlist": true });
        audit(tx, user, "BOOK_WORKSHOP", "talk", &talk.to_string(), meta).await?;
        let when = start.with_timezone(&config.timezone).format("%d/%m %H:%M");
        let mail = Mail::new(
            MailKind::WorkshopSeat,
            Some(user),
            email,
            Locale::from_code(&locale).unwrap_or_default(),
            Some(format!("{}/me/programme", config.base_url)),
        )
        .with(vec![("talk", title), ("when", when.to_string())]);
        enqueue(tx, &mail).await?;
        given += 1;
    }
    Ok(given)
}

/// The job: seats freed without a person asking (a refunded ticket) go to the waiting lists.
pub async fn promote_all(state: &AppState) -> Result<usize, AppError> {
    // A booking made on a ticket refunded at that same moment (the refund's trigger could not
    // see it yet): the seat goes back.
    let stale: Vec<(Uuid, Uuid)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT b.talk_id, b.ticket_id FROM workshop_bookings b JOIN tickets t ON t.id = b.ticket_id WHERE t.status = 'CANCELED'")
        .fetch_all(pool).await)?;
    for (talk, ticket) in stale {
        let mut tx = state.db.begin().await?;
        let gone = tx_run!(&mut tx, c => sqlx::query("DELETE FROM workshop_bookings WHERE talk_id = $1 AND ticket_id = $2")
            .bind(talk).bind(ticket).execute(c).await.map(|r| r.rows_affected()))?;
        if gone == 1 {
            tx_run!(&mut tx, c => sqlx::query("UPDATE workshops SET booked_count = booked_count - 1 WHERE talk_id = $1")
                .bind(talk).execute(c).await.map(|_| ()))?;
        }
        tx.commit().await?;
    }
    let talks: Vec<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT s.talk_id FROM workshops s WHERE s.booked_count < s.capacity \
         AND EXISTS (SELECT 1 FROM workshop_waitlist w WHERE w.talk_id = s.talk_id)")
        .fetch_all(pool).await)?;
    let mut given = 0;
    for (talk,) in talks {
        let mut tx = state.db.begin().await?;
        given += promote(&mut tx, &state.config, talk).await?;
        tx.commit().await?;
    }
    Ok(given)
}

/// Frees the user's seat; the next person waiting gets it. Returns the seats given so.
pub async fn cancel(
    db: &Db,
    config: &Config,
    user: &AuthUser,
    talk: Uuid,
) -> Result<usize, AppError> {
    let mut tx = db.begin().await?;
    open_for_booking(&mut tx, talk).await?;
    let gone = tx_run!(&mut tx, c => sqlx::query(
        "DELETE FROM workshop_bookings WHERE talk_id = $1 AND user_id = $2")
        .bind(talk).bind(user.id).execute(c).await.map(|r| r.rows_affected()))?;
    if gone == 0 {
        return Err(AppError::invalid("talk_id", "workshop.error.not_booked"));
    }
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE workshops SET booked_count = booked_count - $1 WHERE talk_id = $2")
        .bind(i64::try_from(gone).unwrap_or(1)).bind(talk).execute(c).await.map(|_| ()))?;
    let id = talk.to_string();
    Audit::new(user.id, "CANCEL_WORKSHOP", "talk", &id)
        .write(&mut tx)
        .await?;
    let given = promote(&mut tx, config, talk).await?;
    tx.commit().await?;
    Ok(given)
}

/// A workshop's number of seats (at least the seats booked), or none: no booking needed (only
/// while nobody holds a seat; a check-in list bound to it then lets nobody in).
pub async fn set_capacity(
    db: &Db,
    config: &Config,
    admin: &AuthUser,
    talk: Uuid,
    raw: &str,
) -> Result<(), AppError> {
    let raw = raw.trim();
    let capacity: Option<i64> = if raw.is_empty() {
        None
    } else {
        let n: i64 = raw
            .parse()
            .map_err(|_| AppError::invalid("capacity", "workshop.error.capacity"))?;
        if !(1..=100_000).contains(&n) {
            return Err(AppError::invalid("capacity", "workshop.error.capacity"));
        }
        Some(n)
    };
    let mut tx = db.begin().await?;
    if !talk_exists(&mut tx, talk).await? {
        return Err(AppError::NotFound);
    }
    // Held (as `book` holds it): a booking at this moment waits, the count read is exact.
    let row: Option<(i64,)> = tx_run!(&mut tx, c => sqlx::query_as(
        "UPDATE workshops SET capacity = capacity WHERE talk_id = $1 RETURNING booked_count")
        .bind(talk).fetch_optional(c).await)?;
    let booked = row.map_or(0, |r| r.0);
    if capacity.unwrap_or(0) < booked {
        return Err(AppError::invalid("capacity", "workshop.error.below_booked"));
    }
    match capacity {
        Some(n) => tx_run!(&mut tx, c => sqlx::query(
            "INSERT INTO workshops (talk_id, capacity) VALUES ($1, $2) ON CONFLICT (talk_id) DO UPDATE SET capacity = excluded.capacity")
            .bind(talk).bind(n).execute(c).await.map(|_| ()))?,
        None => tx_run!(&mut tx, c => sqlx::query("DELETE FROM workshops WHERE talk_id = $1")
            .bind(talk).execute(c).await.map(|_| ()))?,
    }
    Audit::new(admin.id, "SET_WORKSHOP", "talk", talk)
        .meta(serde_json::json!({ "capacity": capacity }))
        .write(&mut tx)
        .await?;
    // More seats: the waiting list gets them.
    if capacity.is_some() {
        promote(&mut tx, config, talk).await?;
    }
    tx.commit().await?;
    Ok(())
}
