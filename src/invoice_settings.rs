//! The seller's invoicing settings (environment variables, see the README's table). They are
//! copied into every document when it is issued, so changing them never changes an issued one.

/// Who sells, how numbers are made, and which VAT applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceSettings {
    /// `SELLER_NAME` (default: `EVENT_NAME`).
    pub seller_name: String,
    /// `SELLER_ADDRESS`, lines separated by `|`.
    pub seller_address: Vec<String>,
    /// `SELLER_COUNTRY`, ISO 3166-1 alpha-2 (default FR).
    pub seller_country: String,
    /// `SELLER_VAT_NUMBER`: empty when the organiser is not registered for VAT (then no VAT is
    /// charged and `INVOICE_VAT_EXEMPTION` is printed).
    pub seller_vat_number: String,
    /// `SELLER_REGISTRATION`: SIRET, RCS, as printed.
    pub seller_registration: String,
    /// `INVOICE_PREFIX` (default `F-{year}-`): `{year}` is the issue year, and a series with a
    /// year restarts at 1 every year.
    pub invoice_prefix: String,
    /// `CREDIT_NOTE_PREFIX` (default `AV-{year}-`); the same as `INVOICE_PREFIX`: one sequence.
    pub credit_note_prefix: String,
    /// `VAT_RATES`: the rates a pass may have, in basis points (default 20, 10, 5.5, 2.1, 0 %).
    pub vat_rates_bp: Vec<i64>,
    /// `VAT_DEFAULT_RATE`: a pass's rate unless set (default 20 %).
    pub vat_default_bp: i64,
    /// `PRICES_INCLUDE_VAT` (default true): pass prices are what the buyer pays; false: prices
    /// are entered without VAT and the shop adds it.
    pub prices_include_vat: bool,
    /// `INVOICE_PAYMENT_TERMS`, `INVOICE_LATE_PENALTIES`, `INVOICE_VAT_EXEMPTION`: empty means
    /// the built-in French/English text (in the buyer's language).
    pub payment_terms: String,
    pub late_penalties: String,
    pub vat_exemption: String,
    /// `INVOICE_FOOTER`: a further line (bank details, association status…).
    pub footer: String,
}

impl InvoiceSettings {
    /// Registered for VAT (a VAT number is set).
    pub fn vat_registered(&self) -> bool {
        !self.seller_vat_number.is_empty()
    }

    /// The rate a pass of rate `pass_bp` (NULL: the default) is sold at; 0 when not registered.
    pub fn rate_for(&self, pass_bp: Option<i64>) -> i64 {
        if !self.vat_registered() {
            return 0;
        }
        pass_bp.unwrap_or(self.vat_default_bp)
    }

    /// What the buyer pays for one seat of a pass priced `price` at rate `rate_bp`: the price
    /// itself when prices include VAT, else the price plus its VAT rounded half up to the cent.
    pub fn unit_gross(&self, price: i64, rate_bp: i64) -> Option<i64> {
        if self.prices_include_vat {
            return Some(price);
        }
        let vat = (i128::from(price) * i128::from(rate_bp) + 5_000) / 10_000;
        price.checked_add(i64::try_from(vat).ok()?)
    }
}

