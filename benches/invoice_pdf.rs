//! Invoice PDF rendering: renders a 2-line and a 40-line invoice 200 times each, in French and in
//! English, and prints the median and p99 render time and the PDF's size. Asserts nothing.
//!   cargo bench --features ssr --bench invoice_pdf
//!   INVOICE_PDF_OUT=/tmp cargo bench --features ssr --bench invoice_pdf   (also writes the PDFs)
use chrono::{TimeZone, Utc};
use std::time::Instant;
use tessera::i18n::Locale;
use tessera::invoicing::document::{Buyer, DocKind, DocLine, Document, EventInfo, Seller};
use tessera::invoicing::pdf::render;

const RUNS: usize = 200;

/// `n` lines alternating 10 % and 20 % VAT, with amounts that do not round nicely.
fn lines(n: usize) -> Vec<DocLine> {
    (0..n as i64)
        .map(|i| {
            let (quantity, unit, bp) = (
                1 + i % 7,
                3333 + 17 * i,
                if i % 2 == 0 { 1000 } else { 2000 },
            );
            let net = quantity * unit;
            let vat = (net * bp + 5000) / 10000;
            DocLine {
                description: format!("Pass conférence {} — accès aux ateliers et au dîner", i + 1),
                quantity,
                unit_net_cents: unit,
                vat_rate_bp: bp,
                net_cents: net,
                vat_cents: vat,
                gross_cents: net + vat,
            }
        })
        .collect()
}

fn invoice(locale: Locale, n: usize) -> Document {
    let day = Utc.with_ymd_and_hms(2027, 3, 14, 9, 30, 0).unwrap();
    Document {
        kind: DocKind::Invoice,
        number: "F-2027-0042".into(),
        issued_at: day,
        paid_at: Some(day),
        corrects: None,
        reason: None,
        locale,
        currency: "eur".into(),
        order_ref: "3F2A9C1B".into(),
        payment_reference: Some("pi_3Nq8ZkLx2eZvKYlo2C1x".into()),
        timezone: "Europe/Paris".into(),
        seller: Seller {
            name: "Association Rust Lyon".into(),
            address: vec!["12 rue de la République".into(), "69002 Lyon".into()],
            country: "FR".into(),
            vat_number: "FR12345678901".into(),
            registration: "SIRET 123 456 789 00012 — RCS Lyon".into(),
            vat_registered: true,
            vat_exemption: String::new(),
            payment_terms: "Payée comptant à la commande, par carte bancaire. Pas d'escompte pour paiement anticipé.".into(),
            late_penalties: "En cas de retard de paiement : pénalités au taux d'intérêt de la BCE majoré de 10 points et indemnité forfaitaire de 40 € pour frais de recouvrement (art. L441-10 et D441-5 du Code de commerce).".into(),
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
            starts_at: Some(Utc.with_ymd_and_hms(2027, 6, 5, 7, 0, 0).unwrap()),
            ends_at: Some(Utc.with_ymd_and_hms(2027, 6, 6, 16, 0, 0).unwrap()),
            location: Some("Lyon".into()),
        },
        lines: lines(n),
    }
}

fn main() {
    let out = std::env::var("INVOICE_PDF_OUT").ok();
    println!(
        "{:<4} {:>6} {:>12} {:>12} {:>10}",
        "", "lines", "median ms", "p99 ms", "size KB"
    );
    for locale in [Locale::Fr, Locale::En] {
        for n in [2, 40] {
            let doc = invoice(locale, n);
            let pdf = render(&doc).expect("renders");
            if let Some(dir) = &out {
                let path = format!("{dir}/invoice-{}-{n}.pdf", locale.code());
                std::fs::write(&path, &pdf).expect("writes the sample");
            }
            let mut ms: Vec<f64> = (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    std::hint::black_box(render(std::hint::black_box(&doc)).unwrap());
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            ms.sort_by(f64::total_cmp);
            let p99 = ms[(RUNS * 99).div_ceil(100) - 1];
            println!(
                "{:<4} {:>6} {:>12.2} {:>12.2} {:>10.1}",
                locale.code(),
                n,
                ms[RUNS / 2],
                p99,
                pdf.len() as f64 / 1024.0
            );
        }
    }
}
