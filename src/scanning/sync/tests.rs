//! Tests of the device clock and label checks.
use super::*;

#[test]
fn device_clocks_far_off_are_not_believed() {
    let now = Utc::now();
    let ms = now.timestamp_millis();
    assert_eq!(device_time(ms, now), Some(now.with_nanosecond_ms()));
    assert_eq!(
        device_time(ms + 5 * 60_000, now),
        Some(now),
        "never later than now"
    );
    assert_eq!(device_time(ms + 11 * 60_000, now), None);
    assert_eq!(device_time(ms - 31 * 86_400_000, now), None);
    assert_eq!(device_time(i64::MAX, now), None);
    assert_eq!(device_time(i64::MIN, now), None);
}

trait Ms {
    fn with_nanosecond_ms(self) -> Self;
}
impl Ms for DateTime<Utc> {
    fn with_nanosecond_ms(self) -> Self {
        DateTime::<Utc>::from_timestamp_millis(self.timestamp_millis()).unwrap_or(self)
    }
}

#[test]
fn labels_are_one_clean_line() {
    assert_eq!(clean_label("  Porte A\n\u{202e}x "), "Porte A x");
    assert_eq!(clean_label("\u{200b}"), "?");
    assert_eq!(clean_label(&"a".repeat(200)).len(), 80);
}
