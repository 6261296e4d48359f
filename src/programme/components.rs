//! The programme's pages: `/` (the programme, filterable) and `/talks/:id` (one talk).
use super::{
    conflicts, get_my_programme, get_personal_state, get_programme, get_talk, Filter,
    PersonalState, Programme, RenewCalendarFeed, SavedTalk, SetProgrammeMail, Slot, TalkChange,
    TalkDetail, TalkSummary, ToggleTalk,
};
use crate::accounts::components::LoginRequired;
use crate::{
    ui::{ErrorNotice, Loading, NotFound},
    error::AppError,
    i18n::{page_title, use_i18n},
};
use chrono::{NaiveDate, NaiveTime};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// The reader's saved talks and passes, with the optimistic toggle shared by every star button.
#[derive(Clone, Copy)]
pub struct Personal {
    pub state: RwSignal<Option<PersonalState>>,
    pub toggle: ServerAction<ToggleTalk>,
    /// The last toggle sent (talk, saved), undone if the server refuses it.
    pending: RwSignal<Option<(Uuid, bool)>>,
    /// The talk whose change the server refused, and why.
    pub refused: RwSignal<Option<(Uuid, AppError)>>,
}

pub fn provide_personal() -> Personal {
    let state = RwSignal::new(None);
    let toggle = ServerAction::<ToggleTalk>::new();
    let personal = Personal {
        state,
        toggle,
        pending: RwSignal::new(None),
        refused: RwSignal::new(None),
    };
    let loaded = Resource::new(|| (), |_| get_personal_state());
    Effect::new(move |_| {
        if let Some(Ok(s)) = loaded.get() {
            state.set(Some(s));
        }
    });
    // Roll back an optimistic change the server refused, and say why next to the talk.
    Effect::new(move |_| {
        if let Some(Err(e)) = toggle.value().get() {
            if let Some((talk, saved)) = personal.pending.get_untracked() {
                state.update(|s| {
                    if let Some(s) = s {
                        if saved {
                            s.saved.retain(|t| *t != talk);
                        } else {
                            s.saved.push(talk);
                        }
                    }
                });
                personal.refused.set(Some((talk, e)));
            }
        }
    });
    provide_context(personal);
    personal
}

impl Personal {
    fn flip(&self, talk: Uuid, save: bool) {
        self.refused.set(None);
        self.pending.set(Some((talk, save)));
        self.state.update(|s| {
            if let Some(s) = s {
                if save {
                    s.saved.push(talk);
                } else {
                    s.saved.retain(|t| *t != talk);
                }
            }
        });
        self.toggle.dispatch(ToggleTalk {
            talk_id: talk,
            save,
        });
    }
}

