//! Workshops with seats: a talk may need a booking and have a number of seats. An attendee whose
//! pass covers the talk books one seat (one per person) from the talk's page or their programme,
//! and may free it; a conditional UPDATE on the talk's count keeps races from overbooking. A
//! check-in list bound to the workshop lets in only the tickets with a seat.
use crate::error::AppError;
use leptos::{prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A workshop's seats, as the caller sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seats {
    pub talk_id: Uuid,
    pub capacity: i64,
    pub booked: i64,
    /// The caller holds a seat.
    pub mine: bool,
    /// The caller holds a pass that covers the workshop (and could book a free seat).
    pub covered: bool,
    pub logged_in: bool,
}

impl Seats {
    pub fn left(&self) -> i64 {
        self.capacity.saturating_sub(self.booked).max(0)
    }
}

/// Every workshop's seats (few: one call for a whole page).
#[server(prefix = "/api", endpoint = "workshop_seats")]
pub async fn workshop_seats() -> Result<Vec<Seats>, AppError> {
    let state = crate::server::state()?;
    let me = crate::accounts::session::current_user()
        .await?
        .map(|(u, _)| u.id);
    service::seats(&state.db, me).await
}

/// Books a seat for the caller on a workshop their pass covers.
#[server(prefix = "/api", endpoint = "workshop_book")]
pub async fn workshop_book(talk_id: Uuid) -> Result<(), AppError> {
    let user = crate::accounts::session::require_user().await?;
    let state = crate::server::state()?;
    service::book(&state.db, &user, talk_id)
        .await
        .map_err(crate::server::fail)
}

/// Frees the caller's seat.
#[server(prefix = "/api", endpoint = "workshop_cancel")]
pub async fn workshop_cancel(talk_id: Uuid) -> Result<(), AppError> {
    let user = crate::accounts::session::require_user().await?;
    let state = crate::server::state()?;
    service::cancel(&state.db, &user, talk_id)
        .await
        .map_err(crate::server::fail)
}

/// Makes a talk a workshop with `capacity` seats (empty: no booking needed). Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_talk_workshop")]
pub async fn admin_talk_workshop(talk_id: Uuid, capacity: String) -> Result<(), AppError> {
    let admin = crate::accounts::session::require_role(&[crate::accounts::Role::Admin]).await?;
    let state = crate::server::state()?;
    service::set_capacity(&state.db, &admin, talk_id, &capacity)
        .await
        .map_err(crate::server::fail)
}

#[cfg(feature = "ssr")]
pub mod service {
    use super::Seats;
    use crate::{
        accounts::AuthUser, admin::service::audit, db_run, error::AppError, server::db::Db, tx_run,
    };
    use uuid::Uuid;

    /// A ticket of the user's (not canceled) whose pass covers the talk's start.
    const COVERING: &str = "SELECT t.id FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         JOIN conferences c ON c.id = $2 \
         WHERE t.user_id = $1 AND t.status IN ('VALID', 'USED') \
         AND (tt.valid_from IS NULL OR tt.valid_from <= c.start_at) AND (tt.valid_until IS NULL OR tt.valid_until > c.start_at) \
         ORDER BY t.issued_at, t.id LIMIT 1";

