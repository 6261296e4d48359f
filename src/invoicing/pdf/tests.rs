use super::*;
use crate::invoicing::document::{Buyer, DocLine, EventInfo, Seller};
use chrono::TimeZone;

const LATE: &str = "Pénalités de retard : trois fois le taux d'intérêt légal, indemnité de 40 €.";
const EXEMPTION: &str = "TVA non applicable, art. 293 B du CGI";

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 30, 0).unwrap()
}

/// `quantity` × `unit` cents at `bp`, VAT rounded to the cent; negative on a credit note.
fn line(description: &str, quantity: i64, unit: i64, bp: i64) -> DocLine {
    let net = quantity * unit;
    let vat = (net * bp + 5000 * net.signum()) / 10000;
    DocLine {
        description: description.to_string(),
        quantity,
        unit_net_cents: unit,
        vat_rate_bp: bp,
        net_cents: net,
        vat_cents: vat,
        gross_cents: net + vat,
    }
}

fn invoice(locale: Locale, lines: Vec<DocLine>) -> Document {
    Document {
        kind: DocKind::Invoice,
        number: "F-2027-0042".into(),
        issued_at: at(2027, 3, 14),
        paid_at: Some(at(2027, 3, 14)),
        corrects: None,
        reason: None,
        locale,
        currency: "eur".into(),
        order_ref: "3F2A9C1B".into(),
        payment_reference: Some("pi_3Nq8ZkLx".into()),
        timezone: "Europe/Paris".into(),
        seller: Seller {
            name: "Association Rust Lyon".into(),
            address: vec!["12 rue de la République".into(), "69002 Lyon".into()],
            country: "FR".into(),
            vat_number: "FR12345678901".into(),
            registration: "SIRET 123 456 789 00012".into(),
            vat_registered: true,
            vat_exemption: String::new(),
            payment_terms: "Payée comptant à la commande.".into(),
            late_penalties: LATE.into(),
            footer: "IBAN FR76 3000 6000 0112 3456 7890 189".into(),
        },
        buyer: Buyer {
            name: "Camille Dupont".into(),
            email: "camille@example.com".into(),
            company: Some("Ferris Logiciels SAS".into()),
            address: vec!["3 quai Saint-Antoine".into(), "69002 Lyon".into()],
            country: Some("FR".into()),
            vat_number: Some("FR98765432109".into()),
            reference: Some("BC-2027-118".into()),
        },
        event: EventInfo {
            name: "RustConf Lyon".into(),
            starts_at: Some(at(2027, 6, 5)),
            ends_at: Some(at(2027, 6, 6)),
            location: Some("Lyon".into()),
        },
        lines,
    }
}

/// The PDF's text, U+202F and U+00A0 as spaces, runs of whitespace as one space.
fn text_of(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_extract::extract_text_from_mem(pdf).expect("readable PDF");
    normalise(&text)
}

fn normalise(s: &str) -> String {
    s.replace(['\u{202f}', '\u{a0}'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_french_invoice_shows_the_legal_mentions_and_totals() {
    let lines = vec![
        line("Pass conférence, 2 jours", 37, 3333, 1000),
        line("Dîner des orateurs", 2, 41999, 2000),
    ];
    let doc = invoice(Locale::Fr, lines);
    let text = text_of(&render(&doc).unwrap());
    let (_, _, gross) = doc.totals();
    let total = normalise(&format_money(gross, "eur", Locale::Fr));
    assert_eq!(total, "2 364,51 €");
    for expected in [
        "FACTURE",
        "F-2027-0042",
        "Ferris Logiciels SAS",
        "Total TTC 2 364,51 €",
        &normalise(LATE),
        "FR98765432109",
        "FR12345678901",
        "Date d'émission : 14/03/2027",
        "du 05/06/2027 au 06/06/2027",
        "10 %",
        "Reste dû 0,00 €",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
}

#[test]
fn an_english_credit_note_shows_the_corrected_invoice_and_negative_amounts() {
    let mut doc = invoice(Locale::En, vec![line("Conference pass", -1, 3333, 1000)]);
    doc.kind = DocKind::CreditNote;
    doc.number = "A-2027-0007".into();
    doc.corrects = Some(("F-2027-0042".into(), at(2027, 3, 14)));
    doc.reason = Some("partial_refund".into());
    let text = text_of(&render(&doc).unwrap());
    for expected in [
        "CREDIT NOTE",
        "A-2027-0007",
        "Credit note for invoice F-2027-0042 of 14 March 2027",
        "Partial refund",
        "-€33.33",
        "-€36.66",
        "Amount refunded €36.66",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
}

#[test]
fn a_seller_under_the_franchise_shows_no_vat() {
    let mut doc = invoice(Locale::Fr, vec![line("Pass journée", 3, 3333, 0)]);
    doc.seller.vat_registered = false;
    doc.seller.vat_number = String::new();
    doc.seller.vat_exemption = EXEMPTION.into();
    doc.buyer.vat_number = None;
    let text = text_of(&render(&doc).unwrap());
    assert!(text.contains(EXEMPTION), "{text}");
    assert!(text.contains("Total 99,99 €"), "{text}");
    for absent in ["PU HT", "Total TTC", "Base HT", "TVA"] {
        let rest = text.replace(EXEMPTION, "");
        assert!(!rest.contains(absent), "{absent:?} in {text}");
    }
}

#[test]
fn many_lines_run_onto_more_pages() {
    let lines = (1..=60)
        .map(|i| {
            line(
                &format!("Pass numéro {i} pour la conférence"),
                1,
                1999 + i,
                1000,
            )
        })
        .collect();
    let pdf = render(&invoice(Locale::Fr, lines)).unwrap();
    let pages = pdf_extract::extract_text_from_mem_by_pages(&pdf).unwrap();
    assert!(pages.len() > 1, "{} page(s)", pages.len());
    let text = text_of(&pdf);
    assert!(text.contains("Pass numéro 60 pour la conférence"), "{text}");
    assert!(
        text.contains(&format!("Page 2 / {}", pages.len())),
        "{text}"
    );
    let second = normalise(&pages[1]);
    assert!(
        second.contains("Désignation Qté PU HT"),
        "the header again: {second}"
    );
}

#[test]
fn long_texts_wrap_on_plain_spaces_only() {
    let money = format_money(123_456_789, "eur", Locale::Fr);
    let lines = wrap(BODY, &format!("{money} {money} {money}"), 80.0);
    assert!(lines.iter().all(|l| BODY.width(l) <= 80.0), "{lines:?}");
    assert!(lines.iter().all(|l| l.contains(&money)), "{lines:?}");
    let word = "x".repeat(200);
    assert!(wrap(BODY, &word, 50.0)
        .iter()
        .all(|l| BODY.width(l) <= 50.0));
}

#[test]
fn rendering_is_deterministic() {
    let doc = invoice(Locale::En, vec![line("Conference pass", 1, 3333, 1000)]);
    assert_eq!(render(&doc).unwrap(), render(&doc).unwrap());
}
