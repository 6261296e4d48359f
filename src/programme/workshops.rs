//! Workshops with seats: a talk may need a booking and have a number of seats. An attendee whose
//! pass covers the talk books one seat (one per person) from the talk's page or their programme,
//! and may free it; a conditional UPDATE on the talk's count keeps races from overbooking. A
//! check-in list bound to the workshop lets in only the tickets with a seat.
use crate::ui::prelude::*;
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
    /// The caller's place on the waiting list (1: next), if they wait.
    #[serde(default)]
    pub waiting: Option<i64>,
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
    let (user, state) = crate::accounts::session::user_state().await?;
    service::book(&state.db, &user, talk_id).await
}

/// Puts the caller on a full workshop's waiting list (`wait` false: takes them off it).
#[server(prefix = "/api", endpoint = "workshop_wait")]
pub async fn workshop_wait(talk_id: Uuid, wait: bool) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::wait(&state.db, &user, talk_id, wait).await
}

/// Frees the caller's seat.
#[server(prefix = "/api", endpoint = "workshop_cancel")]
pub async fn workshop_cancel(talk_id: Uuid) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    let promoted = service::cancel(&state.db, &state.config, &user, talk_id).await?;
    if promoted > 0 {
        state.mailer.wake();
    }
    Ok(())
}

/// Makes a talk a workshop with `capacity` seats (empty: no booking needed). Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_talk_workshop")]
pub async fn admin_talk_workshop(talk_id: Uuid, capacity: String) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::set_capacity(&state.db, &state.config, &admin, talk_id, &capacity).await?;
    state.mailer.wake();
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod service;

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
    // 0: free my seat, 1: book, 2: join the waiting list, 3: leave it.
    let act = move |what: u8| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let r = match what {
                1 => workshop_book(talk_id).await,
                2 => workshop_wait(talk_id, true).await,
                3 => workshop_wait(talk_id, false).await,
                _ => workshop_cancel(talk_id).await,
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
                                    on:click=move |_| act(0)>{move || i18n.t("workshop.cancel")}</button>
                            }.into_any()
                        } else if !s.logged_in {
                            view! { <a class="workshop-login" href="/login">{move || i18n.t("workshop.login")}</a> }.into_any()
                        } else if !s.covered {
                            view! { <p class="workshop-no-pass">{move || i18n.t("workshop.error.no_pass")}</p> }.into_any()
                        } else if let Some(place) = s.waiting {
                            view! {
                                <p class="workshop-waiting" data-place=place.to_string()>{move || i18n.t_with("workshop.waiting", &[("place", &place.to_string())])}</p>
                                <button type="button" class="button-secondary workshop-leave" disabled=move || busy.get()
                                    on:click=move |_| act(3)>{move || i18n.t("workshop.leave")}</button>
                            }.into_any()
                        } else if left == 0 {
                            view! {
                                <p class="workshop-full">{move || i18n.t("workshop.full")}</p>
                                <button type="button" class="button-secondary workshop-wait" disabled=move || busy.get()
                                    on:click=move |_| act(2)>{move || i18n.t("workshop.wait")}</button>
                            }.into_any()
                        } else {
                            view! {
                                <button type="button" class="button workshop-book" disabled=move || busy.get()
                                    on:click=move |_| act(1)>{move || i18n.t("workshop.book")}</button>
                            }.into_any()
                        }}
                        {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message(i18n.locale.get())}</p> })}
                    </div>
                })
            })}
        </Suspense>
    }
}
