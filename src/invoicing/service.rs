//! Issuing invoices and credit notes (server only). One function per state change:
//! [`issue_invoice`] when an order is paid, [`credit_note`] when money goes back, [`set_billing`]
//! when the buyer gives or corrects a company address. Each runs in the caller's transaction, so
//! a document exists exactly when the change it documents committed.
//!
//! Here: the amounts' arithmetic (VAT out of a gross, shares to the cent). `numbering`: numbers
//! and writes a document; `issue`: the invoice of a paid order; `credit`: credit notes; `stored`:
//! documents read back; `cache`: their PDFs, rendered once; `documents`: mails and links;
//! `billing`: the company an order is invoiced to, its VAT number checked.
use super::{
    document::{Buyer, DocKind, DocLine, Document, EventInfo, Seller},
    settings::InvoiceSettings,
    BillingInput, InvoiceLink,
};
use crate::server::prelude::*;
use crate::{
    i18n::{tr, tr_with, Locale},
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
    money::format_money,
    text::{one_line, printable, short_ref},
};
use chrono::{DateTime, Datelike, Utc};
use sqlx::types::Json;

mod billing;
mod cache;
mod credit;
mod documents;
mod issue;
mod numbering;
mod stored;

pub use billing::*;
pub use cache::*;
pub use credit::*;
pub use documents::*;
pub use issue::*;
pub(crate) use numbering::*;
pub use stored::*;

/// `(net, vat)` of a line of `gross` cents at `rate_bp`: the VAT is `gross × rate / (1 + rate)`
/// rounded half away from zero to the cent, the net the rest, so `net + vat = gross` exactly.
pub fn split_gross(gross: i64, rate_bp: i64) -> (i64, i64) {
    let rate = i128::from(rate_bp.clamp(0, 10_000));
    let den = 10_000 + rate;
    let num = i128::from(gross).abs() * rate;
    let vat_abs = (2 * num + den) / (2 * den);
    // |vat| <= |gross|: it fits.
    let vat = i64::try_from(vat_abs).unwrap_or(0) * gross.signum();
    (gross - vat, vat)
}

/// Shares `amount` between `weights` in proportion, to the cent, the remainders going to the
/// largest fractions (ties: the first): the parts always add up to `amount`.
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if total == 0 {
        let mut out = vec![0; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = amount;
        }
        return out;
    }
    let a = i128::from(amount);
    let mut parts: Vec<(usize, i128, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = a * i128::from(*w);
            (i, exact / total, exact % total)
        })
        .collect();
    let mut left = a - parts.iter().map(|p| p.1).sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|x, y| parts[*y].2.cmp(&parts[*x].2).then(x.cmp(y)));
    for i in order {
        if left == 0 {
            break;
        }
        parts[i].1 += left.signum();
        left -= left.signum();
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p.1).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests;
