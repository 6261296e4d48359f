//! Reading a schedule file (pretalx's or Tessera's `schedule.json`, or a frab/pretalx
//! `schedule.xml`) into the talks it lists. Nothing is written here: a file is read whole or
//! refused, and a refusal names where (`line 12, column 5`; `event 3 (« Keynote »): date`).
use crate::error::AppError;
use crate::programme::{changes::Placement, service::TalkFields};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// The largest file read (bytes), and the most talks in one.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_TALKS: usize = 5_000;
/// The longest texts kept (characters): title, track, room, speakers, description.
const MAX_TITLE: usize = 300;
const MAX_LINE: usize = 200;
const MAX_DESCRIPTION: usize = 20_000;

/// A talk as the file lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceTalk {
    pub guid: Uuid,
    pub language: Option<String>,
    pub talk: TalkFields,
}

/// A refusal of the file, on the form's `file` field, naming `args` (a line, a talk, a limit).
fn refused(key: &str, args: &[(&str, String)]) -> AppError {
    let args: Vec<(&str, String)> = args
        .iter()
        .map(|(k, v)| (*k, v.chars().take(80).collect()))
        .collect();
    AppError::invalid_with("file", &format!("schedule.import.error.{key}"), &args)
}

/// Where an event is in its file: a JSON day and room, or an XML line.
enum Place {
    Json { day: usize, room: String },
    Xml { line: u32 },
}

impl Place {
    /// The refusal of the `n`th event (from 1) of the file on `field`.
    fn refuse(&self, n: usize, field: &str) -> AppError {
        let (event, field) = (n.to_string(), field.to_string());
        match self {
            Place::Json { day, room } => refused(
                "event_json",
                &[
                    ("day", day.to_string()),
                    ("room", room.clone()),
                    ("event", event),
                    ("field", field),
                ],
            ),
            Place::Xml { line } => refused(
                "event_xml",
                &[
                    ("line", line.to_string()),
                    ("event", event),
                    ("field", field),
                ],
            ),
        }
    }
}

/// An event as either format gives it (texts as found; `None`: absent or empty): the JSON's
/// event as it is, the XML's element read into it.
#[derive(Default, Deserialize)]
struct RawEvent {
    guid: Option<String>,
    title: Option<String>,
    date: Option<String>,
    end: Option<String>,
    duration: Option<String>,
    room: Option<String>,
    track: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    language: Option<String>,
    #[serde(rename = "abstract")]
    abstract_: Option<String>,
    description: Option<String>,
    /// The speakers' names (pretalx: `name`; frab: `public_name`).
    #[serde(default, deserialize_with = "person_names")]
    persons: Vec<String>,
}

fn person_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Person {
        name: Option<String>,
        public_name: Option<String>,
        full_public_name: Option<String>,
    }
    let persons: Option<Vec<Person>> = Option::deserialize(d)?;
    Ok(persons
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.public_name.or(p.name).or(p.full_public_name))
        .collect())
}

/// Reads a schedule file: JSON when it starts with `{`, XML when with `<`.
pub fn parse(text: &str, zone: chrono_tz::Tz) -> Result<Vec<SourceTalk>, AppError> {
    if text.len() > MAX_BYTES {
        return Err(refused(
            "too_large",
            &[("max", format!("{} MB", MAX_BYTES / 1024 / 1024))],
        ));
    }
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let (events, three_parts_are_days) = match text.chars().next() {
        Some('{') => (json_events(text)?, true),
        Some('<') => (xml_events(text)?, false),
        _ => return Err(refused("format", &[])),
    };
    if events.len() > MAX_TALKS {
        return Err(refused("too_many", &[("max", MAX_TALKS.to_string())]));
    }
    let mut seen = HashSet::new();
    let mut talks = Vec::with_capacity(events.len());
    for (n, (place, e)) in events.into_iter().enumerate() {
        let talk =
            talk(e, zone, three_parts_are_days).map_err(|field| place.refuse(n + 1, field))?;
        if !seen.insert(talk.guid) {
            return Err(place.refuse(n + 1, "guid"));
        }
        talks.push(talk);
    }
    Ok(talks)
}

