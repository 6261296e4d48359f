//! An invoice or credit note as a PDF (A4), written with krilla. Two passes: the layout places
//! shaped text and rules page by page (a new page repeats the table's header), then the painter
//! writes the pages, each with "page n / m" at its foot now that the count is known.
//!
//! Text is shaped here with rustybuzz (the shaper krilla itself uses) rather than through
//! krilla's `draw_text`: the same glyphs give the widths needed to right-align amounts and wrap
//! long texts, and are then drawn as they are.
//!
//! `text`: fonts, styles, shaping and wrapping (the badges, `checkin::badges`, use them too);
//! `layout`: each page's marks and the cursor; `parts`: header, parties, event and mentions;
//! `tables`: the lines and the totals; `paint`: the pages written out.
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

mod layout;
mod paint;
mod parts;
mod tables;
mod text;

pub(crate) use layout::*;
pub(crate) use paint::*;
pub(crate) use parts::*;
pub(crate) use tables::*;
pub(crate) use text::*;

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

#[cfg(test)]
mod tests;