/// "20" → 2000, "5.5" → 550, "2,1" → 210: a percentage with at most two decimals, 0 to 100.
pub fn parse_rate(raw: &str) -> Option<i64> {
    let raw = raw.trim().trim_end_matches('%').trim().replace(',', ".");
    let (whole, frac) = raw.split_once('.').unwrap_or((raw.as_str(), ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    let bp = whole * 100 + frac;
    (0..=10_000).contains(&bp).then_some(bp)
}

/// The demo organiser of a dev server (marked as such on its invoices), so that the demo's
/// invoices show VAT; production has no such default.
const DEMO_SELLER: [(&str, &str); 4] = [
    ("SELLER_NAME", "Association Rencontres Tessera (démo)"),
    ("SELLER_ADDRESS", "12 rue de la République|69002 Lyon"),
    ("SELLER_VAT_NUMBER", "FR40123456824"),
    ("SELLER_REGISTRATION", "SIRET 123 456 824 00017 (démo)"),
];

/// Reads the settings; `Err((variable, message))` names what is wrong. A dev server without any
/// `SELLER_*` setting invoices as the demo organiser.
pub fn from_vars(
    get: &dyn Fn(&str) -> Option<String>,
    event_name: &str,
    dev: bool,
) -> Result<InvoiceSettings, (&'static str, String)> {
    let demo = dev && DEMO_SELLER.iter().all(|(k, _)| get(k).is_none());
    let get = |k: &str| {
        get(k).or_else(|| {
            DEMO_SELLER
                .iter()
                .find(|(d, _)| demo && *d == k)
                .map(|(_, v)| v.to_string())
        })
    };
    let vat_rates_bp = match get("VAT_RATES") {
        None => vec![2000, 1000, 550, 210, 0],
        Some(v) => v
            .split(',')
            .map(|r| {
                parse_rate(r).ok_or_else(|| {
                    (
                        "VAT_RATES",
                        format!("'{r}' is not a rate such as 20 or 5.5 (percent)"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let vat_default_bp = match get("VAT_DEFAULT_RATE") {
        None => 2000,
        Some(v) => parse_rate(&v).ok_or_else(|| {
            (
                "VAT_DEFAULT_RATE",
                format!("'{v}' is not a rate such as 20 or 5.5 (percent)"),
            )
        })?,
    };
    if !vat_rates_bp.contains(&vat_default_bp) {
        return Err(("VAT_DEFAULT_RATE", "must be one of VAT_RATES".to_string()));
    }
    let prices_include_vat = match get("PRICES_INCLUDE_VAT").as_deref() {
        None | Some("true") | Some("1") | Some("yes") => true,
        Some("false") | Some("0") | Some("no") => false,
        Some(other) => {
            return Err((
                "PRICES_INCLUDE_VAT",
                format!("'{other}' is neither true nor false"),
            ))
        }
    };
    let seller_country = get("SELLER_COUNTRY")
        .unwrap_or_else(|| "FR".into())
        .to_ascii_uppercase();
    if seller_country.len() != 2 || !seller_country.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err((
            "SELLER_COUNTRY",
            format!("'{seller_country}' is not a two-letter country code such as FR"),
        ));
    }
    let prefix = |var: &'static str, default: &str| -> Result<String, (&'static str, String)> {
        let p = get(var).unwrap_or_else(|| default.into());
        if p.chars().count() > 20 || p.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
            return Err((
                var,
                format!(
                    "'{p}' is not a prefix such as F-{{year}}- (at most 20 characters, no slash)"
                ),
            ));
        }
        Ok(p)
    };
    Ok(InvoiceSettings {
        seller_name: get("SELLER_NAME").unwrap_or_else(|| event_name.to_string()),
        seller_address: get("SELLER_ADDRESS")
            .map(|a| {
                a.split('|')
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        seller_country,
        seller_vat_number: get("SELLER_VAT_NUMBER")
            .map(|v| v.to_ascii_uppercase().replace([' ', '.', '-'], ""))
            .unwrap_or_default(),
        seller_registration: get("SELLER_REGISTRATION").unwrap_or_default(),
        invoice_prefix: prefix("INVOICE_PREFIX", "F-{year}-")?,
        credit_note_prefix: prefix("CREDIT_NOTE_PREFIX", "AV-{year}-")?,
        vat_rates_bp,
        vat_default_bp,
        prices_include_vat,
        payment_terms: get("INVOICE_PAYMENT_TERMS").unwrap_or_default(),
        late_penalties: get("INVOICE_LATE_PENALTIES").unwrap_or_default(),
        vat_exemption: get("INVOICE_VAT_EXEMPTION").unwrap_or_default(),
        footer: get("INVOICE_FOOTER").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_as_people_write_them() {
        for (typed, basis_points) in [
            ("20", 2000),
            ("5.5", 550),
            ("2,1 %", 210),
            ("0", 0),
            ("100", 10_000),
        ] {
            assert_eq!(parse_rate(typed), Some(basis_points), "{typed}");
        }
        for bad in ["", "101", "-5", "5.555", "abc", "1e3", ".5"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn prices_without_vat_get_it_added_per_seat() {
        let get = |k: &str| (k == "PRICES_INCLUDE_VAT").then(|| "false".to_string());
        let s = from_vars(&get, "Conf", false).unwrap();
        assert_eq!(s.unit_gross(3333, 2000), Some(4000));
        assert_eq!(s.unit_gross(1000, 550), Some(1055));
        assert_eq!(s.unit_gross(i64::MAX, 2000), None);
        let s = from_vars(&|_| None, "Conf", false).unwrap();
        assert_eq!(s.unit_gross(3333, 2000), Some(3333));
        assert_eq!(s.seller_name, "Conf");
        assert!(!s.vat_registered());
        assert_eq!(s.rate_for(Some(1000)), 0, "not registered: no VAT");
        let demo = from_vars(&|_| None, "Conf", true).unwrap();
        assert!(demo.vat_registered() && demo.seller_name.contains("démo"));
        assert_eq!(demo.rate_for(None), 2000);
    }
}
