//! An invoice or credit note as a PDF (A4), written with krilla. Two passes: the layout places
//! shaped text and rules page by page (a new page repeats the table's header), then the painter
//! writes the pages, each with "page n / m" at its foot now that the count is known.
//!
//! Text is shaped here with rustybuzz (the shaper krilla itself uses) rather than through
//! krilla's `draw_text`: the same glyphs give the widths needed to right-align amounts and wrap
//! long texts, and are then drawn as they are.
use super::document::{rate_text, DocKind, Document};
use crate::i18n::{tr, tr_with, Locale};
use crate::money::format_money;
use chrono::{DateTime, Utc};
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use std::sync::LazyLock;

/// A4 in points, and the printable area.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 42.0;
const RIGHT: f32 = PAGE_W - MARGIN;
/// Content stops here; the page number sits below.
const BOTTOM: f32 = PAGE_H - 52.0;
/// Inner padding of a table cell.
const PAD: f32 = 4.0;

/// Renders a document to PDF bytes (A4). Pure: the same document gives the same bytes' text.
pub fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let mut l = Layout::new();
    header(&mut l, doc);
    parties(&mut l, doc);
    event(&mut l, doc);
    lines_table(&mut l, doc);
    totals(&mut l, doc);
    mentions(&mut l, doc);
    l.number_pages(&doc.number, doc.locale);
    paint(&l.pages, doc)
}

// ---- fonts and text ----

/// A font as krilla embeds it and as rustybuzz shapes it.
struct Face {
    pdf: Font,
    shaper: rustybuzz::Face<'static>,
}

impl Face {
    fn load(data: &'static [u8]) -> Face {
        Face {
            pdf: Font::new(data.into(), 0).expect("embedded font is valid"),
            shaper: rustybuzz::Face::from_slice(data, 0).expect("embedded font is valid"),
        }
    }
}

static REGULAR: LazyLock<Face> =
    LazyLock::new(|| Face::load(include_bytes!("fonts/DejaVuSans.ttf")));
static BOLD: LazyLock<Face> =
    LazyLock::new(|| Face::load(include_bytes!("fonts/DejaVuSans-Bold.ttf")));

/// How a piece of text looks: font, size in points, grey level (0 = black).
#[derive(Clone, Copy)]
struct Style {
    bold: bool,
    size: f32,
    grey: u8,
}

const BODY: Style = Style {
    bold: false,
    size: 9.0,
    grey: 0,
};
const BODY_BOLD: Style = Style { bold: true, ..BODY };
const LABEL: Style = Style {
    bold: true,
    size: 8.0,
    grey: 90,
};
const SMALL: Style = Style {
    bold: false,
    size: 7.5,
    grey: 60,
};

impl Style {
    fn face(self) -> &'static Face {
        if self.bold {
            &BOLD
        } else {
            &REGULAR
        }
    }

    /// Baseline-to-baseline distance.
    fn leading(self) -> f32 {
        self.size * 1.35
    }

    fn width(self, text: &str) -> f32 {
        shape(&self.face().shaper, text)
            .iter()
            .map(|g| g.x_advance)
            .sum::<f32>()
            * self.size
    }
}

/// The glyphs of `text` in one font, advances in em, each knowing the text it stands for (the
/// PDF's ToUnicode map, for copy-paste and text extraction). Left to right only.
fn shape(face: &rustybuzz::Face, text: &str) -> Vec<KrillaGlyph> {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    buffer.guess_segment_properties();
    let out = rustybuzz::shape(face, &[], buffer);
    let em = face.units_per_em() as f32;
    let infos = out.glyph_infos();
    let glyphs = infos.iter().zip(out.glyph_positions()).enumerate();
    glyphs
        .map(|(i, (info, pos))| {
            let start = info.cluster as usize;
            let end = infos[i + 1..]
                .iter()
                .map(|next| next.cluster as usize)
                .find(|&c| c > start)
                .unwrap_or(text.len());
            KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                pos.x_advance as f32 / em,
                pos.x_offset as f32 / em,
                pos.y_offset as f32 / em,
                pos.y_advance as f32 / em,
                start..end,
                None,
            )
        })
        .collect()
}