    pub async fn seats(db: &Db, me: Option<Uuid>) -> Result<Vec<Seats>, AppError> {
        let rows: Vec<(Uuid, i64, i64)> = db_run!(db, pool => sqlx::query_as(
            "SELECT w.talk_id, w.capacity, w.booked_count FROM workshops w JOIN conferences c ON c.id = w.talk_id ORDER BY c.start_at")
            .fetch_all(pool).await)?;
        let mut out = Vec::with_capacity(rows.len());
        for (talk, capacity, booked) in rows {
            let (mine, covered) = match me {
                None => (false, false),
                Some(user) => {
                    let mine: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as(
                        "SELECT ticket_id FROM workshop_bookings WHERE talk_id = $1 AND user_id = $2")
                        .bind(talk).bind(user).fetch_optional(pool).await)?;
                    let covered: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as(COVERING)
                        .bind(user).bind(talk).fetch_optional(pool).await)?;
                    (mine.is_some(), covered.is_some())
                }
            };
            out.push(Seats {
                talk_id: talk,
                capacity,
                booked,
                mine,
                covered,
                logged_in: me.is_some(),
            });
        }
        Ok(out)
    }

    async fn talk_exists(tx: &mut crate::server::db::Tx, talk: Uuid) -> Result<bool, sqlx::Error> {
        let row: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as("SELECT id FROM conferences WHERE id = $1")
            .bind(talk).fetch_optional(c).await)?;
        Ok(row.is_some())
    }

    /// One seat for the user: refused when the talk needs no booking, the user has no pass
    /// covering it, holds a seat already, or the workshop is full.
    pub async fn book(db: &Db, user: &AuthUser, talk: Uuid) -> Result<(), AppError> {
        let mut tx = db.begin().await?;
        if !talk_exists(&mut tx, talk).await? {
            return Err(AppError::NotFound);
        }
        let workshop: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as(
            "SELECT talk_id FROM workshops WHERE talk_id = $1").bind(talk).fetch_optional(c).await)?;
        if workshop.is_none() {
            return Err(AppError::invalid("talk_id", "workshop.error.no_booking"));
        }
        let held: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as(
            "SELECT ticket_id FROM workshop_bookings WHERE talk_id = $1 AND user_id = $2")
            .bind(talk).bind(user.id).fetch_optional(c).await)?;
        if held.is_some() {
            return Err(AppError::invalid(
                "talk_id",
                "workshop.error.already_booked",
            ));
        }
        let ticket: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as(COVERING)
            .bind(user.id).bind(talk).fetch_optional(c).await)?;
        let Some((ticket,)) = ticket else {
            return Err(AppError::invalid("talk_id", "workshop.error.no_pass"));
        };
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
            .bind(talk).bind(ticket).bind(user.id).bind(crate::server::now()).execute(c).await.map(|r| r.rows_affected()))?;
        if inserted != 1 {
            return Err(AppError::invalid(
                "talk_id",
                "workshop.error.already_booked",
            ));
        }
        audit(
            &mut tx,
            user.id,
            "BOOK_WORKSHOP",
            "talk",
            &talk.to_string(),
            serde_json::json!({ "ticket": ticket }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Frees the user's seat.
    pub async fn cancel(db: &Db, user: &AuthUser, talk: Uuid) -> Result<(), AppError> {
        let mut tx = db.begin().await?;
        let gone = tx_run!(&mut tx, c => sqlx::query(
            "DELETE FROM workshop_bookings WHERE talk_id = $1 AND user_id = $2")
            .bind(talk).bind(user.id).execute(c).await.map(|r| r.rows_affected()))?;
        if gone == 0 {
            return Err(AppError::invalid("talk_id", "workshop.error.not_booked"));
        }
        tx_run!(&mut tx, c => sqlx::query(
            "UPDATE workshops SET booked_count = booked_count - $1 WHERE talk_id = $2")
            .bind(i64::try_from(gone).unwrap_or(1)).bind(talk).execute(c).await.map(|_| ()))?;
        audit(
            &mut tx,
            user.id,
            "CANCEL_WORKSHOP",
            "talk",
            &talk.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A workshop's number of seats (at least the seats booked), or none: no booking needed (only
    /// while nobody holds a seat; a check-in list bound to it then lets nobody in).
    pub async fn set_capacity(
        db: &Db,
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
        let row: Option<(i64,)> = tx_run!(&mut tx, c => sqlx::query_as(
            "SELECT booked_count FROM workshops WHERE talk_id = $1").bind(talk).fetch_optional(c).await)?;
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
        audit(
            &mut tx,
            admin.id,
            "SET_WORKSHOP",
            "talk",
            &talk.to_string(),
            serde_json::json!({ "capacity": capacity }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A workshop's seats and the caller's booking, under a talk (nothing for a talk that needs no
/// booking). Loaded in the browser: the programme's pages are the same for everyone.
#[component]
pub fn WorkshopSeat(talk_id: Uuid) -> impl IntoView {
    let i18n = crate::i18n::use_i18n();
    let version = RwSignal::new(0u32);
    let seats = LocalResource::new(move || {
        version.get();
        workshop_seats()
    });
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let act = move |book: bool| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let r = if book {
                workshop_book(talk_id).await
            } else {
                workshop_cancel(talk_id).await
            };
            if let Err(e) = r {
                error.set(Some(e));
            }
            busy.set(false);
            version.update(|v| *v += 1);
        });
    };
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let s = seats.await.ok()?.into_iter().find(|s| s.talk_id == talk_id)?;
                let left = s.left();
                Some(view! {
                    <div class="workshop-seat" data-workshop=talk_id.to_string() data-left=left.to_string() data-mine=s.mine.to_string()>
                        <p class="workshop-left">{move || i18n.t_with("workshop.left", &[("left", &left.to_string()), ("capacity", &s.capacity.to_string())])}</p>
                        {if s.mine {
                            view! {
                                <p class="workshop-mine">{move || i18n.t("workshop.booked")}</p>
                                <button type="button" class="button-secondary workshop-cancel" disabled=move || busy.get()
                                    on:click=move |_| act(false)>{move || i18n.t("workshop.cancel")}</button>
                            }.into_any()
                        } else if !s.logged_in {
                            view! { <a class="workshop-login" href="/login">{move || i18n.t("workshop.login")}</a> }.into_any()
                        } else if !s.covered {
                            view! { <p class="workshop-no-pass">{move || i18n.t("workshop.error.no_pass")}</p> }.into_any()
                        } else if left == 0 {
                            view! { <p class="workshop-full">{move || i18n.t("workshop.full")}</p> }.into_any()
                        } else {
                            view! {
                                <button type="button" class="button workshop-book" disabled=move || busy.get()
                                    on:click=move |_| act(true)>{move || i18n.t("workshop.book")}</button>
                            }.into_any()
                        }}
                        {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message(i18n.locale.get())}</p> })}
                    </div>
                })
            })}
        </Suspense>
    }
}
