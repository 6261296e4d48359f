use super::*;

fn badge(name: &str, company: Option<&str>, pass: &str, qr: &str) -> Badge {
    Badge {
        name: name.to_string(),
        company: company.map(str::to_string),
        pass: pass.to_string(),
        qr: qr.to_string(),
    }
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn faces() -> &'static Faces {
    FACES.as_ref().expect("the embedded fonts load")
}

const NAMES: [&str; 10] = [
    "Zoë Ñúñez",
    "Renée O'Connor",
    "José Álvarez-Müller",
    "Łukasz Żółkiewski",
    "Søren Kierkegård",
    "Chloé Lefèvre",
    "Ana María Pérez",
    "Jürgen Groß",
    "Anaïs Dubœuf",
    "François Brûlé",
];

#[test]
fn ten_badges_on_a4_take_two_sheets_and_show_every_name() {
    let badges: Vec<Badge> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let company = (i % 3 != 0).then_some("Ferris Logiciels SAS");
            badge(
                name,
                company,
                "Pass conférence",
                &format!("TKT-{i}-9f3a2b7c"),
            )
        })
        .collect();
    let pdf = render("RustConf Lyon 2027", &badges, Sheet::A4).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let pages = pdf_extract::extract_text_from_mem_by_pages(&pdf).unwrap();
    assert_eq!(pages.len(), 2);
    let text = squash(&pdf_extract::extract_text_from_mem(&pdf).unwrap());
    for name in NAMES {
        assert!(text.contains(&squash(name)), "{name:?} missing from {text}");
    }
    assert!(text.contains("FerrisLogicielsSAS"), "{text}");
}

#[test]
fn three_badges_on_a6_take_three_pages() {
    let badges = [
        badge(NAMES[0], Some("Acme"), "Speaker", "TKT-a"),
        badge(NAMES[1], None, "Day pass", "TKT-b"),
        badge(NAMES[2], Some("  "), "Pass conférence", "TKT-c"),
    ];
    let pdf = render("RustConf Lyon", &badges, Sheet::A6).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let pages = pdf_extract::extract_text_from_mem_by_pages(&pdf).unwrap();
    assert_eq!(pages.len(), 3);
    let text = squash(&pdf_extract::extract_text_from_mem(&pdf).unwrap());
    for b in &badges {
        assert!(
            text.contains(&squash(&b.name)),
            "{:?} missing from {text}",
            b.name
        );
    }
    assert!(text.contains("Speaker"), "{text}");
}

#[test]
fn no_badges_is_an_error() {
    assert!(render("x", &[], Sheet::A4).is_err());
    assert!(render("x", &[], Sheet::A6).is_err());
}

#[test]
fn odd_inputs_render() {
    let long_words = "Maximilian ".repeat(200);
    let one_word = "é".repeat(2000);
    let badges = [
        badge(&long_words, Some(""), "", ""),
        badge(&one_word, None, &one_word, "TKT-x"),
        badge("", Some(long_words.as_str()), "Pass", "TKT-y"),
        badge("李小龍 🎉 \u{202e}abc\t\n", Some("株式会社"), "ߞ", "TKT-z"),
    ];
    for sheet in [Sheet::A4, Sheet::A6] {
        let pdf = render(&long_words, &badges, sheet).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }
    let pdf = render("", &badges[..1], Sheet::A6).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
}

#[test]
fn long_names_keep_to_two_lines_that_fit() {
    let f = faces();
    let width = 150.0;
    for name in [
        "Maximilian ".repeat(200),
        "x".repeat(2000),
        "a b ".repeat(600),
    ] {
        let (style, lines) = f.name_lines(&name, width, 24.0, 14.0);
        assert!((style.size - 14.0).abs() < 1e-3, "{}", style.size);
        assert!(lines.len() <= 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| f.width(style, l) <= width),
            "{lines:?}"
        );
        assert!(lines.last().is_some_and(|l| l.ends_with('…')), "{lines:?}");
    }
    let (style, lines) = f.name_lines("Zoë Ñúñez", width, 24.0, 14.0);
    assert!((style.size - 24.0).abs() < 1e-3, "{}", style.size);
    assert_eq!(lines.join(" "), "Zoë Ñúñez");
    let (_, lines) = f.name_lines("  ", width, 24.0, 14.0);
    assert!(lines.is_empty());
}

#[test]
fn sheets_parse_whatever_the_case() {
    assert_eq!(Sheet::parse("a6"), Some(Sheet::A6));
    assert_eq!(Sheet::parse("A4"), Some(Sheet::A4));
    assert_eq!(Sheet::parse("letter"), None);
    assert_eq!(Sheet::parse(""), None);
}
