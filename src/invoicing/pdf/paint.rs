//! Painting: the laid-out pages written with krilla.
use super::*;

// ---- painting ----

pub(crate) fn paint(pages: &[Vec<Mark>], doc: &Document) -> Result<Vec<u8>, String> {
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

pub(crate) fn paint_mark(surface: &mut Surface, mark: &Mark) {
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
