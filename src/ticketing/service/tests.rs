use super::*;

fn line(id: Uuid, q: &str) -> CartLine {
    CartLine {
        ticket_type_id: id,
        quantity: q.into(),
    }
}

#[test]
fn carts_are_parsed_once_and_strictly() {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        parse_cart(&[line(a, "2"), line(b, ""), line(a, "1")], 10).unwrap(),
        vec![(a, 3)]
    );
    for (bad, key) in [
        (vec![line(a, "-1")], "shop.error.quantity_invalid"),
        (vec![line(a, "1.5")], "shop.error.quantity_invalid"),
        (vec![line(a, "0"), line(b, "")], "shop.error.empty"),
        (vec![line(a, "6"), line(b, "5")], "shop.error.too_many"),
    ] {
        assert_eq!(parse_cart(&bad, 10).unwrap_err().message_key(), key);
    }
    // Huge quantities are refused on their own field, never added up into an overflow.
    let max = i64::MAX.to_string();
    for bad in [
        vec![line(a, &max)],
        vec![line(a, "1"), line(b, &max)],
        vec![line(a, &max), line(a, &max)],
        vec![line(a, "9"), line(a, "9")],
    ] {
        let e = parse_cart(&bad, 10).unwrap_err();
        assert_eq!(e.message_key(), "shop.error.too_many");
        assert!(
            e.field()
                .is_some_and(|f| f == a.to_string() || f == b.to_string()),
            "{e:?}"
        );
    }
}
