//! Pieces the programme's pages share: the reader's saved talks (`Personal`) and the star that
//! saves a talk (`SaveButton`), the filter bar, the time format.
use super::{get_personal_state, Filter, PersonalState, Programme, TalkSummary, ToggleTalk};
use crate::ui::prelude::*;
use chrono::{NaiveDate, NaiveTime};
use uuid::Uuid;

pub(crate) fn hm(t: NaiveTime) -> String {
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
pub(crate) fn FilterBar(
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