/// One event checked: the name of its first bad field otherwise.
fn talk(
    e: RawEvent,
    zone: chrono_tz::Tz,
    three_parts_are_days: bool,
) -> Result<SourceTalk, &'static str> {
    let guid = e
        .guid
        .as_deref()
        .and_then(|g| Uuid::parse_str(g.trim()).ok())
        .filter(|g| !g.is_nil())
        .ok_or("guid")?;
    let title = text(e.title, MAX_TITLE)
        .filter(|t| !t.is_empty())
        .ok_or("title")?;
    // A conference of this century: a year typo (0000, 9999) is refused, not exported.
    let plausible = |t: &DateTime<Utc>| (2000..2100).contains(&t.year());
    let start_at = e
        .date
        .as_deref()
        .and_then(|d| instant(d, zone))
        .filter(plausible)
        .ok_or("date")?;
    let end_at = match e
        .end
        .as_deref()
        .and_then(|d| instant(d, zone))
        .filter(plausible)
    {
        Some(end) => end,
        None => {
            let d = e
                .duration
                .as_deref()
                .and_then(|d| duration(d, three_parts_are_days))
                .ok_or("duration")?;
            start_at.checked_add_signed(d).ok_or("duration")?
        }
    };
    if end_at <= start_at || end_at - start_at > Duration::days(31) {
        return Err("duration");
    }
    let abstract_ = paragraphs(e.abstract_, MAX_DESCRIPTION).unwrap_or_default();
    let more = paragraphs(e.description, MAX_DESCRIPTION).unwrap_or_default();
    let description = match (abstract_.is_empty(), more.is_empty() || more == abstract_) {
        (_, true) => abstract_,
        (true, false) => more,
        (false, false) => format!("{abstract_}\n\n{more}"),
    };
    if description.chars().count() > MAX_DESCRIPTION {
        return Err("description");
    }
    let persons: Vec<String> = e
        .persons
        .into_iter()
        .filter_map(|p| text(Some(p), MAX_LINE))
        .collect();
    let speaker_name = Some(persons.join(", ")).filter(|s| !s.is_empty());
    if speaker_name
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_LINE)
    {
        return Err("persons");
    }
    let theme = text(e.track, MAX_LINE)
        .or_else(|| text(e.kind, MAX_LINE))
        .unwrap_or_else(|| "—".into());
    let language = text(e.language, 10)
        .filter(|l| l.len() >= 2 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let location = text(e.room, MAX_LINE).filter(|r| !is_no_room(r));
    let place = Placement {
        start_at,
        end_at,
        location,
    };
    let talk = TalkFields {
        title,
        description,
        theme,
        speaker_name,
        place,
    };
    Ok(SourceTalk {
        guid,
        language,
        talk,
    })
}

/// The room the export gives talks without one ("to be announced", in either language).
fn is_no_room(room: &str) -> bool {
    crate::i18n::LOCALES
        .iter()
        .any(|l| crate::i18n::tr(*l, "personal.no_room") == room)
}

/// A one-line text made printable (`text::clean_line`), `None` when empty or over `max`
/// characters (the caller names the field).
fn text(s: Option<String>, max: usize) -> Option<String> {
    let t = crate::text::clean_line(&s?);
    (!t.is_empty() && t.chars().count() <= max).then_some(t)
}

