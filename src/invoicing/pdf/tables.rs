//! The tables: the lines (the header repeated on each page) and the totals per rate.
use super::*;

/// A table column: header key, width (the first column takes what is left), alignment.
pub(crate) struct Column {
    key: &'static str,
    width: f32,
    right: bool,
}

/// Columns placed from the left margin to the right one: (x, width, right-aligned).
pub(crate) fn place(columns: &[Column], left: f32) -> Vec<(f32, f32, bool)> {
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

pub(crate) fn line_columns(vat: bool) -> Vec<Column> {
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
pub(crate) fn lines_table(l: &mut Layout, doc: &Document) {
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
pub(crate) fn table_row(
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
pub(crate) fn totals(l: &mut Layout, doc: &Document) {
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
