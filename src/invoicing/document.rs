//! An issued invoice or credit note as data: exactly what its PDF shows, read back from the
//! `invoices` and `invoice_lines` rows (their snapshots never change), so a document renders the
//! same today and in ten years.
use crate::i18n::Locale;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocKind {
    Invoice,
    CreditNote,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Invoice => "INVOICE",
            DocKind::CreditNote => "CREDIT_NOTE",
        }
    }

    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "INVOICE" => Some(DocKind::Invoice),
            "CREDIT_NOTE" => Some(DocKind::CreditNote),
            _ => None,
        }
    }
}

/// The seller as it was when the document was issued (the settings of the day).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub name: String,
    /// Street lines, then postcode and city.
    pub address: Vec<String>,
    /// ISO 3166-1 alpha-2 ("FR").
    pub country: String,
    /// Intra-EU VAT number; empty when the organiser is not registered for VAT.
    pub vat_number: String,
    /// SIRET / RCS text, printed as given.
    pub registration: String,
    /// Registered for VAT. When false, no VAT is charged or shown and `vat_exemption` is printed
    /// ("TVA non applicable, art. 293 B du CGI").
    pub vat_registered: bool,
    pub vat_exemption: String,
    /// Payment terms and late-payment text (French law asks for both on business invoices).
    pub payment_terms: String,
    pub late_penalties: String,
    /// Any further line the organiser wants at the foot (bank details, association status…).
    pub footer: String,
}

/// The buyer as entered for this document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    /// The person (the account's name).
    pub name: String,
    pub email: String,
    /// Set when the buyer asked for an invoice to a company.
    pub company: Option<String>,
    /// Billing address lines (street, postcode and city).
    pub address: Vec<String>,
    /// ISO 3166-1 alpha-2, when given.
    pub country: Option<String>,
    pub vat_number: Option<String>,
    /// Purchase order / reference the buyer's company asked to see on the invoice.
    pub reference: Option<String>,
}

/// The event the passes are for (the operation's date and place).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInfo {
    pub name: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub location: Option<String>,
}

/// One line: amounts in integer cents (negative on a credit note); `gross = net + vat` always.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocLine {
    pub description: String,
    pub quantity: i64,
    /// Unit price excluding VAT, for information (the line's `net` is what counts).
    pub unit_net_cents: i64,
    /// VAT rate in basis points: 1000 = 10 %, 550 = 5.5 %.
    pub vat_rate_bp: i64,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub gross_cents: i64,
}

/// Totals of one VAT rate (the sum of its lines).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    pub vat_rate_bp: i64,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub gross_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocKind,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    /// When the order was paid (an invoice) or refunded (a credit note).
    pub paid_at: Option<DateTime<Utc>>,
    /// A credit note: the number and issue date of the invoice it corrects.
    pub corrects: Option<(String, DateTime<Utc>)>,
    /// A credit note: why ("refund", "partial_refund", "correction").
    pub reason: Option<String>,
    pub locale: Locale,
    /// Lower-case ISO 4217 ("eur").
    pub currency: String,
    /// The order's short reference ("3F2A9C1B").
    pub order_ref: String,
    /// The payment provider's reference, when there is one.
    pub payment_reference: Option<String>,
    /// The IANA time zone dates are printed in ("Europe/Paris").
    pub timezone: String,
    pub seller: Seller,
    pub buyer: Buyer,
    pub event: EventInfo,
    pub lines: Vec<DocLine>,
}

impl Document {
    /// Per-rate totals, lowest rate first.
    pub fn rate_totals(&self) -> Vec<RateTotal> {
        let mut out: Vec<RateTotal> = vec![];
        for l in &self.lines {
            match out.iter_mut().find(|r| r.vat_rate_bp == l.vat_rate_bp) {
                Some(r) => {
                    r.net_cents += l.net_cents;
                    r.vat_cents += l.vat_cents;
                    r.gross_cents += l.gross_cents;
                }
                None => out.push(RateTotal {
                    vat_rate_bp: l.vat_rate_bp,
                    net_cents: l.net_cents,
                    vat_cents: l.vat_cents,
                    gross_cents: l.gross_cents,
                }),
            }
        }
        out.sort_by_key(|r| r.vat_rate_bp);
        out
    }

    /// (net, vat, gross) of the whole document.
    pub fn totals(&self) -> (i64, i64, i64) {
        self.lines.iter().fold((0, 0, 0), |(n, v, g), l| {
            (n + l.net_cents, v + l.vat_cents, g + l.gross_cents)
        })
    }
}

/// Basis points as a plain percentage ("20", "5.5"): what the passes editor shows and reads.
pub fn rate_percent(bp: i64) -> String {
    if bp % 100 == 0 {
        (bp / 100).to_string()
    } else {
        format!(
            "{}.{}",
            bp / 100,
            format!("{:02}", bp % 100).trim_end_matches('0')
        )
    }
}

/// "10 %", "5,5 %" / "5.5%": a rate in basis points as people write it.
pub fn rate_text(bp: i64, locale: Locale) -> String {
    let num = rate_percent(bp);
    match locale {
        Locale::Fr => format!("{}\u{a0}%", num.replace('.', ",")),
        Locale::En => format!("{num}%"),
    }
}
