use super::*;

#[test]
fn prices_never_go_below_zero_nor_above_the_list_price() {
    use VoucherEffect::*;
    assert_eq!(Percent.unit_price(100, 12_000), Some(0));
    assert_eq!(Percent.unit_price(25, 12_000), Some(9_000));
    assert_eq!(Percent.unit_price(33, 1_001), Some(671)); // 330.33 off, rounded half up: 330
    assert_eq!(Percent.unit_price(50, 1), Some(0)); // 0.5 cent off rounds up to 1
    assert_eq!(Amount.unit_price(5_000, 3_000), Some(0));
    assert_eq!(Amount.unit_price(500, 3_000), Some(2_500));
    assert_eq!(Price.unit_price(0, 3_000), Some(0));
    assert_eq!(Price.unit_price(9_000, 3_000), Some(3_000));
    assert_eq!(Percent.unit_price(100, i64::MAX), None);
}

#[test]
fn codes_are_normalised_and_generated_without_look_alikes() {
    assert_eq!(
        normalise_code("  speaker-2027 ").as_deref(),
        Some("SPEAKER-2027")
    );
    assert_eq!(normalise_code("ab"), None);
    assert_eq!(normalise_code("a b c"), None);
    assert_eq!(normalise_code("ÉTÉ2027"), None);
    let c = generate_code();
    assert_eq!(c.len(), GENERATED_LEN);
    assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
    assert!(!c.contains(['0', 'O', '1', 'I', 'L']));
}
