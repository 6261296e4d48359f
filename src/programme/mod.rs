//! The public programme: the conference's talks (the seed's `conferences` table), by day and time,
//! filterable by theme and day. Pages: `programme_page`, `talk_page`, `my_programme_page` (with
//! `widgets` they share); `personal` (saved talks, calendar), `changes`, `workshops`.
#[cfg(feature = "ssr")]
pub mod calendar;
#[cfg(feature = "ssr")]
pub mod changes;
pub mod my_programme_page;
#[cfg(feature = "ssr")]
pub mod personal;
pub mod programme_page;
#[cfg(feature = "ssr")]
pub mod service;
pub mod talk_page;
pub mod widgets;
pub mod workshops;

use crate::error::AppError;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A talk as the programme lists it, times already in the conference's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkSummary {
    pub id: Uuid,
    pub title: String,
    pub theme: String,
    pub speaker_name: Option<String>,
    pub location: Option<String>,
    pub day: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkDetail {
    pub talk: TalkSummary,
    pub description: String,
    pub timezone: String,
}

/// The whole public programme, sorted by start time then room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    pub event_name: String,
    pub timezone: String,
    pub talks: Vec<TalkSummary>,
}

impl Programme {
    /// The themes in alphabetical order (French collation is close enough to byte order after
    /// folding the few accented capitals we meet).
    pub fn themes(&self) -> Vec<String> {
        let mut themes: Vec<String> = self.talks.iter().map(|t| t.theme.clone()).collect();
        themes.sort_by_key(|t| sort_key(t));
        themes.dedup();
        themes
    }

    pub fn days(&self) -> Vec<NaiveDate> {
        let mut days: Vec<NaiveDate> = self.talks.iter().map(|t| t.day).collect();
        days.sort();
        days.dedup();
        days
    }

    /// The talks a filter keeps, grouped by day then by time slot (start, end).
    pub fn grouped(&self, filter: &Filter) -> Vec<(NaiveDate, Vec<Slot>)> {
        let mut out: Vec<(NaiveDate, Vec<Slot>)> = vec![];
        for talk in self.talks.iter().filter(|t| filter.keeps(t)) {
            if out.last().is_none_or(|(d, _)| *d != talk.day) {
                out.push((talk.day, vec![]));
            }
            let slots = &mut out.last_mut().expect("pushed above").1;
            match slots.last_mut() {
                Some(slot) if slot.start == talk.start && slot.end == talk.end => {
                    slot.talks.push(talk.clone())
                }
                _ => slots.push(Slot {
                    start: talk.start,
                    end: talk.end,
                    talks: vec![talk.clone()],
                }),
            }
        }
        out
    }
}

fn sort_key(s: &str) -> String {
    s.to_lowercase()
        .replace(['é', 'è', 'ê', 'ë'], "e")
        .replace(['à', 'â'], "a")
        .replace(['î', 'ï'], "i")
        .replace(['ô', 'ö'], "o")
        .replace(['ù', 'û', 'ü'], "u")
        .replace('ç', "c")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub talks: Vec<TalkSummary>,
}

/// The programme filter, as the URL carries it: `?theme=Tech&day=2027-06-10`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub theme: Option<String>,
    pub day: Option<NaiveDate>,
}

/// What was wrong with a filter taken from the URL (each one a translation key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterNotice {
    UnknownTheme,
    UnknownDay,
}

impl FilterNotice {
    pub fn message_key(self) -> &'static str {
        match self {
            FilterNotice::UnknownTheme => "programme.notice.unknown_theme",
            FilterNotice::UnknownDay => "programme.notice.unknown_day",
        }
    }
}

impl Filter {
    /// Parses the URL's parameters against the programme: a theme or day that the programme does
    /// not have is dropped (the view then shows everything) and reported as a notice.
    pub fn parse(
        programme: &Programme,
        theme: Option<&str>,
        day: Option<&str>,
    ) -> (Filter, Vec<FilterNotice>) {
        let mut notices = vec![];
        let theme = theme.filter(|t| !t.trim().is_empty()).and_then(|t| {
            let known = programme.talks.iter().any(|talk| talk.theme == t);
            if !known {
                notices.push(FilterNotice::UnknownTheme);
            }
            known.then(|| t.to_string())
        });
        let day = day.filter(|d| !d.trim().is_empty()).and_then(|d| {
            let parsed =
                crate::dates::parse_day(d).filter(|d| programme.talks.iter().any(|t| t.day == *d));
            if parsed.is_none() {
                notices.push(FilterNotice::UnknownDay);
            }
            parsed
        });
        (Filter { theme, day }, notices)
    }