/// A text of several lines: each line made printable, at most one blank line in a row.
fn paragraphs(s: Option<String>, max: usize) -> Option<String> {
    let s = s?;
    let lines: Vec<String> = s.lines().map(crate::text::clean_line).collect();
    let mut out = String::new();
    for line in lines.iter().skip_while(|l| l.is_empty()) {
        if line.is_empty() && (out.is_empty() || out.ends_with("\n\n")) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    let out = out.trim_end().to_string();
    (!out.is_empty() && out.chars().count() <= max).then_some(out)
}

/// A date-time with its offset, or without one in the conference's zone.
fn instant(s: &str, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// `H:MM`, `HH:MM:SS` (frab), or `D:HH:MM` (pretalx, 24 hours or more).
fn duration(s: &str, three_parts_are_days: bool) -> Option<Duration> {
    let parts: Vec<i64> = s
        .trim()
        .split(':')
        .map(|p| {
            let digits = !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| p.parse::<i64>().ok()).flatten()
        })
        .collect::<Option<_>>()?;
    let minutes = match parts.as_slice() {
        [h, m] => h * 60 + m,
        [d, h, m] if three_parts_are_days => d * 1440 + h * 60 + m,
        [h, m, s] => h * 60 + m + i64::from(*s > 0),
        _ => return None,
    };
    (minutes > 0).then(|| Duration::minutes(minutes))
}

// ---- JSON ----

#[derive(Deserialize)]
struct JsonDoc {
    schedule: JsonSchedule,
}

#[derive(Deserialize)]
struct JsonSchedule {
    conference: JsonConference,
}

#[derive(Deserialize)]
struct JsonConference {
    #[serde(default)]
    days: Vec<JsonDay>,
}

#[derive(Deserialize)]
struct JsonDay {
    #[serde(default)]
    rooms: BTreeMap<String, Vec<RawEvent>>,
}

fn json_events(text: &str) -> Result<Vec<(Place, RawEvent)>, AppError> {
    let doc: JsonDoc = serde_json::from_str(text).map_err(|e| {
        let what = e.to_string();
        let what = what.split(" at line ").next().unwrap_or("").to_string();
        let (line, column) = (e.line().to_string(), e.column().to_string());
        refused(
            "json",
            &[("line", line), ("column", column), ("detail", what)],
        )
    })?;
    let mut out = vec![];
    for (d, day) in doc.schedule.conference.days.into_iter().enumerate() {
        for (room, events) in day.rooms {
            for mut e in events {
                e.room = e.room.or_else(|| Some(room.clone()));
                let place = Place::Json {
                    day: d + 1,
                    room: room.chars().take(40).collect(),
                };
                out.push((place, e));
                if out.len() > MAX_TALKS {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

// ---- XML ----

/// The deepest XML nesting read: schedules nest five levels; the parser recurses per level, and a
/// file of a million nested elements would overflow the stack.
const MAX_DEPTH: usize = 32;

/// Whether `text`'s elements nest deeper than [`MAX_DEPTH`] (a scan of its tags, before parsing:
/// comments, declarations and quoted attribute values are skipped).
fn too_deep(text: &str) -> bool {
    let (bytes, mut depth, mut i) = (text.as_bytes(), 0usize, 0);
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'<') {
        i += at + 1;
        match bytes.get(i) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(b'!' | b'?') => {}
            Some(_) => {
                let mut quote = None;
                let mut j = i;
                while let Some(&b) = bytes.get(j) {
                    match (quote, b) {
                        (None, b'"' | b'\'') => quote = Some(b),
                        (Some(q), b) if b == q => quote = None,
                        (None, b'>') => break,
                        _ => {}
                    }
                    j += 1;
                }
                if bytes.get(j.wrapping_sub(1)) != Some(&b'/') {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return true;
                    }
                }
                i = j;
            }
            None => break,
        }
    }
    false
}

fn xml_events(text: &str) -> Result<Vec<(Place, RawEvent)>, AppError> {
    if too_deep(text) {
        return Err(refused("too_deep", &[("max", MAX_DEPTH.to_string())]));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        refused(
            "xml",
            &[
                ("line", pos.row.to_string()),
                ("column", pos.col.to_string()),
            ],
        )
    })?;
    if doc.root_element().tag_name().name() != "schedule" {
        return Err(refused("format", &[]));
    }
    let mut out = vec![];
    for event in doc.descendants().filter(|n| n.has_tag_name("event")) {
        let child = |name: &str| {
            event
                .children()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .map(str::to_string)
                .filter(|t| !t.trim().is_empty())
        };
        let persons = event
            .children()
            .filter(|c| c.has_tag_name("persons"))
            .flat_map(|p| p.children().filter(|c| c.has_tag_name("person")))
            .filter_map(|p| p.text().map(str::to_string))
            .collect();
        let line = doc.text_pos_at(event.range().start).row;
        out.push((
            Place::Xml { line },
            RawEvent {
                guid: event.attribute("guid").map(str::to_string),
                title: child("title"),
                date: child("date"),
                end: None,
                duration: child("duration"),
                room: child("room").or_else(|| {
                    event
                        .parent()
                        .and_then(|r| r.attribute("name"))
                        .map(str::to_string)
                }),
                track: child("track"),
                kind: child("type"),
                language: child("language"),
                abstract_: child("abstract"),
                description: child("description"),
                persons,
            },
        ));
        if out.len() > MAX_TALKS {
            break;
        }
    }
    Ok(out)
}
