//! The document's parts above and below the tables: header, parties, event, mentions.
use super::*;

// ---- the document's parts ----

pub(crate) fn t(doc: &Document, key: &str) -> String {
    tr(doc.locale, key)
}

/// "Label : value" (French) / "Label: value".
pub(crate) fn field(doc: &Document, key: &str, value: &str) -> String {
    tr_with(
        doc.locale,
        "invoice.pdf.field",
        &[("label", &t(doc, key)), ("value", value)],
    )
}

pub(crate) fn money(doc: &Document, cents: i64) -> String {
    format_money(cents, &doc.currency, doc.locale)
}

/// A date in the document's time zone (Europe/Paris when it is not one): 05/06/2027, 5 June 2027.
pub(crate) fn date(doc: &Document, at: DateTime<Utc>) -> String {
    let tz = doc
        .timezone
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::Europe::Paris);
    let format = match doc.locale {
        Locale::Fr => "%d/%m/%Y",
        Locale::En => "%-d %B %Y",
    };
    at.with_timezone(&tz).format(format).to_string()
}

/// Title and number on the left, dates and references on the right.
pub(crate) fn header(l: &mut Layout, doc: &Document) {
    let title = match doc.kind {
        DocKind::Invoice => t(doc, "invoice.pdf.title.invoice"),
        DocKind::CreditNote => t(doc, "invoice.pdf.title.credit_note"),
    };
    let top = l.y;
    let big = Style {
        bold: true,
        size: 22.0,
        grey: 0,
    };
    let number = Style {
        bold: true,
        size: 12.0,
        grey: 0,
    };
    l.text_at(MARGIN, top, big, &title);
    l.y += big.leading();
    let number_text = tr_with(doc.locale, "invoice.pdf.number", &[("number", &doc.number)]);
    l.text_at(MARGIN, l.y, number, &number_text);
    l.y += number.leading() + 2.0;
    if let Some((invoice, issued)) = &doc.corrects {
        let corrects = tr_with(
            doc.locale,
            "invoice.pdf.corrects",
            &[("number", invoice), ("date", &date(doc, *issued))],
        );
        l.paragraph(MARGIN, 280.0, BODY, &corrects);
    }
    if let Some(reason) = &doc.reason {
        let key = format!("invoice.pdf.reason.{reason}");
        let text = Some(t(doc, &key))
            .filter(|s| *s != key)
            .unwrap_or(reason.clone());
        l.paragraph(
            MARGIN,
            280.0,
            BODY,
            &field(doc, "invoice.pdf.reason", &text),
        );
    }
    let left_bottom = l.y;

    let mut facts = vec![field(doc, "invoice.pdf.issued", &date(doc, doc.issued_at))];
    if let Some(paid) = doc.paid_at {
        let key = match doc.kind {
            DocKind::Invoice => "invoice.pdf.paid_on",
            DocKind::CreditNote => "invoice.pdf.refunded_on",
        };
        facts.push(field(doc, key, &date(doc, paid)));
    }
    facts.push(field(doc, "invoice.pdf.order", &doc.order_ref));
    if let Some(reference) = doc.payment_reference.as_deref().filter(|r| !r.is_empty()) {
        facts.push(field(doc, "invoice.pdf.payment_reference", reference));
    }
    let mut y = top + 4.0;
    for fact in facts {
        l.text_right(RIGHT, y, BODY, &fact);
        y += BODY.leading();
    }
    l.y = left_bottom.max(y) + 16.0;
}

/// The seller on the left, the buyer on the right.
pub(crate) fn parties(l: &mut Layout, doc: &Document) {
    let (s, b) = (&doc.seller, &doc.buyer);
    let mut seller = vec![
        (LABEL, t(doc, "invoice.pdf.seller")),
        (BODY_BOLD, s.name.clone()),
    ];
    seller.extend(s.address.iter().map(|a| (BODY, a.clone())));
    seller.push((BODY, s.country.clone()));
    if !s.registration.is_empty() {
        seller.push((
            BODY,
            field(doc, "invoice.pdf.registration", &s.registration),
        ));
    }
    if !s.vat_number.is_empty() {
        seller.push((BODY, field(doc, "invoice.pdf.vat_number", &s.vat_number)));
    }

    let mut buyer = vec![(LABEL, t(doc, "invoice.pdf.bill_to"))];
    match b.company.as_deref().filter(|c| !c.is_empty()) {
        Some(company) => buyer.extend([(BODY_BOLD, company.to_string()), (BODY, b.name.clone())]),
        None => buyer.push((BODY_BOLD, b.name.clone())),
    }
    buyer.extend(b.address.iter().map(|a| (BODY, a.clone())));
    let optional = [
        (b.country.clone(), None),
        (b.vat_number.clone(), Some("invoice.pdf.vat_number")),
        (b.reference.clone(), Some("invoice.pdf.your_reference")),
        (Some(b.email.clone()), None),
    ];
    for (value, key) in optional {
        match (value.filter(|v| !v.is_empty()), key) {
            (Some(v), Some(key)) => buyer.push((BODY, field(doc, key, &v))),
            (Some(v), None) => buyer.push((BODY, v)),
            (None, _) => {}
        }
    }

    let top = l.y;
    let seller_bottom = block(l, MARGIN, 240.0, top, &seller);
    let buyer_x = MARGIN + 280.0;
    let buyer_bottom = block(l, buyer_x, RIGHT - buyer_x, top, &buyer);
    l.y = seller_bottom.max(buyer_bottom) + 14.0;
}

/// Lines (each wrapped to `width`) from `top` down; returns where they end.
pub(crate) fn block(
    l: &mut Layout,
    x: f32,
    width: f32,
    top: f32,
    lines: &[(Style, String)],
) -> f32 {
    let mut y = top;
    for (style, text) in lines.iter().filter(|(_, text)| !text.is_empty()) {
        for line in wrap(*style, text, width) {
            l.text_at(x, y, *style, &line);
            y += style.leading();
        }
    }
    y
}

/// "Événement : RustConf, du 05/06/2027 au 06/06/2027, Lyon".
pub(crate) fn event(l: &mut Layout, doc: &Document) {
    let e = &doc.event;
    if e.name.is_empty() {
        return;
    }
    let mut parts = vec![e.name.clone()];
    let dates = (
        e.starts_at.map(|d| date(doc, d)),
        e.ends_at.map(|d| date(doc, d)),
    );
    match dates {
        (Some(start), Some(end)) if start != end => parts.push(tr_with(
            doc.locale,
            "invoice.pdf.event_dates",
            &[("start", &start), ("end", &end)],
        )),
        (Some(day), _) | (None, Some(day)) => parts.push(tr_with(
            doc.locale,
            "invoice.pdf.event_date",
            &[("date", &day)],
        )),
        (None, None) => {}
    }
    parts.extend(e.location.clone().filter(|p| !p.is_empty()));
    let text = field(doc, "invoice.pdf.event", &parts.join(", "));
    l.paragraph(MARGIN, RIGHT - MARGIN, BODY, &text);
    l.y += 10.0;
}

/// Payment terms, late-payment penalties, the organiser's own footer.
pub(crate) fn mentions(l: &mut Layout, doc: &Document) {
    let s = &doc.seller;
    for text in [&s.payment_terms, &s.late_penalties, &s.footer] {
        if !text.trim().is_empty() {
            l.paragraph(MARGIN, RIGHT - MARGIN, SMALL, text);
            l.y += 4.0;
        }
    }
}
