//! Text as documents and badges print it, and ids as people read them out.
use uuid::Uuid;

/// A character a one-line field may hold: no control character (line breaks included) and no
/// invisible formatting one (bidirectional overrides, zero-width spaces, BOM, line separators),
/// which could hide or reorder what a document prints.
pub fn printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'))
}

/// One line of text as typed, made printable: what is not [`printable`] becomes a space, spaces
/// are collapsed (no length limit: the caller refuses what is too long).
pub fn clean_line(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if printable(c) { c } else { ' ' })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A name as a document prints it: [`clean_line`], at most 120 characters (a profile's name was
/// checked less strictly).
pub fn one_line(raw: &str) -> String {
    clean_line(raw).chars().take(120).collect()
}

/// The 8 first hex digits of an order id, as people read it out.
pub fn short_ref(order_id: Uuid) -> String {
    order_id.simple().to_string()[..8].to_uppercase()
}

/// The names of a comma-separated list (a token's scopes, a webhook's events), each one of
/// `known`, each once, in `known`'s order; `Err` with the first unknown one (cut to 40 characters).
pub fn pick(raw: &str, known: &[&'static str]) -> Result<Vec<&'static str>, String> {
    let asked: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(unknown) = asked.iter().find(|s| !known.contains(s)) {
        return Err(unknown.chars().take(40).collect());
    }
    Ok(known
        .iter()
        .copied()
        .filter(|k| asked.contains(k))
        .collect())
}
