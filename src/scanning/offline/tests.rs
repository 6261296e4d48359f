//! Tests of the offline answer: codes, revocation, validity windows, merges, lists.
use super::*;
use crate::scanning::signed::{sign, Claims};
use ed25519_dalek::SigningKey;

const NOW: i64 = 1_812_000_000_000; // ms
const T1: Uuid = Uuid::from_u128(1);

fn setup() -> (DoorData, SigningKey) {
    let k = SigningKey::from_bytes(&[9; 32]);
    let mut d = DoorData {
        grace_minutes: 30,
        keys: vec![DoorKey {
            id: 1,
            public_key: data_encoding::HEXLOWER.encode(k.verifying_key().as_bytes()),
            revoked: false,
        }],
        passes: vec![DoorPass {
            no: 1,
            name: "Pass Jour 1".into(),
            valid_from: Some(NOW / 60_000 - 60),
            valid_until: Some(NOW / 60_000 + 600),
        }],
        ..Default::default()
    };
    d.tickets.insert(
        T1,
        DoorTicket {
            id: T1,
            pass_no: 1,
            issue: 1,
            status: DoorStatus::Valid,
            used_at_ms: None,
            used_by: None,
            holder: None,
            legacy_hash: Some(signed::legacy_hash("legacy-token")),
            marks: vec![],
        },
    );
    (d, k)
}

fn code(k: &SigningKey, ticket: Uuid, issue: u16) -> String {
    sign(
        &Claims {
            key_id: 1,
            ticket_id: ticket,
            issue,
            pass_no: 1,
            valid_from: None,
            valid_until: None,
        },
        k,
    )
}

#[test]
fn ok_then_already_used_on_this_device_then_revoked_and_canceled() {
    let (mut d, k) = setup();
    let mut mine = vec![];
    let c = code(&k, T1, 1);
    let a = answer(&d, &mine, Presented::Code(&c), NOW);
    assert_eq!(a.outcome, Outcome::Ok);
    assert_eq!(a.pass.as_deref(), Some("Pass Jour 1"));
    mine.push(LocalEntry {
        ticket_id: T1,
        list: crate::checkin::ENTRANCE,
        mark: Mark {
            at_ms: NOW,
            day: rules::day_of(NOW, 0),
            direction: Direction::In,
            by: Some("Samir".into()),
        },
    });
    let again = answer(&d, &mine, Presented::Code(&c), NOW + 1000);
    assert_eq!(again.outcome, Outcome::AlreadyUsed);
    assert_eq!(again.used_at_ms, Some(NOW));
    // The legacy token of the same ticket, too.
    assert_eq!(
        answer(&d, &mine, Presented::Code("legacy-token"), NOW).outcome,
        Outcome::AlreadyUsed
    );
    // Reissued: the issue-1 code is revoked.
    d.tickets.get_mut(&T1).unwrap().issue = 2;
    assert_eq!(
        answer(&d, &[], Presented::Code(&c), NOW).outcome,
        Outcome::Canceled
    );
    assert_eq!(
        answer(&d, &[], Presented::Code(&code(&k, T1, 2)), NOW).outcome,
        Outcome::Ok
    );
    d.tickets.get_mut(&T1).unwrap().status = DoorStatus::Refunded;
    assert_eq!(
        answer(&d, &[], Presented::Code(&code(&k, T1, 2)), NOW).outcome,
        Outcome::Refunded
    );
}

#[test]
fn a_ticket_sold_after_the_last_sync_is_let_in_on_its_signature_alone() {
    let (d, k) = setup();
    let new = Uuid::from_u128(2);
    let a = answer(&d, &[], Presented::Code(&code(&k, new, 1)), NOW);
    assert_eq!((a.outcome, a.ticket_id), (Outcome::Ok, Some(new)));
    // …but a forged one is unknown, and so is a revoked key's.
    let forged = code(&SigningKey::from_bytes(&[8; 32]), new, 1);
    assert_eq!(
        answer(&d, &[], Presented::Code(&forged), NOW).outcome,
        Outcome::Unknown
    );
    let mut revoked = d.clone();
    revoked.keys[0].revoked = true;
    assert_eq!(
        answer(&revoked, &[], Presented::Code(&code(&k, new, 1)), NOW).outcome,
        Outcome::Unknown
    );
    assert_eq!(
        answer(&d, &[], Presented::Code("unknown-legacy"), NOW).outcome,
        Outcome::Unknown
    );
}

