use super::*;

#[test]
fn a_line_splits_into_net_and_vat_that_add_up() {
    // 3 × 33,33 € at 20 %: 99,99 € → VAT 16,67 €, net 83,32 €.
    assert_eq!(split_gross(9999, 2000), (8332, 1667));
    assert_eq!(split_gross(-9999, 2000), (-8332, -1667));
    assert_eq!(split_gross(12000, 2000), (10000, 2000));
    assert_eq!(split_gross(1000, 550), (948, 52));
    assert_eq!(split_gross(0, 2000), (0, 0));
    assert_eq!(split_gross(5, 1000), (5, 0));
    assert_eq!(
        split_gross(i64::MAX, 2000).0 + split_gross(i64::MAX, 2000).1,
        i64::MAX
    );
    for g in [1, 7, 99, 3333, 9999, 123_456] {
        for r in [0, 210, 550, 1000, 2000] {
            let (n, v) = split_gross(g, r);
            assert_eq!(n + v, g);
            assert!(v >= 0 && v <= g);
        }
    }
}

#[test]
fn shares_always_add_up() {
    assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
    assert_eq!(allocate(1000, &[9999, 0]), vec![1000, 0]);
    assert_eq!(allocate(7, &[0, 0]), vec![7, 0]);
    assert_eq!(allocate(5000, &[2000, 3000, 5000]), vec![1000, 1500, 2500]);
    let parts = allocate(12_345, &[3333, 6667, 1]);
    assert_eq!(parts.iter().sum::<i64>(), 12_345);
}

#[test]
fn vat_numbers_are_checked_against_their_country() {
    for (country, typed, stored) in [
        ("FR", "fr 40 123 456 824", "FR40123456824"),
        ("DE", "DE123456789", "DE123456789"),
        ("GR", "EL123456789", "EL123456789"),
        ("NL", "NL123456789B01", "NL123456789B01"),
        ("SE", "SE123456789001", "SE123456789001"),
        ("CH", "CHE-123.456.789 TVA", "CHE123456789TVA"),
    ] {
        assert_eq!(
            check_vat_number(country, typed).as_deref(),
            Some(stored),
            "{country} {typed}"
        );
    }
    for (country, bad) in [
        ("FR", "FR4012345682"),
        ("FR", "DE123456789"),
        ("DE", "DE12345678X"),
        ("GR", "GR123456789"),
        ("SE", "SE123456789012"),
        ("BE", "BE2123456789"),
        ("FR", "<script>"),
    ] {
        assert_eq!(check_vat_number(country, bad), None, "{country} {bad}");
    }
}

#[test]
fn a_company_address_is_parsed_once() {
    let input = |company: &str, address: &str, country: &str, vat: &str| BillingInput {
        company: company.into(),
        address: address.into(),
        country: country.into(),
        vat_number: vat.into(),
        reference: String::new(),
    };
    assert!(parse_billing(&input("", "", "", "")).unwrap().is_none());
    let b = parse_billing(&input(
        " ACME SAS ",
        "1 rue X\r\n\r\n69001 Lyon",
        "fr",
        "FR40123456824",
    ))
    .unwrap()
    .unwrap();
    assert_eq!(
        (b.company.as_str(), b.address.as_str(), b.country.as_str()),
        ("ACME SAS", "1 rue X\n69001 Lyon", "FR")
    );
    let field =
        |r: Result<Option<Billing>, AppError>| r.err().and_then(|e| e.field().map(str::to_string));
    for (company, address, country, vat, refused) in [
        ("", "1 rue X", "FR", "", "billing[company]"),
        ("ACME", "", "FR", "", "billing[address]"),
        ("ACME", "1 rue X", "France", "", "billing[country]"),
        ("ACME", "1 rue X", "FR", "FR123", "billing[vat_number]"),
    ] {
        let result = parse_billing(&input(company, address, country, vat));
        assert_eq!(field(result).as_deref(), Some(refused));
    }
    // One-line fields: no line breaks, no invisible or reordering characters (found by an
    // attack: 99 line breaks in the company pushed the buyer off the PDF's page).
    for company in [
        "ACME\nVAT: FR00000000000",
        "AC\rME",
        "\u{202e}EMCA",
        "AC\u{200b}ME",
        "\u{feff}=1+1",
    ] {
        assert_eq!(
            field(parse_billing(&input(company, "1 rue X", "FR", ""))).as_deref(),
            Some("billing[company]"),
            "{company:?}"
        );
    }
    let long_line = "x".repeat(101);
    assert_eq!(
        field(parse_billing(&input("ACME", &long_line, "FR", ""))).as_deref(),
        Some("billing[address]")
    );
    let mut bad_ref = input("ACME", "1 rue X", "FR", "");
    bad_ref.reference = "PO\n12".into();
    assert_eq!(
        field(parse_billing(&bad_ref)).as_deref(),
        Some("billing[reference]"),
        "the error names its own field"
    );
    assert_eq!(one_line(" Ann\n\u{202e}e \u{7}Dupont "), "Ann e Dupont");
    assert_eq!(one_line(&"é".repeat(300)).chars().count(), 120);
}
