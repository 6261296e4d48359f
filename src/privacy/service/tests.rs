//! Tests of the redaction's needles, placeholders and the accounting year.
use super::*;

#[test]
fn needles_find_a_person_in_audit_details_and_nothing_else() {
    let n = Needles::new(
        "zoe.quux@example.org",
        Some("Zoé"),
        Some("Le Quuxley"),
        Some("+33611223344"),
    );
    assert!(n.matches("ZOE.QUUX@example.org"));
    assert!(n.matches("appelé au +33611223344"));
    assert!(n.matches("zoé le quuxley"));
    assert!(n.matches("Quuxley"), "a word of the last name");
    assert!(!n.matches("Le programme"), "short words are not names");
    assert!(!n.matches("Zoéline"), "a word, not a part of one");
    let mut meta =
        json!({ "query": "quuxley", "found": 1, "to": ["zoe.quux@example.org"], "title": "Rust" });
    assert!(redact(&mut meta, &n));
    assert_eq!(
        meta,
        json!({ "query": REDACTED, "found": 1, "to": [REDACTED], "title": "Rust" })
    );
    assert!(n.patterns.contains(&"%zoe.quux@example.org%".to_string()));
    assert!(n.patterns.contains(&"%Zoé%".to_string()), "as typed too");
    assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
}

#[test]
fn a_name_made_of_common_words_blanks_only_the_values_that_name_people() {
    // Someone signs up as "Stripe Admin", then deletes their account: other people's audit
    // entries keep their details; only values that name people (a search for them) go.
    let n = Needles::new("x@example.org", Some("Stripe"), Some("Admin"), None);
    let mut webhook = json!({ "source": "stripe", "by": "admin", "payment_status": "paid" });
    assert!(!redact_personal_keys(&mut webhook, &n));
    assert_eq!(
        webhook,
        json!({ "source": "stripe", "by": "admin", "payment_status": "paid" })
    );
    let mut search = json!({ "query": "stripe", "found": 1, "before": { "title": "Stripe" } });
    assert!(redact_personal_keys(&mut search, &n));
    assert_eq!(
        search,
        json!({ "query": REDACTED, "found": 1, "before": { "title": "Stripe" } })
    );
}

#[test]
fn placeholders_are_unique_and_never_a_valid_address() {
    let id = Uuid::new_v4();
    let p = placeholder_email(id);
    assert!(p.contains(&id.simple().to_string()));
    assert!(crate::accounts::service::normalise_email(&p).is_err());
    assert!(crate::accounts::service::normalise_email(ERASED_ADDRESS).is_err());
}

#[test]
fn accounting_years_end_on_the_31st_of_december() {
    let config = crate::server::config::Config::from_map(
        &[("SECRET_KEY".to_string(), "k".repeat(32))]
            .into_iter()
            .collect(),
    )
    .unwrap();
    let start = year_start(&config, 2017).unwrap();
    assert_eq!(
        start.to_rfc3339(),
        "2016-12-31T23:00:00+00:00",
        "Paris time"
    );
}
