//! Text on a badge: the faces, measuring, fitting with "…", wrapping names on two lines.
use super::*;

// ---- fonts and text ----

/// The invoices' fonts (`invoicing::pdf::DEJAVU_SANS`…), loaded again here.
pub(crate) struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    fn load() -> Option<Faces> {
        Some(Faces {
            regular: Face::load(DEJAVU_SANS)?,
            bold: Face::load(DEJAVU_SANS_BOLD)?,
        })
    }
}

pub(crate) static FACES: LazyLock<Option<Faces>> = LazyLock::new(Faces::load);

/// How a piece of text looks: font, size in points, grey level (0 = black).
#[derive(Clone, Copy)]
pub(crate) struct Style {
    pub(crate) bold: bool,
    pub(crate) size: f32,
    pub(crate) grey: u8,
}

impl Style {
    pub(crate) const fn new(bold: bool, size: f32, grey: u8) -> Style {
        Style { bold, size, grey }
    }

    /// Baseline-to-baseline distance.
    pub(crate) fn leading(self) -> f32 {
        self.size * 1.3
    }
}

impl Faces {
    pub(crate) fn face(&self, style: Style) -> &Face {
        if style.bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    /// The width of `text` on one line, in points.
    pub(crate) fn width(&self, style: Style, text: &str) -> f32 {
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
        let pieces = text
            .split_whitespace()
            .flat_map(|word| {
                let pieces = self.cut_word(style, word, width);
                cut |= pieces.len() > 1;
                pieces
            })
            .map(|piece| (self.width(style, &piece), piece));
        let last = crate::invoicing::pdf::fill_lines(pieces, space, width, &mut lines);
        if !last.is_empty() {
            lines.push(last);
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
    pub(crate) fn name_lines(
        &self,
        name: &str,
        width: f32,
        max: f32,
        min: f32,
    ) -> (Style, Vec<String>) {
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
pub(crate) fn clean(text: &str) -> (String, bool) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => (joined.get(..end).unwrap_or_default().to_string(), true),
        None => (joined, false),
    }
}

/// A one-line text for the badge: cleaned, then cut with "…" if wider than `width`.
pub(crate) fn one_line(faces: &Faces, style: Style, text: &str, width: f32) -> String {
    let (text, clamped) = clean(text);
    if clamped {
        faces.ellipsize(style, &text, width)
    } else {
        faces.fit(style, &text, width)
    }
}

pub(crate) fn units_per_em(face: &rustybuzz::Face) -> f32 {
    (face.units_per_em() as f32).max(1.0)
}

/// The advance of `text` in em.
pub(crate) fn advance(face: &rustybuzz::Face, text: &str) -> f32 {
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
