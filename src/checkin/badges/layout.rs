//! The badges' layouts: one A6 page, one cell of an A4 sheet.
use super::*;

// ---- the badges ----

/// The company if there is one worth printing.
pub(crate) fn company_of(badge: &Badge) -> Option<&str> {
    badge
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

/// The text styles of a layout: the event's line, the company, the pass.
struct Styles {
    event: Style,
    company: Style,
    pass: Style,
}

const A6_STYLES: Styles = Styles {
    event: Style::new(false, 9.0, 90),
    company: Style::new(false, 12.0, 50),
    pass: Style::new(true, 11.0, 0),
};

const A4_STYLES: Styles = Styles {
    event: Style::new(false, 7.5, 110),
    company: Style::new(false, 10.5, 50),
    pass: Style::new(true, 9.5, 0),
};

/// A6 portrait: event at the top, then name, company and pass centred, the QR code below.
pub(crate) fn a6_badge(
    surface: &mut Surface,
    faces: &Faces,
    event: &str,
    badge: &Badge,
    code: Option<&QrGrid>,
) {
    const MARGIN: f32 = 22.0;
    let st = A6_STYLES;
    let width = A6_W - 2.0 * MARGIN;
    let center = A6_W / 2.0;

    let mut y = MARGIN;
    let event = one_line(faces, st.event, event, width);
    draw_centered(surface, faces, st.event, center, y, &event);
    y += st.event.leading() + 5.0;
    rule(surface, MARGIN, A6_W - MARGIN, y);
    y += 16.0;

    let y = name_and_company(
        faces,
        badge,
        width,
        (24.0, 14.0, 8.0),
        st.company,
        y,
        |style, y, line| draw_centered(surface, faces, style, center, y, line),
    );
    let pass = one_line(faces, st.pass, &badge.pass, width);
    draw_centered(surface, faces, st.pass, center, y, &pass);

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
pub(crate) fn a4_cell(
    surface: &mut Surface,
    faces: &Faces,
    event: &str,
    origin: (f32, f32),
    badge: &Badge,
    code: Option<&QrGrid>,
) {
    const PAD: f32 = 12.0;
    let st = A4_STYLES;
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

    let event = one_line(faces, st.event, event, width);
    draw_text(surface, faces, st.event, left, y + PAD, &event);

    name_and_company(
        faces,
        badge,
        width,
        (20.0, 12.0, 4.0),
        st.company,
        y + 48.0,
        |style, top, line| draw_text(surface, faces, style, left, top, line),
    );
    let pass = one_line(faces, st.pass, &badge.pass, width);
    let pass_top = y + CELL_H - PAD - st.pass.leading();
    draw_text(surface, faces, st.pass, left, pass_top, &pass);
}

/// The holder's name (one or two lines, as large as fits from `sizes.0` down to `sizes.1` points),
/// a gap of `sizes.2`, then their company, from `y` down, each line drawn by `draw`; returns the y
/// under them.
fn name_and_company(
    faces: &Faces,
    badge: &Badge,
    width: f32,
    sizes: (f32, f32, f32),
    company_style: Style,
    mut y: f32,
    mut draw: impl FnMut(Style, f32, &str),
) -> f32 {
    let (max, min, gap) = sizes;
    let (style, lines) = faces.name_lines(&badge.name, width, max, min);
    for line in &lines {
        draw(style, y, line);
        y += style.size * 1.2;
    }
    y += gap;
    if let Some(company) = company_of(badge) {
        let company = one_line(faces, company_style, company, width);
        draw(company_style, y, &company);
        y += company_style.leading();
    }
    y
}
