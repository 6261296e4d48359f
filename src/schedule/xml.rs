//! `/schedule.xml`: the schedule in the frab XML format (Giggity, ConfClerk, EventFahrplan, the
//! c3voc recording tools), checked in the tests against c3voc's own XSD. Written by hand: a
//! dozen elements in a fixed order, with the text escaped ([`escape`]).
use super::model::{Event, Schedule};
use std::fmt::Write;

/// XML text and attribute escaping (the five predefined entities; control characters other than
/// tab and line breaks are not allowed in XML 1.0 and are dropped).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `H:MM` as the XSD wants it (at most two digits of hours).
fn xsd_duration(d: &str) -> String {
    match d.split_once(':') {
        Some((h, _)) if h.len() > 2 => "99:59".into(),
        _ => d.into(),
    }
}

fn event(out: &mut String, e: &Event) {
    let t = escape;
    let _ = write!(
        out,
        "      <event guid=\"{}\" id=\"{}\">\n        <room>{}</room>\n        <title>{}</title>\n        \
         <subtitle></subtitle>\n        <type>{}</type>\n        <date>{}</date>\n        <start>{}</start>\n        \
         <duration>{}</duration>\n        <abstract>{}</abstract>\n        <slug>{}</slug>\n        <track>{}</track>\n",
        e.guid, e.id, t(&e.room), t(&e.title), e.kind, e.date, e.start, xsd_duration(&e.duration),
        t(&e.abstract_), e.slug, t(&e.track),
    );
    out.push_str("        <persons>");
    for (guid, name) in &e.persons {
        let _ = write!(out, "<person guid=\"{guid}\">{}</person>", t(name));
    }
    let _ = write!(
        out,
        "</persons>\n        <language>{}</language>\n        <links></links>\n        <attachments></attachments>\n        \
         <url>{}</url>\n      </event>\n",
        t(&e.language),
        t(&e.url)
    );
}

/// The document, as its text.
pub fn write(s: &Schedule) -> String {
    let t = escape;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<schedule xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"https://c3voc.de/schedule/schema.xsd\">\n",
    );
    let first = s.days.first().map(|d| d.start.as_str()).unwrap_or("");
    let last = s.days.last().map(|d| d.end.as_str()).unwrap_or("");
    let _ = write!(
        out,
        "  <generator name=\"tessera\" version=\"{}\"/>\n  <version>{}</version>\n  <conference>\n    \
         <title>{}</title>\n    <acronym>{}</acronym>\n    <start>{first}</start>\n    <end>{last}</end>\n    \
         <days>{}</days>\n    <timeslot_duration>00:05</timeslot_duration>\n    <base_url>{}</base_url>\n    \
         <time_zone_name>{}</time_zone_name>\n",
        env!("CARGO_PKG_VERSION"),
        t(&s.version),
        t(&s.title),
        s.acronym,
        s.days.len(),
        t(&s.base_url),
        t(&s.time_zone),
    );
    for track in &s.tracks {
        let _ = writeln!(out, "    <track name=\"{}\"/>", t(track));
    }
    out.push_str("  </conference>\n");
    for day in &s.days {
        let _ = writeln!(
            out,
            "  <day index=\"{}\" date=\"{}\" start=\"{}\" end=\"{}\">",
            day.index, day.date, day.start, day.end
        );
        for (room, events) in &day.rooms {
            let guid = super::model::name_guid("room", room);
            let _ = writeln!(out, "    <room name=\"{}\" guid=\"{guid}\">", t(room));
            for e in events {
                event(&mut out, e);
            }
            out.push_str("    </room>\n");
        }
        out.push_str("  </day>\n");
    }
    out.push_str("</schedule>\n");
    out
}
