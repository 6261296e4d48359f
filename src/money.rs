//! Money as people read and type it: integer cents shown in the reader's language ("120,00 €",
//! "€120.00") and prices typed in a cell ("120,00", "120.5") read back exactly, never through floats.
use crate::i18n::Locale;

/// "120,00 €" / "€120.00": integer cents, never floats.
pub fn format_money(cents: i64, currency: &str, locale: Locale) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (units, rest) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    let grouped = {
        let digits = units.to_string();
        let sep = if locale == Locale::Fr {
            '\u{202f}'
        } else {
            ','
        };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(sep);
            }
            out.push(c);
        }
        out
    };
    let symbol = match currency.to_ascii_lowercase().as_str() {
        "eur" => "€".to_string(),
        "usd" => "$".to_string(),
        "gbp" => "£".to_string(),
        other => other.to_uppercase(),
    };
    match locale {
        Locale::Fr => format!("{sign}{grouped},{rest:02}\u{a0}{symbol}"),
        Locale::En => format!("{sign}{symbol}{grouped}.{rest:02}"),
    }
}

/// "120,00" / "120.5" / "120" → 12000 cents: exact, never through floats.
pub fn parse_price(raw: &str) -> Option<i64> {
    let s: String = raw
        .trim()
        .trim_end_matches('€')
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}' && *c != '\u{a0}')
        .collect();
    let s = s.replace(',', ".");
    let (units, cents) = match s.split_once('.') {
        Some((u, c)) if !c.is_empty() && c.len() <= 2 && c.bytes().all(|b| b.is_ascii_digit()) => (
            u,
            if c.len() == 1 {
                format!("{c}0")
            } else {
                c.to_string()
            },
        ),
        Some(_) => return None,
        None => (s.as_str(), "00".to_string()),
    };
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) || units.len() > 9 {
        return None;
    }
    Some(units.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?)
}

/// The cents as the editor shows them in its cell ("120.00").
pub fn price_text(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_per_language_from_cents() {
        assert_eq!(format_money(12_000, "eur", Locale::Fr), "120,00\u{a0}€");
        assert_eq!(format_money(12_000, "eur", Locale::En), "€120.00");
        assert_eq!(
            format_money(123_456_789, "eur", Locale::En),
            "€1,234,567.89"
        );
        assert_eq!(format_money(5, "usd", Locale::En), "$0.05");
    }
}
