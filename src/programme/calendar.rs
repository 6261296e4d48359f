//! The programme as iCalendar (RFC 5545): a person's saved talks (`personal`) and the whole
//! programme (`/schedule.ics`), one writer for both; a talk has the same UID in both.
use crate::server::prelude::*;

/// A talk as a calendar event.
#[derive(sqlx::FromRow)]
pub struct CalendarTalk {
    pub id: Uuid,
    pub updated_at: DateTime<Utc>,
    #[sqlx(flatten)]
    pub talk: super::service::TalkFields,
}

/// The columns of [`CalendarTalk`], of `conferences c`.
pub const CALENDAR_COLUMNS: &str = "c.id, c.updated_at, c.title, c.description, c.theme, \
     c.start_at, c.end_at, c.speaker_name, c.location";

/// The whole programme as one calendar.
pub async fn programme_ics(db: &Db, config: &Config) -> Result<String, AppError> {
    let rows: Vec<CalendarTalk> = db_run!(db, pool => sqlx::query_as(&format!(
        "SELECT {CALENDAR_COLUMNS} FROM conferences c ORDER BY c.start_at, c.id")).fetch_all(pool).await)?;
    Ok(calendar(config, &rows))
}

/// The calendar of `rows`.
pub fn calendar(config: &Config, rows: &[CalendarTalk]) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let mut out = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Tessera//Programme//FR".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", escape(&config.event_name)),
        format!("X-WR-TIMEZONE:{}", config.timezone.name()),
    ];
    for r in rows {
        let (id, t) = (r.id, &r.talk);
        let description = match &t.speaker_name {
            Some(s) => format!("{s}\n\n{}", t.description),
            None => t.description.clone(),
        };
        out.extend([
            "BEGIN:VEVENT".to_string(),
            format!("UID:{id}@tessera"),
            format!("DTSTAMP:{}", stamp(r.updated_at)),
            format!("LAST-MODIFIED:{}", stamp(r.updated_at)),
            format!("DTSTART:{}", stamp(t.place.start_at)),
            format!("DTEND:{}", stamp(t.place.end_at)),
            format!("SUMMARY:{}", escape(&t.title)),
            format!(
                "LOCATION:{}",
                escape(t.place.location.as_deref().unwrap_or(""))
            ),
            format!("DESCRIPTION:{}", escape(&description)),
            format!("URL:{}/talks/{id}", config.base_url),
            "END:VEVENT".into(),
        ]);
    }
    out.push("END:VCALENDAR".into());
    out.iter().map(|l| fold(l)).collect::<Vec<_>>().join("")
}

/// RFC 5545 text escaping: a line break of any kind becomes `\n`; no other control character
/// (none is allowed but tab) gets through, so a text cannot end a line and start a property.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => out.push_str("\\n"),
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 5545 line folding at 75 octets (never inside a UTF-8 character), with CRLF endings.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for ch in line.chars() {
        let w = ch.len_utf8();
        if len + w > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(ch);
        len += w;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_without_splitting_characters() {
        let line = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&line);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", "").trim_end(), line);
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(
            escape("X\rEND:VEVENT\r\nBEGIN:VEVENT\u{1b}\u{0b}"),
            "X\\nEND:VEVENT\\nBEGIN:VEVENT"
        );
    }
}
