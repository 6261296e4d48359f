//! Dates typed by people (filters, forms), parsed once and kept within years 1900 to 9999, so that
//! the arithmetic done on them afterwards (a day later, a time zone) can never overflow.
use chrono::{Datelike, NaiveDate, NaiveDateTime};

const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// A `YYYY-MM-DD` day, or `None` when malformed or out of range.
pub fn parse_day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| YEARS.contains(&d.year()))
}

/// A filter's optional day as a form sends it: empty or absent is none; anything else must be a
/// `YYYY-MM-DD` day, or a 422 on `field`.
pub fn optional_day(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<NaiveDate>, crate::error::AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_day(s)
            .map(Some)
            .ok_or_else(|| crate::error::AppError::invalid(field, "admin.error.date_invalid")),
    }
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`), or `None` when malformed or out of range.
pub fn parse_local_minute(raw: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M")
        .ok()
        .filter(|t| YEARS.contains(&t.year()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_at_the_edges_of_chrono_are_refused() {
        assert_eq!(
            parse_day("2027-06-10"),
            NaiveDate::from_ymd_opt(2027, 6, 10)
        );
        assert_eq!(
            parse_day(" 9999-12-31 "),
            NaiveDate::from_ymd_opt(9999, 12, 31)
        );
        for bad in [
            "+262142-12-31",
            "-262143-01-01",
            "10000-01-01",
            "1899-12-31",
            "2027-02-30",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        assert!(parse_local_minute("2027-06-10T09:30").is_some());
        assert_eq!(parse_local_minute("+262142-12-31T23:59"), None);
    }

    #[test]
    fn a_filters_day_left_empty_is_none_and_a_wrong_one_is_refused_on_its_field() {
        assert_eq!(optional_day("from", None), Ok(None));
        assert_eq!(optional_day("from", Some("  ")), Ok(None));
        assert_eq!(
            optional_day("to", Some(" 2027-06-11 ")),
            Ok(NaiveDate::from_ymd_opt(2027, 6, 11))
        );
        let refused = optional_day("to", Some("11/06/2027")).unwrap_err();
        assert_eq!(refused.field(), Some("to"));
        assert_eq!(
            refused,
            crate::error::AppError::invalid("to", "admin.error.date_invalid")
        );
    }
}
