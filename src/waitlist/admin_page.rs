//! `/admin/waitlist`: one section per pass that has a waiting list: its free seats, whether freed
//! seats are offered automatically, and the people in line, whom an admin can move up or send an
//! offer to by hand.
use super::{
    admin_waitlist_auto, admin_waitlist_move_up, admin_waitlist_offer, admin_waitlists, PassList,
    WaitRow, WaitStatus,
};
use crate::admin::ui::AdminPage;
use crate::ui::prelude::*;

#[component]
pub fn AdminWaitlistPage() -> impl IntoView {
    let i18n = use_i18n();
    // Bumped after each change: the lists are read again (an offer changes seats and statuses).
    let reload = RwSignal::new(0u32);
    let lists = Resource::new(move || reload.get(), |_| admin_waitlists());
    view! {
        <AdminPage title="waitlist.admin.title" class="admin-waitlist">
            <p class="hint">{move || i18n.t("waitlist.admin.hint")}</p>
            {loaded(lists, move |value| match value {
                lists if lists.is_empty() => view! {
                    <p class="empty">{move || i18n.t("waitlist.admin.empty")}</p>
                }
                    .into_any(),
                lists => lists
                    .into_iter()
                    .map(|list| view! { <PassSection list reload/> })
                    .collect_view()
                    .into_any(),
            })}
        </AdminPage>
    }
}

#[component]
fn PassSection(list: PassList, reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<AppError>);
    let PassList {
        ticket_type_id,
        name,
        auto,
        free,
        entries,
    } = list;
    let waiting = entries
        .iter()
        .filter(|e| e.status == WaitStatus::Waiting)
        .count();
    let (free_text, waiting_text) = (free.to_string(), waiting.to_string());
    // Positions count the people still waiting, first served first.
    let mut position = 0;
    let lines = entries
        .into_iter()
        .map(|entry| {
            let place = (entry.status == WaitStatus::Waiting).then(|| {
                position += 1;
                position
            });
            view! { <EntryLine entry place error reload/> }
        })
        .collect_view();
    let pass_attr = name.clone();
    view! {
            <section class="waitlist-pass" data-pass=pass_attr data-free=free>
                <h2>{name}</h2>
                <p class="waitlist-summary">
                    {move || i18n.t_with("waitlist.admin.summary", &[("free", &free_text), ("waiting", &waiting_text)])}
                </p>
                <AutoSwitch pass=ticket_type_id auto error reload/>
                <ActionErrorNotice error/>
                <Table class="data-table waitlist-table" keys=&["waitlist.admin.position", "admin.name", "form.email", "admin.status", "waitlist.admin.joined", "waitlist.admin.offered_until", "admin.actions"]>{lines}</Table>
        </section>
    }
}

/// Automatic offers of a pass's freed seats, on or off.
#[component]
fn AutoSwitch(
    pass: uuid::Uuid,
    auto: bool,
    error: RwSignal<Option<AppError>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let on = RwSignal::new(auto);
    let busy = RwSignal::new(false);
    let toggle = move |ev: leptos::ev::Event| {
        let wanted = event_target_checked(&ev);
        on.set(wanted);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let done = admin_waitlist_auto(pass, wanted).await;
            busy.set(false);
            match done {
                Ok(()) => {
                    error.set(None);
                    reload.update(|v| *v += 1);
                }
                Err(e) => {
                    on.set(!wanted);
                    error.set(Some(e));
                }
            }
        });
    };
    view! {
        <label class="checkbox waitlist-auto">
            <input type="checkbox" checked=move || on.get() prop:checked=move || on.get() disabled=move || busy.get() on:change=toggle/>
            <span>{move || i18n.t("waitlist.admin.auto")}</span>
        </label>
    }
}

#[component]
fn EntryLine(
    entry: WaitRow,
    /// Place among the people waiting (none once offered or expired).
    place: Option<usize>,
    error: RwSignal<Option<AppError>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = entry.id;
    let status = entry.status;
    let email = StoredValue::new(entry.email.clone());
    let busy = RwSignal::new(false);
    let run = move |offer: bool| {
        if offer {
            let question =
                email.with_value(|e| i18n.t_with("waitlist.admin.offer_confirm", &[("email", e)]));
            if !crate::ui::confirm(&question) {
                return;
            }
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let done = if offer {
                admin_waitlist_offer(id).await
            } else {
                admin_waitlist_move_up(id).await
            };
            busy.set(false);
            match done {
                Ok(()) => {
                    error.set(None);
                    reload.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let status_key = format!("waitlist.admin.status.{}", status.as_str().to_lowercase());
    view! {
        <tr data-entry=id.to_string() data-status=status.as_str() data-email=entry.email.clone()>
            <td class="position">{place.map(|p| p.to_string())}</td>
            <td>{entry.name.clone()}</td>
            <td>{entry.email.clone()}</td>
            <td>{move || i18n.t(&status_key)}</td>
            <td>{entry.joined_at.clone()}</td>
            <td>{entry.offered_until.clone()}</td>
            <td>
                {place.map(|p| view! {
                    <button type="button" class="button-small move-up" disabled=move || busy.get() || p == 1
                        on:click=move |_| run(false)>{move || i18n.t("waitlist.admin.move_up")}</button>
                    " "
                    <button type="button" class="button-small send-offer" disabled=move || busy.get()
                        on:click=move |_| run(true)>{move || i18n.t("waitlist.admin.offer")}</button>
                })}
            </td>
        </tr>
    }
}