/// The star of a talk: saves or removes it at once (a plain form post without JavaScript), or
/// says why it cannot be saved.
#[component]
pub fn SaveButton(talk: TalkSummary) -> impl IntoView {
    let i18n = use_i18n();
    let personal = expect_context::<Personal>();
    let id = talk.id;
    let talk = StoredValue::new(talk);
    let saved = move || {
        personal
            .state
            .with(|s| s.as_ref().is_some_and(|s| s.saved.contains(&id)))
    };
    let covered = move || {
        personal
            .state
            .with(|s| s.as_ref().is_some_and(|s| talk.with_value(|t| s.covers(t))))
    };
    let reason = move || {
        personal.state.with(|s| {
            let days = s.as_ref().map(|s| s.covered_days()).unwrap_or_default();
            let has_pass = s.as_ref().is_some_and(|s| !s.windows.is_empty());
            if days.is_empty() && has_pass {
                // Only passes with an open start or end: no list of days to show.
                i18n.t("personal.error.not_covered")
            } else if days.is_empty() {
                i18n.t("personal.locked_no_pass")
            } else {
                let list = days
                    .iter()
                    .map(|d| i18n.date_long(*d))
                    .collect::<Vec<_>>()
                    .join(", ");
                i18n.t_with("personal.locked_reason", &[("days", &list)])
            }
        })
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        personal.flip(id, !saved());
    };
    view! {
        <div class="save-area" data-save-for=id.to_string()>
            {move || match personal.state.get() {
                None => ().into_any(),
                Some(s) if !s.logged_in => view! {
                    <a class="save-login" href="/login">{move || i18n.t("personal.login_to_save")}</a>
                }.into_any(),
                Some(_) if !saved() && !covered() => view! {
                    <span class="save-locked" title=reason>{"🔒 "}{reason}</span>
                }.into_any(),
                Some(_) => view! {
                    <form method="post" action="/api/toggle_talk" class="save-form" on:submit=on_submit>
                        <input type="hidden" name="talk_id" value=id.to_string()/>
                        <input type="hidden" name="save" value=move || (!saved()).to_string()/>
                        <button type="submit" class="save-button" class:saved=saved aria-pressed=move || saved().to_string()
                            title=move || if saved() { i18n.t("personal.remove") } else { i18n.t("personal.add") }>
                            {move || if saved() { "★" } else { "☆" }}
                            <span class="save-label">{move || if saved() { i18n.t("personal.saved") } else { i18n.t("personal.add") }}</span>
                        </button>
                        {move || (saved() && !covered()).then(|| view! { <span class="save-lost">{move || i18n.t("personal.no_longer_covered")}</span> })}
                    </form>
                }.into_any(),
            }}
            {move || personal.refused.get().filter(|(t, _)| *t == id).map(|(_, e)| view! {
                <p class="field-error save-refused" role="alert">{e.message(i18n.locale.get())}</p>
            })}
        </div>
    }
}

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
fn FilterBar(
    programme: StoredValue<Programme>,
    filter: Signal<Filter>,
    #[prop(default = "/")] base: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let days = programme.with_value(|p| p.days());
    let themes = programme.with_value(|p| p.themes());
    let day_chip = move |day: Option<NaiveDate>| {
        let href = move || {
            Filter {
                day,
                ..filter.get()
            }
            .href_on(base)
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
            .href_on(base)
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

#[component]
pub fn TalkPage() -> impl IntoView {
    provide_personal();
    let params = use_params_map();
    let talk = Resource::new_blocking(
        move || params.read().get("id").unwrap_or_default(),
        get_talk,
    );
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
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
                <SaveButton talk=talk.clone()/>
                <super::workshops::WorkshopSeat talk_id=talk.id/>
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
    <TalkDescription text=description/>
                <p><a class="button-secondary" href=back>{move || i18n.t_with("talk.more_in_theme", &[("theme", &talk.theme)])}</a></p>
            </article>
        }
}

/// `/me/programme`: my talks by day, overlaps named, gaps shown, calendar export.
#[component]
pub fn MyProgrammePage() -> impl IntoView {
    let i18n = use_i18n();
    let personal = provide_personal();
    let renew = ServerAction::<RenewCalendarFeed>::new();
    let mail = ServerAction::<SetProgrammeMail>::new();
    let mine = Resource::new(
        move || {
            (
                personal.toggle.version().get(),
                renew.version().get(),
                mail.version().get(),
            )
        },
        |_| get_my_programme(),
    );
    let query = use_query_map();
    view! {
        <Title text=page_title(move || i18n.t("personal.title"))/>
        <section class="my-programme">
            <h1>{move || i18n.t("personal.title")}</h1>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match mine.await {
                        Ok(mine) => {
                            let programme = Programme {
                                event_name: String::new(),
                                timezone: String::new(),
                                talks: mine.talks.iter().map(|t| t.talk.clone()).collect(),
                            };
                            let programme = StoredValue::new(programme);
                            let parsed = Memo::new(move |_| {
                                let q = query.read();
                                programme.with_value(|p| Filter::parse(p, q.get_str("theme"), q.get_str("day")).0)
                            });
                            let filter = Signal::derive(move || parsed.get());
                            let talks = mine.talks.clone();
                            let clashes = conflicts(&talks);
                            let feed = mine.feed_url.clone();
                            view! {
                                <div class="calendar-links">
                                    <a class="button-secondary" href="/me/programme.ics" download="my-programme.ics" rel="external">{move || i18n.t("personal.download_ics")}</a>
                                    <label class="feed">{move || i18n.t("personal.subscribe")}<input type="text" readonly value=feed class="feed-url"/></label>
                                    <ActionForm action=renew attr:class="inline-form">
                                        <button type="submit" class="button-small">{move || i18n.t("personal.renew_feed")}</button>
                                    </ActionForm>
                                </div>
                                <ChangeMailSwitch action=mail on=mine.mail_changes/>
                                {if talks.is_empty() {
                                    view! { <p class="empty">{move || i18n.t("personal.empty")}" "<a href="/">{move || i18n.t("nav.programme")}</a></p> }.into_any()
                                } else {
                                    view! {
                                        <FilterBar programme filter base="/me/programme"/>
                                        <MyDays talks clashes filter=parsed/>
                                    }.into_any()
                                }}
                            }
                                .into_any()
                        }
                        Err(AppError::Unauthorized) => view! { <LoginRequired/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// "Mail me when a talk of my programme moves": on or off, a plain form that works without JavaScript.
#[component]
fn ChangeMailSwitch(action: ServerAction<SetProgrammeMail>, on: bool) -> impl IntoView {
    let i18n = use_i18n();
    let (state, button) = if on {
        ("personal.mail_changes_on", "personal.mail_changes_stop")
    } else {
        ("personal.mail_changes_off", "personal.mail_changes_start")
    };
    view! {
        <ActionForm action attr:class="inline-form change-mail">
            <input type="hidden" name="on" value=(!on).to_string()/>
            <span class="change-mail-state">{move || i18n.t(state)}</span>
            <button type="submit" class="button-small">{move || i18n.t(button)}</button>
        </ActionForm>
    }
}

/// "Moved from 10:00", "Room changed from Salle A": how a saved talk changed since I saved it.
#[component]
fn ChangeNote(change: TalkChange, day: NaiveDate) -> impl IntoView {
    let i18n = use_i18n();
    let text = move || {
        let mut parts = vec![];
        if let Some((from_day, start, end)) = change.from_time {
            let times = [("start", hm(start)), ("end", hm(end))];
            parts.push(if from_day == day {
                i18n.t_with(
                    "personal.moved_from_time",
                    &[("start", &times[0].1), ("end", &times[1].1)],
                )
            } else {
                i18n.t_with(
                    "personal.moved_from_day",
                    &[
                        ("date", &i18n.date_long(from_day)),
                        ("start", &times[0].1),
                        ("end", &times[1].1),
                    ],
                )
            });
        }
        if let Some(room) = &change.from_room {
            let room = if room.is_empty() {
                i18n.t("personal.no_room")
            } else {
                room.clone()
            };
            parts.push(i18n.t_with("personal.moved_from_room", &[("room", &room)]));
        }
        parts.join(" · ")
    };
    view! { <p class="moved-note" role="note">{text}</p> }
}

#[component]
fn MyDays(
    talks: Vec<SavedTalk>,
    clashes: Vec<(Uuid, Uuid)>,
    filter: Memo<Filter>,
) -> impl IntoView {
    let i18n = use_i18n();
    let talks = StoredValue::new(talks);
    let clashes = StoredValue::new(clashes);
    let title_of = move |id: Uuid| {
        talks.with_value(|ts| {
            ts.iter()
                .find(|t| t.talk.id == id)
                .map(|t| t.talk.title.clone())
                .unwrap_or_default()
        })
    };
    move || {
        let f = filter.get();
        let mut days: Vec<(NaiveDate, Vec<SavedTalk>)> = vec![];
        talks.with_value(|ts| {
            for t in ts.iter().filter(|t| f.keeps(&t.talk)) {
                if days.last().is_none_or(|(d, _)| *d != t.talk.day) {
                    days.push((t.talk.day, vec![]));
                }
                days.last_mut().expect("pushed").1.push(t.clone());
            }
        });
        days.into_iter()
            .map(|(day, list)| {
                // On wide screens the day is a grid: one column per room, rows of five minutes.
                let mut rooms: Vec<String> = list
                    .iter()
                    .map(|s| s.talk.location.clone().unwrap_or_default())
                    .collect();
                rooms.sort();
                rooms.dedup();
                let first = list.iter().map(|s| s.talk.start).min().unwrap_or_default();
                let row = move |t: NaiveTime| ((t - first).num_minutes().max(0) / 5) + 2;
                let column = {
                    let rooms = rooms.clone();
                    move |l: &Option<String>| {
                        let l = l.clone().unwrap_or_default();
                        rooms.iter().position(|r| *r == l).unwrap_or(0) + 1
                    }
                };
                let heads = rooms
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let name = r.clone();
                        let label = move || if name.is_empty() { i18n.t("personal.no_room") } else { name.clone() };
                        view! { <li class="room-head" aria-hidden="true" style=format!("--col: {}", i + 1)>{label}</li> }
                    })
                    .collect_view();
                let room_count = rooms.len();
                let mut previous_end: Option<NaiveTime> = None;
                let items = list
                    .into_iter()
                    .map(|saved| {
                        let t = saved.talk.clone();
                        let gap = previous_end.filter(|e| *e < t.start).map(|e| (t.start - e).num_minutes());
                        previous_end = Some(previous_end.map_or(t.end, |e| e.max(t.end)));
                        let others: Vec<String> = clashes.with_value(|c| {
                            c.iter()
                                .filter_map(|(a, b)| if *a == t.id { Some(*b) } else if *b == t.id { Some(*a) } else { None })
                                .map(title_of)
                                .collect()
                        });
                        let conflict = (!others.is_empty()).then(|| others.join(" · "));
                        let has_conflict = conflict.is_some();
                        let end_row = if t.end > t.start { row(t.end) } else { row(t.start) + 9 };
                        let place = format!("--col: {}; --row-start: {}; --row-end: {}", column(&t.location), row(t.start), end_row.max(row(t.start) + 1));
                        let moved = saved.change.clone().map(|change| view! { <ChangeNote change day=t.day/> });
                        let is_moved = saved.change.is_some();
                        view! {
                            {gap.map(|m| view! { <li class="gap">{move || i18n.t_with("personal.gap", &[("minutes", &m.to_string())])}</li> })}
                            <li class="my-talk" class:conflict=has_conflict class:locked=!saved.covered class:moved=is_moved data-talk-id=t.id.to_string() style=place>
                                <span class="my-time">{hm(t.start)}" – "{hm(t.end)}</span>
                                <a class="my-title" href=format!("/talks/{}", t.id)>{t.title.clone()}</a>
                                <span class="talk-meta">{t.location.clone()}</span>
                                {conflict.map(|names| view! { <p class="conflict-note">{move || i18n.t_with("personal.conflict", &[("with", &names)])}</p> })}
                                {moved}
                                {(!saved.covered).then(|| view! { <p class="save-lost">{move || i18n.t("personal.no_longer_covered")}</p> })}
                                <SaveButton talk=t.clone()/>
                                <super::workshops::WorkshopSeat talk_id=t.id/>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <section class="day my-day">
                        <h2 class="day-title">{move || i18n.date_long(day)}</h2>
                        <ul class="my-talks by-room" style=format!("--rooms: {room_count}")>{heads}{items}</ul>
                    </section>
                }
            })
            .collect_view()
    }
}

/// A talk's description as attendees read it: paragraphs split on blank lines. The admin's
/// description editor previews with the same component.
#[component]
pub fn TalkDescription(#[prop(into)] text: Signal<String>) -> impl IntoView {
    view! {
        <div class="talk-description">
            {move || text.get().split("\n\n").filter(|p| !p.trim().is_empty()).map(|para| view! { <p>{para.to_string()}</p> }).collect_view()}
        </div>
    }
}
