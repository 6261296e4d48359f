//! Badges for the door: A6 (one per page) or A4 sheets of 8 (2 columns × 4 rows of 105 × 74.25 mm), each with the holder's name (large, wrapped to at most 2 lines, shrunk to fit), company (if any), pass name, the event name, and the ticket's QR code.
//!
//! Written with krilla as the invoices are (`invoicing::pdf`): text is shaped with rustybuzz and
//! drawn as real glyphs (selectable, extractable), in the same embedded DejaVu fonts; the QR
//! code is black squares, one rectangle per horizontal run of dark modules.
//!
//! The fonts' data, the `Face`s, shaping and the grey fill are the invoices' own
//! (`invoicing::pdf::text`). `text` measures, fits and wraps; `draw` paints text, rules and QR
//! codes; `layout` places one badge on an A6 page or in an A4 cell.
use crate::invoicing::pdf::{grey, shape, shape_buffer, Face, DEJAVU_SANS, DEJAVU_SANS_BOLD};
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::surface::Surface;
use std::sync::LazyLock;

mod draw;
mod layout;
mod text;

pub(crate) use draw::*;
pub(crate) use layout::*;
pub(crate) use text::*;

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

#[cfg(test)]
mod tests;
