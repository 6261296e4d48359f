//! The programme's pages: `/` (the programme, filterable) and `/talks/:id` (one talk).
use super::{get_programme, get_talk, Filter, Programme, Slot, TalkDetail, TalkSummary};
use crate::{
    app::{ErrorNotice, NotFound},
    error::AppError,
    i18n::use_i18n,
};
use chrono::{NaiveDate, NaiveTime};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

#[component]
pub fn ProgrammePage() -> impl IntoView {
    let i18n = use_i18n();
    let programme = Resource::new_blocking(|| (), |_| get_programme());
    view! {
        <Title text=move || i18n.t("programme.title")/>
        <Suspense fallback=move || view! { <p class="loading">{move || i18n.t("common.loading")}</p> }>
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
fn FilterBar(programme: StoredValue<Programme>, filter: Signal<Filter>) -> impl IntoView {
    let i18n = use_i18n();
    let days = programme.with_value(|p| p.days());
    let themes = programme.with_value(|p| p.themes());
    let day_chip = move |day: Option<NaiveDate>| {
        let href = move || {
            Filter {
                day,
                ..filter.get()
            }
            .href()
        };
        let active = move || filter.get().day == day;
        let label = move || match day {
            Some(d) => i18n.date_long(d),
            None => i18n.t("programme.filter.all_days"),
        };
        view! {
            <a href=href class="chip" class:chip-active=active aria-current=move || active().then_some("true")>{label}</a>
        }
    };
    let theme_chip = move |theme: Option<String>| {
        let t = theme.clone();
        let href = move || {
            Filter {
                theme: t.clone(),
                ..filter.get()
            }
            .href()
        };
        let t = theme.clone();
        let active = move || filter.get().theme == t;
        let label = theme.clone();
        let label = move || {
            label
                .clone()
                .unwrap_or_else(|| i18n.t("programme.filter.all_themes"))
        };
        view! {
            <a href=href class="chip" class:chip-active=active.clone() aria-current=move || active().then_some("true") data-theme=theme.clone()>{label}</a>
        }
    };
    view! {
        <nav class="filters" aria-label=move || i18n.t("programme.filter.label")>
            <div class="filter-group" data-filter="day">
                <span class="filter-label">{move || i18n.t("programme.filter.day")}</span>
                {day_chip(None)}
                {days.into_iter().map(|d| day_chip(Some(d))).collect_view()}
            </div>
            <div class="filter-group" data-filter="theme">
                <span class="filter-label">{move || i18n.t("programme.filter.theme")}</span>
                {theme_chip(None)}
                {themes.into_iter().map(|t| theme_chip(Some(t))).collect_view()}
            </div>
        </nav>
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

#[component]
fn TalkCard(talk: TalkSummary) -> impl IntoView {
    view! {
        <li class="talk-card" data-talk-id=talk.id.to_string()>
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

#[component]
pub fn TalkPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let talk = Resource::new_blocking(
        move || params.read().get("id").unwrap_or_default(),
        get_talk,
    );
    view! {
        <Suspense fallback=move || view! { <p class="loading">{move || i18n.t("common.loading")}</p> }>
            {move || Suspend::new(async move {
                match talk.await {
                    Ok(detail) => view! { <TalkView detail/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TalkView(detail: TalkDetail) -> impl IntoView {
    let i18n = use_i18n();
    let TalkDetail {
        talk,
        description,
        timezone,
    } = detail;
    let title = talk.title.clone();
    let day = talk.day;
    let back = Filter {
        theme: Some(talk.theme.clone()),
        day: None,
    }
    .href();
    view! {
        <Title text=title.clone()/>
        <article class="talk-page" data-talk-id=talk.id.to_string()>
            <p class="breadcrumb"><a href="/">{move || i18n.t("talk.back")}</a></p>
            <span class="talk-theme" data-theme=talk.theme.clone()>{talk.theme.clone()}</span>
            <h1>{title}</h1>
            <dl class="talk-facts">
                <dt>{move || i18n.t("talk.when")}</dt>
                <dd>
                    {move || i18n.t_with(
                        "talk.when_value",
                        &[("date", &i18n.date_long(day)), ("start", &hm(talk.start)), ("end", &hm(talk.end)), ("tz", &timezone)],
                    )}
                </dd>
                {talk.location.clone().map(|room| view! {
                    <dt>{move || i18n.t("talk.room")}</dt>
                    <dd class="talk-room">{room}</dd>
                })}
                {talk.speaker_name.clone().map(|speaker| view! {
                    <dt>{move || i18n.t("talk.speaker")}</dt>
                    <dd class="talk-speaker">{speaker}</dd>
                })}
            </dl>
            <div class="talk-description">
                {description.split("\n\n").map(|para| view! { <p>{para.to_string()}</p> }).collect_view()}
            </div>
            <p><a class="button-secondary" href=back>{move || i18n.t_with("talk.more_in_theme", &[("theme", &talk.theme)])}</a></p>
        </article>
    }
}
