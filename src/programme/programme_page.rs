//! `/`: the public programme by day and time slot, filterable by theme and day.
use super::widgets::{hm, provide_personal, FilterBar, SaveButton};
use super::{get_programme, Filter, Programme, Slot, TalkSummary};
use crate::ui::prelude::*;
use chrono::NaiveDate;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

#[component]
pub fn ProgrammePage() -> impl IntoView {
    let i18n = use_i18n();
    let personal = provide_personal();
    provide_context(Interest(Resource::new(
        move || personal.toggle.version().get(),
        |_| super::interest_counts(),
    )));
    let programme = Resource::new_blocking(|| (), |_| get_programme());
    view! {
        <Title text=page_title(move || i18n.t("programme.title"))/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match programme.await {
                    Ok(p) => view! { <ProgrammeView programme=p/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The programme with its filter bar; the filter lives in the URL, so a filtered view can be shared.
#[component]
fn ProgrammeView(programme: Programme) -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let programme = StoredValue::new(programme);
    let parsed = Memo::new(move |_| {
        let q = query.read();
        programme.with_value(|p| Filter::parse(p, q.get_str("theme"), q.get_str("day")))
    });
    let filter = Signal::derive(move || parsed.get().0);
    let event_name = programme.with_value(|p| p.event_name.clone());
    let timezone = programme.with_value(|p| p.timezone.clone());

    view! {
        <section class="hero">
            <h1>{event_name}</h1>
            <p class="lede">{move || i18n.t("programme.lede")}</p>
            <p class="tz-note">{move || i18n.t_with("programme.timezone_note", &[("tz", &timezone)])}</p>
        </section>
        <FilterBar programme filter/>
        <div class="notices" role="status">
            {move || {
                parsed
                    .get()
                    .1
                    .into_iter()
                    .map(|n| view! { <p class="notice notice-warning" data-notice=n.message_key()>{i18n.t(n.message_key())}</p> })
                    .collect_view()
            }}
        </div>
        <ProgrammeDays programme filter/>
    }
}

#[component]
fn ProgrammeDays(programme: StoredValue<Programme>, filter: Signal<Filter>) -> impl IntoView {
    let i18n = use_i18n();
    let groups = Memo::new(move |_| programme.with_value(|p| p.grouped(&filter.get())));
    view! {
        <div class="programme">
            <Show
                when=move || !groups.read().is_empty()
                fallback=move || view! { <p class="empty">{move || i18n.t("programme.empty")}</p> }
            >
                {move || {
                    groups
                        .get()
                        .into_iter()
                        .map(|(day, slots)| view! { <ProgrammeDay day slots/> })
                        .collect_view()
                }}
            </Show>
        </div>
    }
}

#[component]
fn ProgrammeDay(day: NaiveDate, slots: Vec<Slot>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="day" data-day=day.format("%Y-%m-%d").to_string()>
            <h2 class="day-title">{move || i18n.date_long(day)}</h2>
            {slots.into_iter().map(|slot| view! { <TimeSlot time_slot=slot/> }).collect_view()}
        </section>
    }
}

#[component]
fn TimeSlot(time_slot: Slot) -> impl IntoView {
    view! {
        <div class="slot">
            <div class="slot-time">
                <time>{hm(time_slot.start)}</time>
                <span class="slot-end">{hm(time_slot.end)}</span>
            </div>
            <ul class="slot-talks">
                {time_slot.talks.into_iter().map(|talk| view! { <TalkCard talk/> }).collect_view()}
            </ul>
        </div>
    }
}

/// How many attendees saved each talk (admins, or everyone when the organiser shows it).
#[derive(Clone, Copy)]
struct Interest(Resource<Result<Option<super::TalkInterest>, AppError>>);

/// Read through a `Transition` (a new count replaces the old one without a blank): hydration uses the counts the server rendered with. Read
/// directly, the browser saw no counts yet on a fast start and panicked on the server's `<span>`.
#[component]
fn InterestCount(id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    use_context::<Interest>().map(|Interest(interest)| {
        view! {
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    interest.await.ok().flatten().map(|counts| {
                        let n = counts.iter().find(|(t, _)| *t == id).map(|(_, n)| *n).unwrap_or(0);
                        view! { <span class="interest" title=move || i18n.t("personal.interest")>{format!("★ {n}")}</span> }
                    })
                })}
            </Transition>
        }
    })
}

#[component]
fn TalkCard(talk: TalkSummary) -> impl IntoView {
    let star = talk.clone();
    view! {
        <li class="talk-card" data-talk-id=talk.id.to_string()>
            <InterestCount id=talk.id/>
            <SaveButton talk=star/>
            <a class="talk-link" href=format!("/talks/{}", talk.id)>
                <span class="talk-theme" data-theme=talk.theme.clone()>{talk.theme.clone()}</span>
                <span class="talk-title">{talk.title.clone()}</span>
                <span class="talk-meta">
                    {talk.speaker_name.clone().map(|s| view! { <span class="talk-speaker">{s}</span> })}
                    {talk.location.clone().map(|l| view! { <span class="talk-room">{l}</span> })}
                </span>
            </a>
        </li>
    }
}
