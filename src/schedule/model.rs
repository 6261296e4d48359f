//! The programme as the schedule formats see it: the conference (acronym, days, rooms, tracks) and
//! each talk as an event (stable GUID, numeric id, slug, local date and time, duration, persons).
//! `json.rs` and `xml.rs` write it out; both read the same `Schedule`.
use crate::i18n::Locale;
use crate::programme::service::TalkFields;
use crate::server::prelude::*;
use chrono::{Duration, NaiveDate, TimeZone};

/// A talk as read for the export.
#[derive(sqlx::FromRow)]
pub struct TalkRow {
    pub id: Uuid,
    pub guid: Option<Uuid>,
    pub language: Option<String>,
    pub workshop: bool,
    #[sqlx(flatten)]
    pub talk: TalkFields,
}

/// One talk as an event of the schedule.
pub struct Event {
    pub guid: Uuid,
    pub id: u32,
    pub slug: String,
    pub url: String,
    pub title: String,
    pub abstract_: String,
    pub track: String,
    pub kind: &'static str,
    pub language: String,
    pub room: String,
    /// Local date and time with the conference's offset (`2027-06-10T09:30:00+02:00`).
    pub date: String,
    pub end: String,
    /// `HH:MM` in the conference's time zone.
    pub start: String,
    /// `H:MM` (hours may pass 24).
    pub duration: String,
    pub persons: Vec<(Uuid, String)>,
}

/// A conference day: its index (from 1), date, bounds, and its events by room (in room order).
pub struct Day {
    pub index: usize,
    pub date: NaiveDate,
    pub start: String,
    pub end: String,
    pub rooms: Vec<(String, Vec<Event>)>,
}

pub struct Schedule {
    /// The programme's revision: the schedule's version.
    pub version: String,
    pub title: String,
    pub acronym: String,
    pub base_url: String,
    pub time_zone: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub days: Vec<Day>,
    /// Every room with its GUID, in name order.
    pub rooms: Vec<(String, Uuid)>,
    pub tracks: Vec<String>,
}

/// The namespace of the GUIDs made here from names (rooms, persons).
const NAMES: Uuid = Uuid::from_u128(0x6b1c_1b8e_5f0c_4f3a_9d2e_7a51_0c3d_2e11);

/// A stable GUID for a name (a room, a person), the same in every export.
pub fn name_guid(kind: &str, name: &str) -> Uuid {
    Uuid::new_v5(&NAMES, format!("{kind}:{name}").as_bytes())
}

/// The talks, in time then room order.
pub async fn talks(db: &Db) -> Result<Vec<TalkRow>, AppError> {
    let rows: Vec<TalkRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT c.id, c.guid, c.language, (w.talk_id IS NOT NULL) AS workshop, c.title, c.description, c.theme, \
         c.start_at, c.end_at, c.speaker_name, c.location FROM conferences c LEFT JOIN workshops w ON w.talk_id = c.id \
         ORDER BY c.start_at, c.location, c.title, c.id").fetch_all(pool).await)?;
    Ok(rows)
}

/// A letter or digit of a name as ASCII lower case (accents dropped), `None` for the rest.
fn fold(c: char) -> Option<char> {
    let c = c.to_lowercase().next().unwrap_or(c);
    match c {
        'a'..='z' | '0'..='9' | '_' => Some(c),
        'à' | 'â' | 'ä' => Some('a'),
        'é' | 'è' | 'ê' | 'ë' => Some('e'),
        'î' | 'ï' => Some('i'),
        'ô' | 'ö' => Some('o'),
        'ù' | 'û' | 'ü' => Some('u'),
        'ç' => Some('c'),
        _ => None,
    }
}

/// The conference's acronym: its name in lower-case letters, digits and `_` (at least four).
pub fn acronym(event_name: &str) -> String {
    let mut a: String = event_name.chars().filter_map(fold).take(40).collect();
    while a.len() < 4 {
        a.push('_');
    }
    a
}

/// `{acronym}-{id}-{title}`: lower case, `[a-z0-9_-]`, ending in a letter or digit.
fn slug(acronym: &str, id: u32, title: &str) -> String {
    let mut words = String::new();
    for c in title.chars().map(|c| fold(c).unwrap_or('-')) {
        if c == '-' && (words.is_empty() || words.ends_with('-')) {
            continue;
        }
        words.push(c);
        if words.len() >= 50 {
            break;
        }
    }
    let words = words.trim_end_matches(['-', '_']);
    let words = if words.len() < 4 { "talk" } else { words };
    format!("{acronym}-{id}-{words}")
}