    pub fn keeps(&self, talk: &TalkSummary) -> bool {
        self.theme.as_ref().is_none_or(|t| *t == talk.theme)
            && self.day.is_none_or(|d| d == talk.day)
    }

    /// The URL of the programme with this filter (`/` when empty).
    pub fn href(&self) -> String {
        self.href_on("/")
    }

    /// The URL of `base` (a page listing talks) with this filter.
    pub fn href_on(&self, base: &str) -> String {
        let mut params = vec![];
        if let Some(t) = &self.theme {
            params.push(format!("theme={}", crate::ui::encode_query(t)));
        }
        if let Some(d) = self.day {
            params.push(format!("day={}", d.format("%Y-%m-%d")));
        }
        if params.is_empty() {
            base.into()
        } else {
            format!("{base}?{}", params.join("&"))
        }
    }
}

/// What the programme needs to mark talks for the reader: saved ones and their passes' windows
/// (local times of the conference).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalState {
    pub logged_in: bool,
    pub saved: Vec<Uuid>,
    /// `None` is an open side of a window (a pass without a start or an end), never a sentinel.
    pub windows: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)>,
}

/// Whether `[start, end]` lies wholly inside one of `windows` (a pass's access); `None` is an open
/// side. In UTC on the server, in conference time in the browser.
pub fn within_a_window<T: PartialOrd + Copy>(
    windows: &[(Option<T>, Option<T>)],
    start: T,
    end: T,
) -> bool {
    windows.iter().any(|(from, until)| {
        from.is_none_or(|from| from <= start) && until.is_none_or(|until| end <= until)
    })
}

impl PersonalState {
    /// Whether one of the reader's passes covers the whole talk.
    pub fn covers(&self, talk: &TalkSummary) -> bool {
        let start = talk.day.and_time(talk.start);
        let end_day = if talk.end < talk.start {
            talk.day.succ_opt().unwrap_or(talk.day)
        } else {
            talk.day
        };
        let end = end_day.and_time(talk.end);
        within_a_window(&self.windows, start, end)
    }

    /// The days the reader's passes with a start and an end cover, to explain a locked talk (at
    /// most 60; an open window has no list of days).
    pub fn covered_days(&self) -> Vec<NaiveDate> {
        let mut days = vec![];
        for (from, until) in &self.windows {
            let (Some(from), Some(until)) = (from, until) else {
                continue;
            };
            let mut d = from.date();
            while d <= until.date() && days.len() < 60 {
                if !days.contains(&d) {
                    days.push(d);
                }
                let Some(next) = d.succ_opt() else { break };
                d = next;
            }
        }
        days.sort();
        days
    }
}

/// How a saved talk changed since the reader saved it, in local time: only what differs now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkChange {
    /// The day, start and end it had (when its time changed).
    pub from_time: Option<(NaiveDate, NaiveTime, NaiveTime)>,
    /// The room it had (when its room changed; empty when it had none).
    pub from_room: Option<String>,
}

/// A talk of my programme; `covered` is false once no valid pass covers it any more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedTalk {
    pub talk: TalkSummary,
    pub covered: bool,
    pub change: Option<TalkChange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyProgramme {
    pub talks: Vec<SavedTalk>,
    pub feed_url: String,
    /// Whether I asked to be mailed when a talk I saved moves.
    pub mail_changes: bool,
}

/// Two saved talks of one day that overlap in time.
pub fn conflicts(talks: &[SavedTalk]) -> Vec<(Uuid, Uuid)> {
    let mut out = vec![];
    for (i, a) in talks.iter().enumerate() {
        for b in &talks[i + 1..] {
            let (a, b) = (&a.talk, &b.talk);
            if a.day == b.day && a.start < b.end && b.start < a.end {
                out.push((a.id, b.id));
            }
        }
    }
    out
}

#[server(prefix = "/api", endpoint = "personal_state")]
pub async fn get_personal_state() -> Result<PersonalState, AppError> {
    let state = crate::server::state()?;
    match crate::accounts::session::current_user().await? {
        Some((user, _)) => personal::state(&state.db, &state.config, user.id).await,
        None => Ok(PersonalState::default()),
    }
}

/// Saves (`save=true`) or removes a talk from my programme.
#[server(prefix = "/api", endpoint = "toggle_talk")]
pub async fn toggle_talk(talk_id: Uuid, save: bool) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    if save {
        personal::add(&state.db, user.id, talk_id).await
    } else {
        personal::remove(&state.db, user.id, talk_id).await
    }
}