/// `text` cut into lines no wider than `width`: paragraphs at '\n', words at ' ' only (the
/// narrow no-break spaces of French amounts must hold), a word too long for a line cut anywhere.
fn wrap(style: Style, text: &str, width: f32) -> Vec<String> {
    let space = style.width(" ");
    let mut lines = vec![];
    for paragraph in text.split('\n') {
        let (mut line, mut line_w) = (String::new(), 0.0);
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            for piece in cut_word(style, word, width) {
                let w = style.width(&piece);
                if !line.is_empty() && line_w + space + w > width {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                if !line.is_empty() {
                    line.push(' ');
                    line_w += space;
                }
                line.push_str(&piece);
                line_w += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// A word as pieces that each fit `width` (usually the word itself).
fn cut_word(style: Style, word: &str, width: f32) -> Vec<String> {
    if style.width(word) <= width {
        return vec![word.to_string()];
    }
    let mut pieces = vec![String::new()];
    for c in word.chars() {
        let last = pieces.last_mut().expect("never empty");
        let mut longer = last.clone();
        longer.push(c);
        if !last.is_empty() && style.width(&longer) > width {
            pieces.push(c.to_string());
        } else {
            *last = longer;
        }
    }
    pieces
}

// ---- layout ----

/// What a page shows: shaped text at a baseline, a horizontal rule, a grey band.
enum Mark {
    Text {
        at: Point,
        style: Style,
        text: String,
        glyphs: Vec<KrillaGlyph>,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
    },
    Band {
        rect: Rect,
    },
}

/// The pages laid out so far and the cursor: `y` is the top of the next line on the last page.
struct Layout {
    pages: Vec<Vec<Mark>>,
    y: f32,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            pages: vec![vec![]],
            y: MARGIN,
        }
    }

    fn mark(&mut self, mark: Mark) {
        self.pages.last_mut().expect("a page").push(mark);
    }

    /// Whether `height` more points fit on this page.
    fn fits(&self, height: f32) -> bool {
        self.y + height <= BOTTOM
    }

    fn new_page(&mut self) {
        self.pages.push(vec![]);
        self.y = MARGIN;
    }

    /// A page break unless `height` fits.
    fn keep(&mut self, height: f32) {
        if !self.fits(height) {
            self.new_page();
        }
    }

    /// Text whose line box starts at `top`, from `x`.
    fn text_at(&mut self, x: f32, top: f32, style: Style, text: &str) {
        if text.is_empty() {
            return;
        }
        let glyphs = shape(&style.face().shaper, text);
        self.mark(Mark::Text {
            at: Point::from_xy(x, top + style.size),
            style,
            text: text.to_string(),
            glyphs,
        });
    }

    /// Text ending at `right`.
    fn text_right(&mut self, right: f32, top: f32, style: Style, text: &str) {
        self.text_at(right - style.width(text), top, style, text);
    }

    /// Wrapped text in `[x, x + width]` from the cursor down, breaking pages as needed.
    fn paragraph(&mut self, x: f32, width: f32, style: Style, text: &str) {
        for line in wrap(style, text, width) {
            self.keep(style.leading());
            self.text_at(x, self.y, style, &line);
            self.y += style.leading();
        }
    }

    fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.mark(Mark::Rule { x1, x2, y });
    }

    fn band(&mut self, x: f32, y: f32, w: f32, h: f32) {
        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
            self.mark(Mark::Band { rect });
        }
    }

    /// "F-2027-0042 … Page n / m" at the foot of every page.
    fn number_pages(&mut self, number: &str, locale: Locale) {
        let count = self.pages.len().to_string();
        let top = PAGE_H - 34.0;
        for n in 0..self.pages.len() {
            let page_no = (n + 1).to_string();
            let label = tr_with(
                locale,
                "invoice.pdf.page",
                &[("n", &page_no), ("m", &count)],
            );
            let glyphs_left = shape(&SMALL.face().shaper, number);
            let x_right = RIGHT - SMALL.width(&label);
            let glyphs_right = shape(&SMALL.face().shaper, &label);
            let page = &mut self.pages[n];
            page.push(Mark::Text {
                at: Point::from_xy(MARGIN, top + SMALL.size),
                style: SMALL,
                text: number.to_string(),
                glyphs: glyphs_left,
            });
            page.push(Mark::Text {
                at: Point::from_xy(x_right, top + SMALL.size),
                style: SMALL,
                text: label,
                glyphs: glyphs_right,
            });
        }
    }
}

// ---- the document's parts ----

fn t(doc: &Document, key: &str) -> String {
    tr(doc.locale, key)
}

/// "Label : value" (French) / "Label: value".
fn field(doc: &Document, key: &str, value: &str) -> String {
    tr_with(
        doc.locale,
        "invoice.pdf.field",
        &[("label", &t(doc, key)), ("value", value)],
    )
}

fn money(doc: &Document, cents: i64) -> String {
    format_money(cents, &doc.currency, doc.locale)
}

