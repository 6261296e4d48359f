//! Badges for the door: A6 (one per page) or A4 sheets of 8 (2 columns × 4 rows of 105 × 74.25 mm), each with the holder's name (large, wrapped to at most 2 lines, shrunk to fit), company (if any), pass name, the event name, and the ticket's QR code.
//!
//! Written with krilla as the invoices are (`invoicing::pdf`): text is shaped with rustybuzz and
//! drawn as real glyphs (selectable, extractable), in the same embedded DejaVu fonts; the QR
//! code is black squares, one rectangle per horizontal run of dark modules.
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use std::sync::LazyLock;

/// One attendee's badge: the QR code encodes `qr` (the ticket's token); no code when it is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Badge {
    pub name: String,
    pub company: Option<String>,
    pub pass: String,
    pub qr: String,
}

/// The paper: one A6 badge per page, or A4 sheets of 8 to cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sheet {
    A6,
    A4,
}

impl Sheet {
    /// "a6" or "a4", whatever the case.
    pub fn parse(s: &str) -> Option<Sheet> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a6" => Some(Sheet::A6),
            "a4" => Some(Sheet::A4),
            _ => None,
        }
    }
}

/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
/// A6 portrait, in points.
const A6_W: f32 = 297.64;
const A6_H: f32 = 419.53;
/// A4 portrait, in points, and its 2 × 4 cells of 105 × 74.25 mm.
const A4_W: f32 = 595.28;
const A4_H: f32 = 841.89;
const COLUMNS: usize = 2;
const PER_SHEET: usize = 8;
const CELL_W: f32 = A4_W / 2.0;
const CELL_H: f32 = A4_H / 4.0;
/// Longer texts are cut (with "…") before layout: no badge shows more, and shaping stays cheap.
const MAX_CHARS: usize = 300;
/// Modules of white around a QR code.
const QUIET: f32 = 4.0;

/// The PDF of these badges (an empty list gives one blank page is NOT wanted: return Err("no badges".into())).
pub fn render(event: &str, badges: &[Badge], sheet: Sheet) -> Result<Vec<u8>, String> {
    if badges.is_empty() {
        return Err("no badges".into());
    }
    let faces = FACES
        .as_ref()
        .ok_or("the badge fonts could not be loaded")?;
    let codes = badges
        .iter()
        .map(|b| QrGrid::encode(&b.qr))
        .collect::<Result<Vec<_>, String>>()?;
    let (event, _) = clean(event);

    let (width, height, per_page) = match sheet {
        Sheet::A6 => (A6_W, A6_H, 1),
        Sheet::A4 => (A4_W, A4_H, PER_SHEET),
    };
    let size = PageSettings::from_wh(width, height).ok_or("invalid page size")?;
    let mut pdf = krilla::Document::new();
    pdf.set_metadata(Metadata::new().title(format!("Badges: {event}")));
    for (page_badges, page_codes) in badges.chunks(per_page).zip(codes.chunks(per_page)) {
        let mut page = pdf.start_page_with(size.clone());
        let mut surface = page.surface();
        match sheet {
            Sheet::A6 => {
                for (badge, code) in page_badges.iter().zip(page_codes) {
                    a6_badge(&mut surface, faces, &event, badge, code.as_ref());
                }
            }
            Sheet::A4 => {
                cut_lines(&mut surface, page_badges.len());
                let cells = page_badges.iter().zip(page_codes).enumerate();
                for (i, (badge, code)) in cells {
                    let x = (i % COLUMNS) as f32 * CELL_W;
                    let y = (i / COLUMNS) as f32 * CELL_H;
                    a4_cell(&mut surface, faces, &event, (x, y), badge, code.as_ref());
                }
            }
        }
        surface.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| format!("PDF: {e}"))
}

// ---- fonts and text ----

/// A font as krilla embeds it and as rustybuzz shapes it.
struct Face {
    pdf: Font,
    shaper: rustybuzz::Face<'static>,
}

impl Face {
    fn load(data: &'static [u8]) -> Option<Face> {
        Some(Face {
            pdf: Font::new(data.into(), 0)?,
            shaper: rustybuzz::Face::from_slice(data, 0)?,
        })
    }
}

/// The invoices' fonts, embedded again here.
struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    fn load() -> Option<Faces> {
        Some(Faces {
            regular: Face::load(include_bytes!("../invoicing/fonts/DejaVuSans.ttf"))?,
            bold: Face::load(include_bytes!("../invoicing/fonts/DejaVuSans-Bold.ttf"))?,
        })
    }
}

static FACES: LazyLock<Option<Faces>> = LazyLock::new(Faces::load);

