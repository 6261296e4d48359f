//! Fonts and text: the embedded DejaVu faces, the styles, shaping (rustybuzz) and wrapping.
//! `Face`, the fonts' data, `shape_buffer`, `shape` and `grey` serve the badges too
//! (`checkin::badges`).
use super::*;

// ---- fonts and text ----

/// A font as krilla embeds it and as rustybuzz shapes it.
pub(crate) struct Face {
    pub(crate) pdf: Font,
    pub(crate) shaper: rustybuzz::Face<'static>,
}

impl Face {
    /// `None` when krilla or rustybuzz cannot read `data`.
    pub(crate) fn load(data: &'static [u8]) -> Option<Face> {
        Some(Face {
            pdf: Font::new(data.into(), 0)?,
            shaper: rustybuzz::Face::from_slice(data, 0)?,
        })
    }
}

/// The embedded fonts (DejaVu Sans, `fonts/LICENSE`), in the binary once for invoices and badges.
pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
pub(crate) static DEJAVU_SANS_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

pub(crate) static REGULAR: LazyLock<Face> =
    LazyLock::new(|| Face::load(DEJAVU_SANS).expect("embedded font is valid"));
pub(crate) static BOLD: LazyLock<Face> =
    LazyLock::new(|| Face::load(DEJAVU_SANS_BOLD).expect("embedded font is valid"));

/// How a piece of text looks: font, size in points, grey level (0 = black).
#[derive(Clone, Copy)]
pub(crate) struct Style {
    pub(crate) bold: bool,
    pub(crate) size: f32,
    pub(crate) grey: u8,
}

pub(crate) const BODY: Style = Style {
    bold: false,
    size: 9.0,
    grey: 0,
};
pub(crate) const BODY_BOLD: Style = Style { bold: true, ..BODY };
pub(crate) const LABEL: Style = Style {
    bold: true,
    size: 8.0,
    grey: 90,
};
pub(crate) const SMALL: Style = Style {
    bold: false,
    size: 7.5,
    grey: 60,
};

impl Style {
    pub(crate) fn face(self) -> &'static Face {
        if self.bold {
            &BOLD
        } else {
            &REGULAR
        }
    }

    /// Baseline-to-baseline distance.
    pub(crate) fn leading(self) -> f32 {
        self.size * 1.35
    }

    pub(crate) fn width(self, text: &str) -> f32 {
        shape(&self.face().shaper, text)
            .iter()
            .map(|g| g.x_advance)
            .sum::<f32>()
            * self.size
    }
}

/// Runs `text` through rustybuzz, left to right.
pub(crate) fn shape_buffer(face: &rustybuzz::Face, text: &str) -> rustybuzz::GlyphBuffer {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    buffer.guess_segment_properties();
    rustybuzz::shape(face, &[], buffer)
}

/// The glyphs of `text` in one font, advances in em, each knowing the text it stands for (the
/// PDF's ToUnicode map, for copy-paste and text extraction). Left to right only.
pub(crate) fn shape(face: &rustybuzz::Face, text: &str) -> Vec<KrillaGlyph> {
    let out = shape_buffer(face, text);
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
pub(crate) fn wrap(style: Style, text: &str, width: f32) -> Vec<String> {
    let space = style.width(" ");
    let mut lines = vec![];
    for paragraph in text.split('\n') {
        let pieces = paragraph
            .split(' ')
            .filter(|w| !w.is_empty())
            .flat_map(|word| cut_word(style, word, width))
            .map(|piece| (style.width(&piece), piece));
        let last = fill_lines(pieces, space, width, &mut lines);
        lines.push(last);
    }
    lines
}

/// Lays `pieces` (a word, or the part of one cut to fit, with its width) on lines no wider than
/// `width`, a space between two on the same line: the full lines go to `lines`, the last one,
/// maybe empty, is returned.
pub(crate) fn fill_lines(
    pieces: impl IntoIterator<Item = (f32, String)>,
    space: f32,
    width: f32,
    lines: &mut Vec<String>,
) -> String {
    let (mut line, mut line_w) = (String::new(), 0.0);
    for (w, piece) in pieces {
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
    line
}

/// A word as pieces that each fit `width` (usually the word itself).
pub(crate) fn cut_word(style: Style, word: &str, width: f32) -> Vec<String> {
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

pub(crate) fn grey(level: u8) -> Fill {
    Fill {
        paint: luma::Color::new(level).into(),
        ..Fill::default()
    }
}