/// A date in the document's time zone (Europe/Paris when it is not one): 05/06/2027, 5 June 2027.
fn date(doc: &Document, at: DateTime<Utc>) -> String {
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
fn header(l: &mut Layout, doc: &Document) {
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
fn parties(l: &mut Layout, doc: &Document) {
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
fn block(l: &mut Layout, x: f32, width: f32, top: f32, lines: &[(Style, String)]) -> f32 {
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
fn event(l: &mut Layout, doc: &Document) {
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

/// A table column: header key, width (the first column takes what is left), alignment.
struct Column {
    key: &'static str,
    width: f32,
    right: bool,
}

/// Columns placed from the left margin to the right one: (x, width, right-aligned).
fn place(columns: &[Column], left: f32) -> Vec<(f32, f32, bool)> {
    let fixed: f32 = columns.iter().skip(1).map(|c| c.width).sum();
    let mut x = left;
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let width = if i == 0 && c.width == 0.0 {
                RIGHT - left - fixed
            } else {
                c.width
            };
            let placed = (x, width, c.right);
            x += width;
            placed
        })
        .collect()
}

fn line_columns(vat: bool) -> Vec<Column> {
    let col = |key, width, right| Column { key, width, right };
    if vat {
        vec![
            col("invoice.pdf.col.description", 0.0, false),
            col("invoice.pdf.col.quantity", 32.0, true),
            col("invoice.pdf.col.unit_net", 72.0, true),
            col("invoice.pdf.col.vat_rate", 44.0, true),
            col("invoice.pdf.col.net", 74.0, true),
            col("invoice.pdf.col.gross", 74.0, true),
        ]
    } else {
        vec![
            col("invoice.pdf.col.description", 0.0, false),
            col("invoice.pdf.col.quantity", 32.0, true),
            col("invoice.pdf.col.unit_price", 84.0, true),
            col("invoice.pdf.col.amount", 84.0, true),
        ]
    }
}

/// The lines, the header repeated on every page the table runs onto.
fn lines_table(l: &mut Layout, doc: &Document) {
    let vat = doc.seller.vat_registered;
    let columns = line_columns(vat);
    let placed = place(&columns, MARGIN);
    let head: Vec<String> = columns.iter().map(|c| t(doc, c.key)).collect();
    table_row(l, &placed, LABEL, &head, true);
    for line in &doc.lines {
        let mut cells = vec![
            line.description.clone(),
            line.quantity.to_string(),
            money(doc, line.unit_net_cents),
        ];
        if vat {
            cells.extend([
                rate_text(line.vat_rate_bp, doc.locale),
                money(doc, line.net_cents),
            ]);
        }
        cells.push(money(doc, line.gross_cents));
        if !table_row(l, &placed, BODY, &cells, false) {
            l.new_page();
            table_row(l, &placed, LABEL, &head, true);
            table_row(l, &placed, BODY, &cells, false);
        }
    }
    l.y += 12.0;
}

/// One row of cells, wrapped in their columns, a header on a grey band, a row over a thin rule.
/// False (and nothing drawn) when the row does not fit on this page.
fn table_row(
    l: &mut Layout,
    placed: &[(f32, f32, bool)],
    style: Style,
    cells: &[String],
    header: bool,
) -> bool {
    let wrapped: Vec<Vec<String>> = placed
        .iter()
        .zip(cells)
        .map(|((_, width, _), text)| wrap(style, text, width - 2.0 * PAD))
        .collect();
    let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1) as f32;
    let height = lines * style.leading() + 2.0 * PAD;
    if !l.fits(height) {
        return false;
    }
    let (left, right) = (placed[0].0, RIGHT);
    if header {
        l.band(left, l.y, right - left, height);
    }
    for (&(x, width, right_aligned), cell) in placed.iter().zip(&wrapped) {
        let mut y = l.y + PAD;
        for line in cell {
            if right_aligned {
                l.text_right(x + width - PAD, y, style, line);
            } else {
                l.text_at(x + PAD, y, style, line);
            }
            y += style.leading();
        }
    }
    l.y += height;
    if !header {
        l.rule(left, right, l.y);
    }
    true
}

/// The per-rate summary, the totals and what was paid or refunded, kept on one page.
fn totals(l: &mut Layout, doc: &Document) {
    let vat = doc.seller.vat_registered;
    let rates = doc.rate_totals();
    let (net, vat_total, gross) = doc.totals();
    let mut rows: Vec<(String, i64, bool)> = vec![];
    if vat {
        rows.push((t(doc, "invoice.pdf.total_net"), net, false));
        rows.push((t(doc, "invoice.pdf.total_vat"), vat_total, false));
        rows.push((t(doc, "invoice.pdf.total_gross"), gross, true));
    } else {
        rows.push((t(doc, "invoice.pdf.total"), gross, true));
    }
    match doc.kind {
        DocKind::Invoice => {
            let paid = if doc.paid_at.is_some() { gross } else { 0 };
            rows.push((t(doc, "invoice.pdf.paid"), paid, false));
            rows.push((t(doc, "invoice.pdf.due"), gross - paid, true));
        }
        DocKind::CreditNote => rows.push((t(doc, "invoice.pdf.refunded"), -gross, true)),
    }

    let rate_rows = if vat { rates.len() as f32 + 1.0 } else { 0.0 };
    let exemption = if vat { 0.0 } else { 30.0 };
    let height = rate_rows * (BODY.leading() + 2.0 * PAD)
        + 12.0
        + rows.len() as f32 * (BODY.leading() + 3.0)
        + exemption;
    l.keep(height);

    if vat {
        let rate_columns = [
            Column {
                key: "invoice.pdf.rates.rate",
                width: 70.0,
                right: false,
            },
            Column {
                key: "invoice.pdf.rates.base",
                width: 80.0,
                right: true,
            },
            Column {
                key: "invoice.pdf.rates.vat",
                width: 80.0,
                right: true,
            },
            Column {
                key: "invoice.pdf.rates.gross",
                width: 80.0,
                right: true,
            },
        ];
        let placed = place(&rate_columns, RIGHT - 310.0);
        let head: Vec<String> = rate_columns.iter().map(|c| t(doc, c.key)).collect();
        table_row(l, &placed, LABEL, &head, true);
        for r in &rates {
            let cells = [
                rate_text(r.vat_rate_bp, doc.locale),
                money(doc, r.net_cents),
                money(doc, r.vat_cents),
                money(doc, r.gross_cents),
            ];
            table_row(l, &placed, BODY, &cells, false);
        }
        l.y += 12.0;
    }

    let label_x = RIGHT - 230.0;
    for (label, cents, bold) in rows {
        let style = if bold { BODY_BOLD } else { BODY };
        l.text_at(label_x, l.y, style, &label);
        l.text_right(RIGHT, l.y, style, &money(doc, cents));
        l.y += style.leading() + 3.0;
    }
    if !vat {
        l.y += 6.0;
        let prominent = Style {
            bold: true,
            size: 10.0,
            grey: 0,
        };
        l.paragraph(MARGIN, RIGHT - MARGIN, prominent, &doc.seller.vat_exemption);
    }
    l.y += 16.0;
}

/// Payment terms, late-payment penalties, the organiser's own footer.
fn mentions(l: &mut Layout, doc: &Document) {
    let s = &doc.seller;
    for text in [&s.payment_terms, &s.late_penalties, &s.footer] {
        if !text.trim().is_empty() {
            l.paragraph(MARGIN, RIGHT - MARGIN, SMALL, text);
            l.y += 4.0;
        }
    }
}

// ---- painting ----

fn paint(pages: &[Vec<Mark>], doc: &Document) -> Result<Vec<u8>, String> {
    let mut pdf = krilla::Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(doc.number.clone())
            .language(doc.locale.code().to_string())
            .document_id(doc.number.clone()),
    );
    let size = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("A4 is a valid page size")?;
    for marks in pages {
        let mut page = pdf.start_page_with(size.clone());
        let mut surface = page.surface();
        for mark in marks {
            paint_mark(&mut surface, mark);
        }
        surface.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| format!("PDF: {e}"))
}

fn grey(level: u8) -> Fill {
    Fill {
        paint: luma::Color::new(level).into(),
        ..Fill::default()
    }
}

fn paint_mark(surface: &mut Surface, mark: &Mark) {
    match mark {
        Mark::Text {
            at,
            style,
            text,
            glyphs,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(grey(style.grey)));
            let font = style.face().pdf.clone();
            surface.draw_glyphs(*at, glyphs, font, text, style.size, false);
        }
        Mark::Rule { x1, x2, y } => {
            let mut path = PathBuilder::new();
            path.move_to(*x1, *y);
            path.line_to(*x2, *y);
            if let Some(path) = path.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: luma::Color::new(200).into(),
                    width: 0.5,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
        Mark::Band { rect } => {
            let mut path = PathBuilder::new();
            path.push_rect(*rect);
            if let Some(path) = path.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(grey(236)));
                surface.draw_path(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoicing::document::{Buyer, DocLine, EventInfo, Seller};
    use chrono::TimeZone;

    const LATE: &str =
        "Pénalités de retard : trois fois le taux d'intérêt légal, indemnité de 40 €.";
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
}