#[server(prefix = "/api", endpoint = "my_programme")]
pub async fn get_my_programme() -> Result<MyProgramme, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    Ok(MyProgramme {
        talks: personal::saved_talks(&state.db, &state.config, user.id).await?,
        feed_url: personal::feed_url(&state.db, &state.config, user.id).await?,
        mail_changes: changes::mail_on(&state.db, user.id).await?,
    })
}

/// Turns on or off the mail about changes to the talks I saved.
#[server(prefix = "/api", endpoint = "programme_mail")]
pub async fn set_programme_mail(on: bool) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    changes::set_mail(&state.db, user.id, on).await
}

/// Revokes my calendar subscription URL and makes a new one.
#[server(prefix = "/api", endpoint = "renew_calendar_feed")]
pub async fn renew_calendar_feed() -> Result<String, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    personal::renew_feed(&state.db, &state.config, user.id).await
}

/// (talk, number of attendees who saved it).
pub type TalkInterest = Vec<(Uuid, i64)>;

/// How many attendees saved each talk, in one grouped query: for admins (room planning), and for
/// everyone only when `SHOW_INTEREST_COUNTS` is on. Others get nothing (`None`): the programme page
/// asks for every reader, so a refusal here is not an error.
#[server(prefix = "/api", endpoint = "interest_counts")]
pub async fn interest_counts() -> Result<Option<TalkInterest>, AppError> {
    let state = crate::server::state()?;
    let is_admin = crate::accounts::session::current_user()
        .await?
        .is_some_and(|(u, _)| u.role == crate::accounts::Role::Admin);
    if !(is_admin || state.config.show_interest_counts) {
        return Ok(None);
    }
    personal::interest_counts(&state.db).await.map(Some)
}

#[server(prefix = "/api", endpoint = "programme")]
pub async fn get_programme() -> Result<Programme, AppError> {
    let state = crate::server::state()?;
    service::programme(&state.db, &state.config).await
}

#[server(prefix = "/api", endpoint = "talk")]
pub async fn get_talk(id: String) -> Result<TalkDetail, AppError> {
    let state = crate::server::state()?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    service::talk(&state.db, &state.config, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(theme: &str, day: u32, h: u32) -> TalkSummary {
        TalkSummary {
            id: Uuid::nil(),
            title: format!("{theme} {day} {h}"),
            theme: theme.into(),
            speaker_name: None,
            location: None,
            day: NaiveDate::from_ymd_opt(2027, 6, day).unwrap(),
            start: NaiveTime::from_hms_opt(h, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(h + 1, 0, 0).unwrap(),
        }
    }

    fn programme() -> Programme {
        Programme {
            event_name: "x".into(),
            timezone: "Europe/Paris".into(),
            talks: vec![
                talk("Tech", 10, 9),
                talk("Écologie", 10, 9),
                talk("Tech", 11, 10),
                talk("Société", 11, 14),
            ],
        }
    }

    #[test]
    fn malformed_or_unknown_filters_fall_back_to_everything_with_a_notice() {
        let p = programme();
        let (f, n) = Filter::parse(&p, Some("Astrologie"), Some("banana"));
        assert_eq!(f, Filter::default());
        assert_eq!(
            n,
            vec![FilterNotice::UnknownTheme, FilterNotice::UnknownDay]
        );
        let (f, n) = Filter::parse(&p, Some("Tech"), Some("2027-06-12"));
        assert_eq!(f.theme.as_deref(), Some("Tech"));
        assert_eq!(f.day, None);
        assert_eq!(n, vec![FilterNotice::UnknownDay]);
    }

    #[test]
    fn grouping_puts_parallel_talks_in_one_slot() {
        let p = programme();
        let g = p.grouped(&Filter::default());
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].1.len(), 1);
        assert_eq!(g[0].1[0].talks.len(), 2);
        let (f, _) = Filter::parse(&p, Some("Tech"), None);
        let g = p.grouped(&f);
        assert_eq!(g.iter().map(|(_, s)| s.len()).sum::<usize>(), 2);
        assert_eq!(p.themes(), vec!["Écologie", "Société", "Tech"]);
    }

    #[test]
    fn filter_urls_are_encoded() {
        let f = Filter {
            theme: Some("Écologie & co".into()),
            day: NaiveDate::from_ymd_opt(2027, 6, 10),
        };
        assert_eq!(f.href(), "/?theme=%C3%89cologie%20%26%20co&day=2027-06-10");
        assert_eq!(Filter::default().href(), "/");
    }
}