/// A number for each GUID, unique in the export and the same from one export to the next while
/// the talks stay (formats that want an integer id besides the GUID).
fn numbers(guids: &[Uuid]) -> Vec<u32> {
    let mut taken = std::collections::HashSet::new();
    let mut sorted: Vec<(usize, Uuid)> = guids.iter().copied().enumerate().collect();
    sorted.sort_by_key(|(_, g)| *g);
    let mut out = vec![0; guids.len()];
    for (i, g) in sorted {
        let bytes = g.as_bytes();
        let mut n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) % 999_983 + 1;
        while !taken.insert(n) {
            n = n % 999_983 + 1;
        }
        out[i] = n;
    }
    out
}

/// `H:MM` of a duration (at least one minute).
fn hours_minutes(d: Duration) -> String {
    let minutes = d.num_minutes().max(1);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The schedule of `talks` (as [`talks`] reads them) at programme revision `revision`.
pub fn schedule(config: &Config, revision: i64, talks: Vec<TalkRow>) -> Schedule {
    let tz = config.timezone;
    let acronym = acronym(&config.event_name);
    let base = config.base_url.trim_end_matches('/').to_string();
    let no_room = crate::i18n::tr(Locale::default(), "personal.no_room");
    let guids: Vec<Uuid> = talks.iter().map(|t| t.guid.unwrap_or(t.id)).collect();
    let numbers = numbers(&guids);
    let local = |t: DateTime<Utc>| t.with_timezone(&tz);
    // The days that have talks (every talk is on one of them), or today for an empty programme.
    let mut dates: Vec<NaiveDate> = talks
        .iter()
        .map(|t| local(t.talk.place.start_at).date_naive())
        .collect();
    dates.dedup();
    dates.sort();
    dates.dedup();
    if dates.is_empty() {
        dates.push(local(now()).date_naive());
    }
    let (start, end) = (dates[0], dates[dates.len() - 1]);
    let mut days: Vec<Day> = dates
        .into_iter()
        .enumerate()
        .map(|(i, date)| {
            let at = |h, m, s| {
                let naive = date.and_hms_opt(h, m, s).unwrap_or_default();
                tz.from_local_datetime(&naive)
                    .earliest()
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            };
            Day {
                index: i + 1,
                date,
                start: at(0, 0, 0),
                end: at(23, 59, 59),
                rooms: vec![],
            }
        })
        .collect();
    let mut rooms: Vec<(String, Uuid)> = vec![];
    let mut tracks: Vec<String> = vec![];
    for ((row, guid), id) in talks.into_iter().zip(guids).zip(numbers) {
        let talk = row.talk;
        let room = talk
            .place
            .location
            .clone()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| no_room.clone());
        if !rooms.iter().any(|(r, _)| *r == room) {
            rooms.push((room.clone(), name_guid("room", &room)));
        }
        if !tracks.contains(&talk.theme) {
            tracks.push(talk.theme.clone());
        }
        let (begin, finish) = (local(talk.place.start_at), local(talk.place.end_at));
        let persons = talk
            .speaker_name
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| (name_guid("person", p), p.to_string()))
            .collect();
        let event = Event {
            guid,
            id,
            slug: slug(&acronym, id, &talk.title),
            url: format!("{base}/talks/{}", row.id),
            abstract_: talk.description,
            track: talk.theme,
            kind: if row.workshop { "workshop" } else { "talk" },
            language: row
                .language
                .unwrap_or_else(|| Locale::default().code().to_string()),
            room: room.clone(),
            date: begin.to_rfc3339(),
            end: finish.to_rfc3339(),
            start: begin.format("%H:%M").to_string(),
            duration: hours_minutes(talk.place.end_at - talk.place.start_at),
            persons,
            title: talk.title,
        };
        let Some(day) = days.iter_mut().find(|d| d.date == begin.date_naive()) else {
            continue;
        };
        match day.rooms.iter_mut().find(|(r, _)| *r == room) {
            Some((_, events)) => events.push(event),
            None => day.rooms.push((room, vec![event])),
        }
    }
    rooms.sort();
    tracks.sort();
    for day in &mut days {
        day.rooms.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Schedule {
        version: format!("r{revision}"),
        title: config.event_name.clone(),
        acronym,
        base_url: format!("{base}/"),
        time_zone: tz.name().to_string(),
        start,
        end,
        days,
        rooms,
        tracks,
    }
}
