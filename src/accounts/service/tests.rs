//! Tests of addresses, phones, password hashes and rate-limit address blocks.
use super::*;

#[test]
fn emails_are_normalised_or_refused() {
    assert_eq!(
        normalise_email("  Alice@Example.ORG ").unwrap(),
        "alice@example.org"
    );
    for bad in [
        "",
        "alice",
        "a@b",
        "a b@c.org",
        "@c.org",
        "a@@c.org",
        "a@c.org.",
    ] {
        assert!(normalise_email(bad).is_err(), "{bad}");
    }
}

#[test]
fn phones_become_e164() {
    assert_eq!(normalise_phone("06 12 34 56 78").unwrap(), "+33612345678");
    assert_eq!(
        normalise_phone("+44 20 7946 0958").unwrap(),
        "+442079460958"
    );
    assert_eq!(normalise_phone("0049 30 1234567").unwrap(), "+49301234567");
    for bad in ["12", "+0612345678", "06 12 AB 56 78", "+1234567890123456"] {
        assert!(normalise_phone(bad).is_err(), "{bad}");
    }
}

#[test]
fn old_parameters_are_rehashed() {
    assert!(needs_rehash(
        "$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"
    ));
    assert!(!needs_rehash(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"
    ));
}

#[test]
fn an_ipv6_subscriber_has_one_budget_for_its_64() {
    let block = |a: &str| super::address_block(a.parse().unwrap());
    assert_eq!(block("2001:db8:1:2::1"), block("2001:db8:1:2:ffff::9"));
    assert_ne!(block("2001:db8:1:2::1"), block("2001:db8:1:3::1"));
    assert_eq!(block("::ffff:192.0.2.7"), "192.0.2.7");
    assert_eq!(block("192.0.2.7"), "192.0.2.7");
}

#[tokio::test]
async fn hashes_are_argon2id_with_their_parameters_and_verify() {
    let h = hash_password("correct horse battery".into()).await.unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    assert!(verify_password("correct horse battery".into(), h.clone())
        .await
        .unwrap());
    assert!(!verify_password("wrong".into(), h.clone()).await.unwrap());
    assert!(!verify_password("x".repeat(1025), h).await.unwrap());
}
