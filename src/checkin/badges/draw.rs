//! Painting: text, rules, cut lines and QR codes.
use super::*;

// ---- painting ----

pub(crate) fn hairline(level: u8) -> Stroke {
    Stroke {
        paint: luma::Color::new(level).into(),
        width: 0.5,
        ..Stroke::default()
    }
}

/// Text whose line box starts at `top`, from `x`.
pub(crate) fn draw_text(
    surface: &mut Surface,
    faces: &Faces,
    style: Style,
    x: f32,
    top: f32,
    text: &str,
) {
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
pub(crate) fn draw_centered(
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
pub(crate) fn rule(surface: &mut Surface, x1: f32, x2: f32, y: f32) {
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
pub(crate) fn cut_lines(surface: &mut Surface, count: usize) {
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
pub(crate) struct QrGrid {
    width: usize,
    dark: Vec<bool>,
}

impl QrGrid {
    /// The code of `text` (error correction M); none for an empty text.
    pub(crate) fn encode(text: &str) -> Result<Option<QrGrid>, String> {
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
    pub(crate) fn module(&self, side: f32) -> f32 {
        side / self.width.max(1) as f32
    }

    /// The symbol with its top-left corner at (`x`, `y`), `side` wide (the quiet zone around it
    /// is left white): one black rectangle per horizontal run of dark modules.
    pub(crate) fn draw(&self, surface: &mut Surface, x: f32, y: f32, side: f32) {
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
