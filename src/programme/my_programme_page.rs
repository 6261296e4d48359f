//! `/me/programme`: my saved talks by day, overlaps named, gaps shown, calendar export.
use super::widgets::{hm, provide_personal, FilterBar, SaveButton};
use super::{
    conflicts, get_my_programme, Filter, Programme, RenewCalendarFeed, SavedTalk, SetProgrammeMail,
    TalkChange,
};
use crate::ui::prelude::*;
use chrono::{NaiveDate, NaiveTime};
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

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
        <PageSection title="personal.title" class="my-programme">
            {loaded(mine, move |mine| {
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
            })}
        </PageSection>
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
