//! The layout: what each page shows (`Mark`s), placed by a cursor that breaks pages.
use super::*;

// ---- layout ----

/// What a page shows: shaped text at a baseline, a horizontal rule, a grey band.
pub(crate) enum Mark {
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
pub(crate) struct Layout {
    pub(crate) pages: Vec<Vec<Mark>>,
    pub(crate) y: f32,
}

impl Layout {
    pub(crate) fn new() -> Layout {
        Layout {
            pages: vec![vec![]],
            y: MARGIN,
        }
    }

    fn mark(&mut self, mark: Mark) {
        self.pages.last_mut().expect("a page").push(mark);
    }

    /// Whether `height` more points fit on this page.
    pub(crate) fn fits(&self, height: f32) -> bool {
        self.y + height <= BOTTOM
    }

    pub(crate) fn new_page(&mut self) {
        self.pages.push(vec![]);
        self.y = MARGIN;
    }

    /// A page break unless `height` fits.
    pub(crate) fn keep(&mut self, height: f32) {
        if !self.fits(height) {
            self.new_page();
        }
    }

    /// Text whose line box starts at `top`, from `x`.
    pub(crate) fn text_at(&mut self, x: f32, top: f32, style: Style, text: &str) {
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
    pub(crate) fn text_right(&mut self, right: f32, top: f32, style: Style, text: &str) {
        self.text_at(right - style.width(text), top, style, text);
    }

    /// Wrapped text in `[x, x + width]` from the cursor down, breaking pages as needed.
    pub(crate) fn paragraph(&mut self, x: f32, width: f32, style: Style, text: &str) {
        for line in wrap(style, text, width) {
            self.keep(style.leading());
            self.text_at(x, self.y, style, &line);
            self.y += style.leading();
        }
    }

    pub(crate) fn rule(&mut self, x1: f32, x2: f32, y: f32) {
        self.mark(Mark::Rule { x1, x2, y });
    }

    pub(crate) fn band(&mut self, x: f32, y: f32, w: f32, h: f32) {
        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
            self.mark(Mark::Band { rect });
        }
    }

    /// "F-2027-0042 … Page n / m" at the foot of every page.
    pub(crate) fn number_pages(&mut self, number: &str, locale: Locale) {
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