#[test]
fn outside_the_pass_window_is_not_valid_today_with_the_grace_before_it_opens() {
    let (d, k) = setup();
    let c = code(&k, T1, 1);
    let opens = (NOW / 60_000 - 60) * 60_000;
    assert_eq!(
        answer(&d, &[], Presented::Code(&c), opens - 31 * 60_000).outcome,
        Outcome::NotValidToday
    );
    assert_eq!(
        answer(&d, &[], Presented::Code(&c), opens - 30 * 60_000).outcome,
        Outcome::Ok
    );
    assert_eq!(
        answer(&d, &[], Presented::Code(&c), NOW + 601 * 60_000).outcome,
        Outcome::NotValidToday
    );
}

#[test]
fn a_sync_merges_deltas_and_a_full_one_replaces_everything() {
    let (mut d, _) = setup();
    let mut t = d.tickets[&T1].clone();
    t.status = DoorStatus::Used;
    d.merge(
        DoorDelta {
            cursor: 7,
            server_time_ms: NOW,
            tickets: vec![t],
            keys: d.keys.clone(),
            ..Default::default()
        },
        NOW - 5000,
    );
    assert_eq!(d.cursor, 7);
    assert_eq!(
        d.server_now(NOW),
        NOW + 5000,
        "a phone 5 s late is corrected"
    );
    assert_eq!(d.tickets[&T1].status, DoorStatus::Used);
    d.merge(
        DoorDelta {
            cursor: 9,
            full: true,
            ..Default::default()
        },
        0,
    );
    assert!(d.tickets.is_empty());
}

#[test]
fn lists_on_the_phone_apply_the_servers_rules() {
    let (mut d, k) = setup();
    let workshop = Uuid::from_u128(0xe1);
    d.lists = vec![
        DoorList {
            id: crate::checkin::ENTRANCE,
            name: "Entrée".into(),
            rule: Rule::Daily,
            all_passes: true,
            passes: vec![],
            opens_ms: None,
            closes_ms: None,
            booked: None,
        },
        DoorList {
            id: workshop,
            name: "Atelier".into(),
            rule: Rule::Once,
            all_passes: true,
            passes: vec![],
            opens_ms: None,
            closes_ms: None,
            booked: Some(vec![]),
        },
    ];
    let c = code(&k, T1, 1);
    let on = |list: Option<Uuid>| DoorChoice {
        list,
        direction: Direction::In,
    };
    let a = answer_on(&d, &[], Presented::Code(&c), on(Some(workshop)), NOW);
    assert_eq!(
        (a.outcome, a.list_name.as_deref()),
        (Outcome::NotOnList, Some("Atelier"))
    );
    d.lists[1].booked = Some(vec![T1]);
    let a = answer_on(&d, &[], Presented::Code(&c), on(Some(workshop)), NOW);
    assert_eq!(a.outcome, Outcome::Ok, "booked");
    // A list this phone does not know: no answer by another list's rules.
    let a = answer_on(
        &d,
        &[],
        Presented::Code(&c),
        on(Some(Uuid::from_u128(9))),
        NOW,
    );
    assert_eq!(a.outcome, Outcome::Unknown);
    // A ticket let in before lists existed (no marks on this phone): used today, not tomorrow.
    let t = d.tickets.get_mut(&T1).unwrap();
    t.status = DoorStatus::Used;
    t.used_at_ms = Some(NOW - 3_600_000);
    let a = answer_on(&d, &[], Presented::Code(&c), on(None), NOW);
    assert_eq!(a.outcome, Outcome::AlreadyUsed);
    d.passes[0].valid_until = None;
    let a = answer_on(&d, &[], Presented::Code(&c), on(None), NOW + 86_400_000);
    assert_eq!(a.outcome, Outcome::Ok, "the next day");
}
