//! CSV lines as spreadsheets read them (RFC 4180 quoting, formulas defused, CRLF) and amounts in
//! cents written as CSV numbers. Every export (attendees, orders, vouchers, invoices) uses these.

/// One CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180); a field that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is defused with a leading `'`.
pub fn csv_field(raw: &str) -> String {
    let defused = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One CSV line, CRLF-terminated.
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Cents as a CSV amount ("-119.98"): a dot, two decimals, no currency.
pub fn amount(cents: i64) -> String {
    format!(
        "{}{}.{:02}",
        if cents < 0 { "-" } else { "" },
        cents.unsigned_abs() / 100,
        cents.unsigned_abs() % 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed_and_formulas_are_defused() {
        assert_eq!(csv_field("Zoé"), "Zoé");
        assert_eq!(csv_field("Dupont, Jean"), "\"Dupont, Jean\"");
        assert_eq!(csv_field("Le \"Grand\""), "\"Le \"\"Grand\"\"\"");
        assert_eq!(csv_field("ligne 1\nligne 2"), "\"ligne 1\nligne 2\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_line(&["a", "b,c"]), "a,\"b,c\"\r\n");
    }
}
