//! `/schedule.json`: the schedule in the c3voc JSON format (the one pretalx exports, that schedule
//! apps and recording teams read), checked in the tests against c3voc's own JSON schema.
use super::model::{Event, Schedule};
use serde_json::{json, Value};

fn event(e: &Event) -> Value {
    let persons: Vec<Value> = e
        .persons
        .iter()
        .map(|(guid, name)| json!({ "guid": guid, "name": name, "public_name": name }))
        .collect();
    json!({
        "guid": e.guid, "id": e.id, "date": e.date, "end": e.end, "start": e.start,
        "duration": e.duration, "room": e.room, "slug": e.slug, "url": e.url, "title": e.title,
        "subtitle": "", "track": e.track, "type": e.kind, "language": e.language,
        "abstract": e.abstract_, "description": null, "recording_license": "",
        "do_not_record": false, "persons": persons, "links": [], "attachments": [],
    })
}

/// The document, as its text.
pub fn write(s: &Schedule) -> String {
    let days: Vec<Value> = s
        .days
        .iter()
        .map(|d| {
            let rooms: serde_json::Map<String, Value> = d
                .rooms
                .iter()
                .map(|(room, events)| (room.clone(), events.iter().map(event).collect()))
                .collect();
            json!({ "index": d.index, "date": d.date, "day_start": d.start, "day_end": d.end, "rooms": rooms })
        })
        .collect();
    let rooms: Vec<Value> = s
        .rooms
        .iter()
        .map(|(name, guid)| json!({ "name": name, "guid": guid }))
        .collect();
    let tracks: Vec<Value> = s.tracks.iter().map(|t| json!({ "name": t })).collect();
    let mut conference = json!({
        "acronym": s.acronym, "title": s.title, "start": s.start, "end": s.end,
        "daysCount": s.days.len(), "timeslot_duration": "00:05",
        "rooms": rooms, "tracks": tracks, "days": days,
    });
    if zone_name_ok(&s.time_zone) {
        conference["time_zone_name"] = json!(s.time_zone);
    }
    let doc = json!({
        "$schema": "https://c3voc.de/schedule/schema.json",
        "generator": { "name": "tessera", "version": env!("CARGO_PKG_VERSION") },
        "schedule": {
            "version": s.version,
            "base_url": s.base_url,
            "conference": conference,
        },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The schema knows `Area/City` names (`Europe/Paris`) and `UTC` only.
fn zone_name_ok(zone: &str) -> bool {
    let word = |w: &str| {
        let mut c = w.chars();
        c.next().is_some_and(|a| a.is_ascii_uppercase())
            && c.next().is_some_and(|b| b.is_ascii_lowercase())
    };
    let mut parts = zone.split('/');
    zone == "UTC"
        || (parts
            .next()
            .is_some_and(|a| word(a) && a[1..].chars().all(|c| c.is_ascii_lowercase()))
            && parts.next().is_some_and(word))
}