/// How a piece of text looks: font, size in points, grey level (0 = black).
#[derive(Clone, Copy)]
struct Style {
    bold: bool,
    size: f32,
    grey: u8,
}

impl Style {
    const fn new(bold: bool, size: f32, grey: u8) -> Style {
        Style { bold, size, grey }
    }

    /// Baseline-to-baseline distance.
    fn leading(self) -> f32 {
        self.size * 1.3
    }
}

impl Faces {
    fn face(&self, style: Style) -> &Face {
        if style.bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    /// The width of `text` on one line, in points.
    fn width(&self, style: Style, text: &str) -> f32 {
        advance(&self.face(style).shaper, text) * style.size
    }

    /// `text` if it fits `width`, else as much of it as fits followed by "…".
    fn fit(&self, style: Style, text: &str, width: f32) -> String {
        if self.width(style, text) <= width {
            text.to_string()
        } else {
            self.ellipsize(style, text, width)
        }
    }

    /// The longest start of `text` that fits `width` with "…" after it (just "…" if none does).
    fn ellipsize(&self, style: Style, text: &str, width: f32) -> String {
        // Byte offsets after 0, 1, 2… characters.
        let ends: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain(std::iter::once(text.len()))
            .collect();
        let candidate = |chars: usize| -> String {
            let end = match chars {
                0 => 0,
                n => ends.get(n - 1).copied().unwrap_or(text.len()),
            };
            format!("{}…", text.get(..end).unwrap_or_default().trim_end())
        };
        let fits = |chars: usize| self.width(style, &candidate(chars)) <= width;
        // The largest count that fits (widths grow with the count, kerning aside).
        let (mut lo, mut hi) = (0, ends.len());
        while lo < hi {
            let mid = hi - (hi - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        candidate(lo)
    }

    /// `text` in lines no wider than `width`, broken at spaces, a word too long for a line cut
    /// anywhere; and whether a word had to be cut.
    fn wrap(&self, style: Style, text: &str, width: f32) -> (Vec<String>, bool) {
        let space = self.width(style, " ");
        let mut lines = vec![];
        let mut cut = false;
        let (mut line, mut line_w) = (String::new(), 0.0);
        for word in text.split_whitespace() {
            let pieces = self.cut_word(style, word, width);
            cut |= pieces.len() > 1;
            for piece in pieces {
                let w = self.width(style, &piece);
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
        if !line.is_empty() {
            lines.push(line);
        }
        (lines, cut)
    }

    /// A word as pieces that each fit `width` (usually the word itself).
    fn cut_word(&self, style: Style, word: &str, width: f32) -> Vec<String> {
        if self.width(style, word) <= width {
            return vec![word.to_string()];
        }
        let mut pieces = vec![];
        let mut piece = String::new();
        for c in word.chars() {
            let mut longer = piece.clone();
            longer.push(c);
            if !piece.is_empty() && self.width(style, &longer) > width {
                pieces.push(std::mem::replace(&mut piece, c.to_string()));
            } else {
                piece = longer;
            }
        }
        if !piece.is_empty() {
            pieces.push(piece);
        }
        pieces
    }

    /// A name in at most two lines no wider than `width`, in the largest bold size from `max`
    /// down to `min` where it fits whole; at `min`, what does not fit ends in "…".
    fn name_lines(&self, name: &str, width: f32, max: f32, min: f32) -> (Style, Vec<String>) {
        let (name, clamped) = clean(name);
        let biggest = Style::new(true, max, 0);
        if name.is_empty() {
            return (biggest, vec![]);
        }
        let steps = (max - min).max(0.0) as usize;
        if !clamped {
            for step in 0..=steps {
                let style = Style::new(true, max - step as f32, 0);
                let (lines, cut) = self.wrap(style, &name, width);
                if !cut && lines.len() <= 2 {
                    return (style, lines);
                }
            }
        }
        let style = Style::new(true, min.min(max), 0);
        let (mut lines, _) = self.wrap(style, &name, width);
        if lines.len() > 2 || clamped {
            lines.truncate(2);
            if let Some(last) = lines.pop() {
                lines.push(self.ellipsize(style, &last, width));
            }
        }
        (style, lines)
    }
}

/// `text` on one line (runs of whitespace as one space), at most `MAX_CHARS` characters; and
/// whether it was cut.
fn clean(text: &str) -> (String, bool) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => (joined.get(..end).unwrap_or_default().to_string(), true),
        None => (joined, false),
    }
}

/// A one-line text for the badge: cleaned, then cut with "…" if wider than `width`.
fn one_line(faces: &Faces, style: Style, text: &str, width: f32) -> String {
    let (text, clamped) = clean(text);
    if clamped {
        faces.ellipsize(style, &text, width)
    } else {
        faces.fit(style, &text, width)
    }
}

/// Runs `text` through rustybuzz, left to right.
fn shape_buffer(face: &rustybuzz::Face, text: &str) -> rustybuzz::GlyphBuffer {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    buffer.guess_segment_properties();
    rustybuzz::shape(face, &[], buffer)
}

fn units_per_em(face: &rustybuzz::Face) -> f32 {
    (face.units_per_em() as f32).max(1.0)
}

/// The advance of `text` in em.
fn advance(face: &rustybuzz::Face, text: &str) -> f32 {
    if text.is_empty() {
        return 0.0;
    }
    let out = shape_buffer(face, text);
    let total: f32 = out
        .glyph_positions()
        .iter()
        .map(|p| p.x_advance as f32)
        .sum();
    total / units_per_em(face)
}

/// The glyphs of `text` in one font, advances in em, each knowing the text it stands for (the
/// PDF's ToUnicode map, for copy-paste and text extraction). Characters the font lacks become
/// its .notdef glyph.
fn shape(face: &rustybuzz::Face, text: &str) -> Vec<KrillaGlyph> {
    let out = shape_buffer(face, text);
    let em = units_per_em(face);
    let infos = out.glyph_infos();
    let glyphs = infos.iter().zip(out.glyph_positions()).enumerate();
    glyphs
        .map(|(i, (info, pos))| {
            let start = (info.cluster as usize).min(text.len());
            let end = infos
                .get(i + 1..)
                .unwrap_or(&[])
                .iter()
                .map(|next| next.cluster as usize)
                .find(|&c| c > start)
                .unwrap_or(text.len())
                .min(text.len());
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

// ---- painting ----

fn grey(level: u8) -> Fill {
    Fill {
        paint: luma::Color::new(level).into(),
        ..Fill::default()
    }
}

fn hairline(level: u8) -> Stroke {
    Stroke {
        paint: luma::Color::new(level).into(),
        width: 0.5,
        ..Stroke::default()
    }
}

/// Text whose line box starts at `top`, from `x`.
fn draw_text(surface: &mut Surface, faces: &Faces, style: Style, x: f32, top: f32, text: &str) {
    if text.is_empty() {
        return;
    }
    let face = faces.face(style);
    let glyphs = shape(&face.shaper, text);
    surface.set_stroke(None);
    surface.set_fill(Some(grey(style.grey)));
    let at = Point::from_xy(x, top + style.size);
    surface.draw_glyphs(at, &glyphs, face.pdf.clone(), text, style.size, false);
}

/// Text centred on `center`.
fn draw_centered(
    surface: &mut Surface,
    faces: &Faces,
    style: Style,
    center: f32,
    top: f32,
    text: &str,
) {
    let x = center - faces.width(style, text) / 2.0;
    draw_text(surface, faces, style, x, top, text);
}

/// A thin horizontal rule.
fn rule(surface: &mut Surface, x1: f32, x2: f32, y: f32) {
    let mut path = PathBuilder::new();
    path.move_to(x1, y);
    path.line_to(x2, y);
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(hairline(200)));
        surface.draw_path(&path);
    }
}

/// Light grey lines around the first `count` cells of an A4 sheet, to cut along.
fn cut_lines(surface: &mut Surface, count: usize) {
    let mut path = PathBuilder::new();
    for i in 0..count.min(PER_SHEET) {
        let x = (i % COLUMNS) as f32 * CELL_W;
        let y = (i / COLUMNS) as f32 * CELL_H;
        if let Some(rect) = Rect::from_xywh(x, y, CELL_W, CELL_H) {
            path.push_rect(rect);
        }
    }
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(hairline(205)));
        surface.draw_path(&path);
    }
}

/// A QR code's modules, row by row.
struct QrGrid {
    width: usize,
    dark: Vec<bool>,
}

impl QrGrid {
    /// The code of `text` (error correction M); none for an empty text.
    fn encode(text: &str) -> Result<Option<QrGrid>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
            .map_err(|e| format!("QR code of a badge: {e}"))?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(Some(QrGrid {
            width: code.width(),
            dark,
        }))
    }

    /// The side of one module when the symbol (quiet zone excluded) is `side` wide.
    fn module(&self, side: f32) -> f32 {
        side / self.width.max(1) as f32
    }

    /// The symbol with its top-left corner at (`x`, `y`), `side` wide (the quiet zone around it
    /// is left white): one black rectangle per horizontal run of dark modules.
    fn draw(&self, surface: &mut Surface, x: f32, y: f32, side: f32) {
        if self.width == 0 {
            return;
        }
        let m = self.module(side);
        let mut path = PathBuilder::new();
        for (row, cells) in self.dark.chunks(self.width).enumerate() {
            let top = y + row as f32 * m;
            let mut run: Option<usize> = None;
            for (col, &dark) in cells.iter().chain(std::iter::once(&false)).enumerate() {
                match (dark, run) {
                    (true, None) => run = Some(col),
                    (false, Some(start)) => {
                        let left = x + start as f32 * m;
                        let w = (col - start) as f32 * m;
                        if let Some(rect) = Rect::from_xywh(left, top, w, m) {
                            path.push_rect(rect);
                        }
                        run = None;
                    }
                    _ => {}
                }
            }
        }
        if let Some(path) = path.finish() {
            surface.set_stroke(None);
            surface.set_fill(Some(grey(0)));
            surface.draw_path(&path);
        }
    }
}

// ---- the badges ----

/// The company if there is one worth printing.
fn company_of(badge: &Badge) -> Option<&str> {
    badge
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

/// A6 portrait: event at the top, then name, company and pass centred, the QR code below.
fn a6_badge(
    surface: &mut Surface,
    faces: &Faces,
    event: &str,
    badge: &Badge,
    code: Option<&QrGrid>,
) {
    const MARGIN: f32 = 22.0;
    const EVENT: Style = Style::new(false, 9.0, 90);
    const COMPANY: Style = Style::new(false, 12.0, 50);
    const PASS: Style = Style::new(true, 11.0, 0);
    let width = A6_W - 2.0 * MARGIN;
    let center = A6_W / 2.0;

    let mut y = MARGIN;
    let event = one_line(faces, EVENT, event, width);
    draw_centered(surface, faces, EVENT, center, y, &event);
    y += EVENT.leading() + 5.0;
    rule(surface, MARGIN, A6_W - MARGIN, y);
    y += 16.0;

    let (style, lines) = faces.name_lines(&badge.name, width, 24.0, 14.0);
    for line in &lines {
        draw_centered(surface, faces, style, center, y, line);
        y += style.size * 1.2;
    }
    y += 8.0;
    if let Some(company) = company_of(badge) {
        let company = one_line(faces, COMPANY, company, width);
        draw_centered(surface, faces, COMPANY, center, y, &company);
        y += COMPANY.leading();
    }
    let pass = one_line(faces, PASS, &badge.pass, width);
    draw_centered(surface, faces, PASS, center, y, &pass);

    if let Some(code) = code {
        // 45 mm of modules, centred in the space below the text (at most 2 name lines of 24 pt,
        // a company and a pass end above 170 pt).
        let side = 45.0 * MM;
        let quiet = QUIET * code.module(side);
        let (area_top, area_bottom) = (170.0_f32, A6_H - MARGIN.max(quiet));
        let top = (area_top + (area_bottom - area_top - side) / 2.0).max(area_top);
        code.draw(surface, center - side / 2.0, top, side);
    }
}

/// One cell of an A4 sheet, its top-left corner at `origin`: event at the top, name and company
/// on the left ~60 %, the pass at the bottom left, the QR code on the right.
fn a4_cell(
    surface: &mut Surface,
    faces: &Faces,
    event: &str,
    origin: (f32, f32),
    badge: &Badge,
    code: Option<&QrGrid>,
) {
    const PAD: f32 = 12.0;
    const EVENT: Style = Style::new(false, 7.5, 110);
    const COMPANY: Style = Style::new(false, 10.5, 50);
    const PASS: Style = Style::new(true, 9.5, 0);
    let (x, y) = origin;
    let side = 35.0 * MM;
    let left = x + PAD;
    let mut right = x + CELL_W * 0.6;
    if let Some(code) = code {
        let quiet = QUIET * code.module(side);
        let code_x = x + CELL_W - PAD.max(quiet) - side;
        code.draw(surface, code_x, y + (CELL_H - side) / 2.0, side);
        // The text keeps out of the quiet zone.
        right = right.min(code_x - quiet.max(8.0));
    }
    let width = (right - left).max(20.0);

    let event = one_line(faces, EVENT, event, width);
    draw_text(surface, faces, EVENT, left, y + PAD, &event);

    let mut top = y + 48.0;
    let (style, lines) = faces.name_lines(&badge.name, width, 20.0, 12.0);
    for line in &lines {
        draw_text(surface, faces, style, left, top, line);
        top += style.size * 1.2;
    }
    top += 4.0;
    if let Some(company) = company_of(badge) {
        let company = one_line(faces, COMPANY, company, width);
        draw_text(surface, faces, COMPANY, left, top, &company);
    }
    let pass = one_line(faces, PASS, &badge.pass, width);
    let pass_top = y + CELL_H - PAD - PASS.leading();
    draw_text(surface, faces, PASS, left, pass_top, &pass);
}

#[cfg(test)]
mod tests {
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
}
