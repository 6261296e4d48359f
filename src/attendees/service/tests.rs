//! The answers' checks.
use super::*;
use crate::attendees::{Question, QuestionKind};
use std::collections::HashMap;
use uuid::Uuid;

fn question(kind: QuestionKind, required: bool) -> Question {
    Question {
        id: Uuid::nil(),
        kind,
        label_fr: "Q".into(),
        label_en: String::new(),
        help_fr: String::new(),
        help_en: String::new(),
        options: parse_options("Végétarien | Vegetarian\nSans gluten | Gluten-free\nAucun"),
        required,
        all_passes: true,
        passes: vec![],
        on_badge: false,
        position: 0,
        archived: false,
    }
}

#[test]
fn answers_are_checked_and_normalised_by_kind() {
    use QuestionKind::*;
    type Case<'a> = (
        QuestionKind,
        &'a [&'a str],
        Result<Option<&'a str>, &'a str>,
    );
    let cases: &[Case] = &[
        (Text, &["  Acme \u{202e} SAS "], Ok(Some("Acme SAS"))),
        (Choice, &["Sans gluten"], Ok(Some("Sans gluten"))),
        (Choice, &["Gluten-free"], Err("questions.error.choice")),
        (
            Multiple,
            &["Aucun", "Végétarien"],
            Ok(Some("Végétarien\nAucun")),
        ),
        (Multiple, &["Pizza"], Err("questions.error.choice")),
        (YesNo, &["yes"], Ok(Some("yes"))),
        (YesNo, &["oui"], Err("questions.error.yes_no")),
        (Country, &["fr"], Ok(Some("FR"))),
        (Country, &["France"], Err("questions.error.country")),
        (Number, &["2,5"], Ok(Some("2.5"))),
        (Number, &["-12"], Ok(Some("-12"))),
        (Number, &["1e9"], Err("questions.error.number")),
        (Number, &["1."], Err("questions.error.number")),
        (Text, &[""], Err("questions.error.required")),
        (Multiple, &[], Err("questions.error.required")),
    ];
    for (kind, raw, want) in cases {
        let got = check_answer(&question(*kind, true), raw);
        assert_eq!(
            got.as_ref().map(|o| o.as_deref()),
            want.as_ref().map(|o| *o),
            "{kind:?} {raw:?}"
        );
    }
    assert_eq!(check_answer(&question(Text, false), &["  "]), Ok(None));
    let long = "x".repeat(MAX_TEXT + 1);
    assert_eq!(
        check_answer(&question(Text, false), &[&long]),
        Err("questions.error.too_long")
    );
}

#[test]
fn a_refused_answer_names_its_field() {
    let q = question(QuestionKind::Choice, true);
    let posted = HashMap::from([(format!("q{}", Uuid::nil()), "Pizza".to_string())]);
    let e = check_answers(&[&q], &posted, "attendees[p0s1][answers]").unwrap_err();
    assert_eq!(
        e.field(),
        Some(format!("attendees[p0s1][answers][q{}]", Uuid::nil()).as_str())
    );
    let m = question(QuestionKind::Multiple, false);
    let id = format!("q{}", Uuid::nil());
    let posted = HashMap::from([
        (format!("{id}~2"), "Aucun".to_string()),
        (format!("{id}~0"), "Végétarien".to_string()),
    ]);
    assert_eq!(
        check_answers(&[&m], &posted, "a").unwrap(),
        vec![(Uuid::nil(), "Végétarien\nAucun".to_string())]
    );
}
