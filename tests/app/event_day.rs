//! The event day on SQLite and PostgreSQL (issue 29): a "Pass 2 jours" gets in once each day, a
//! day pass only on its day, an in/out list counts OK, EXIT, OK and who is inside, a workshop's
//! list lets in only the booked, 100 parallel bookings of 12 seats give 12, the offline door
//! applies the same rules and reports a double entry of day 2 as a conflict of day 2; lists,
//! bookings and badges refuse bad input and other people.
use crate::common::{on_each_engine, TestApp};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use tessera::{
    accounts::{AuthUser, Role},
    checkin::{Direction, ENTRANCE},
    i18n::Locale,
    scanning::{
        service::{redeem_at, At, Key},
        Outcome,
    },
};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// 09:00 on a day of June 2027, Paris time (the demo conference: Thursday 10 and Friday 11).
fn paris(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Paris
        .with_ymd_and_hms(2027, 6, day, h, m, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// A pass valid from the first day 00:00 to the last day 23:59 (Paris).
async fn pass(app: &TestApp, name: &str, first: u32, last: u32) -> Uuid {
    crate::common::pass_valid(app, name, paris(first, 0, 0), paris(last, 23, 59)).await
}

/// `user` buys one ticket of `pass` through the order functions; returns the ticket's id.
async fn ticket(app: &TestApp, user: Uuid, pass: Uuid) -> Uuid {
    crate::common::paid_ticket(app, user, pass).await
}

async fn staff(app: &TestApp, email: &str, role: Role) -> AuthUser {
    let id = app.user(email, PW, role).await;
    AuthUser {
        id,
        email: email.into(),
        role,
        first_name: Some("Samir".into()),
        last_name: Some("Staff".into()),
        verified: true,
        locale: Locale::Fr,
    }
}

async fn at(
    app: &TestApp,
    who: &AuthUser,
    list: Option<Uuid>,
    direction: Direction,
    ticket: Uuid,
    when: DateTime<Utc>,
) -> Outcome {
    redeem_at(
        app.db(),
        &app.state.config,
        who,
        At { list, direction },
        Key::Ticket(ticket),
        Uuid::new_v4(),
        when,
    )
    .await
    .unwrap()
    .outcome
}

/// Saves a list through the admin's server function, as the back office's form does (passes
/// joined by commas); returns (status, body).
async fn save_list(app: &TestApp, admin: &reqwest::Client, draft: Value) -> (u16, Value) {
    let mut form: Vec<(String, String)> = vec![];
    let mut draft = draft;
    if let Some(d) = draft.as_object_mut() {
        if d.remove("all_passes") == Some(Value::Bool(true)) {
            d.insert("passes".into(), json!("all"));
        }
    }
    for (k, v) in draft.as_object().unwrap() {
        let v = match v {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        form.push((k.clone(), v));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.call_as(admin, "admin_checkin_list_save", &pairs).await
}

#[tokio::test]
async fn a_two_day_pass_gets_in_each_day_once_and_a_day_pass_only_on_its_day() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        let door = staff(&app, "door@example.org", Role::StaffScan).await;
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        let two_days = ticket(&app, buyer, pass(&app, "Pass 2 jours", 10, 11).await).await;
        let thursday = ticket(&app, buyer, pass(&app, "Pass Jour 1", 10, 10).await).await;
        let d = Direction::In;
        assert_eq!(at(&app, &door, None, d, two_days, paris(10, 9, 0)).await, Outcome::Ok, "[{e}] day 1");
        assert_eq!(at(&app, &door, None, d, two_days, paris(10, 15, 0)).await, Outcome::AlreadyUsed, "[{e}] day 1 again");
        assert_eq!(at(&app, &door, None, d, two_days, paris(11, 9, 0)).await, Outcome::Ok, "[{e}] day 2: the bug of Friday morning");
        assert_eq!(at(&app, &door, None, d, two_days, paris(11, 18, 0)).await, Outcome::AlreadyUsed, "[{e}] day 2 again");
        assert_eq!(at(&app, &door, None, d, two_days, paris(12, 9, 0)).await, Outcome::NotValidToday, "[{e}] day 3");
        assert_eq!(at(&app, &door, None, d, thursday, paris(11, 9, 0)).await, Outcome::NotValidToday, "[{e}] a Thursday pass on Friday");
        assert_eq!(at(&app, &door, None, d, thursday, paris(10, 9, 0)).await, Outcome::Ok, "[{e}] on Thursday");
        // The seed's fields keep the first entry ever; every entry is a row of the day it counts for.
        let (status, used_at): (String, DateTime<Utc>) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT status, used_at FROM tickets WHERE id = $1").bind(two_days).fetch_one(pool).await).unwrap();
        assert_eq!((status.as_str(), used_at), ("USED", paris(10, 9, 0)), "[{e}]");
        let days: Vec<(String,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT day FROM checkins WHERE ticket_id = $1 ORDER BY at").bind(two_days).fetch_all(pool).await).unwrap();
        assert_eq!(days, vec![("2027-06-10".to_string(),), ("2027-06-11".to_string(),)], "[{e}]");
        // An entry at 00:30 in Paris is the 11th there, the 10th in UTC: the conference's day counts.
        let late = ticket(&app, buyer, pass(&app, "Nuit", 10, 11).await).await;
        assert_eq!(at(&app, &door, None, d, late, paris(10, 23, 50)).await, Outcome::Ok);
        assert_eq!(at(&app, &door, None, d, late, paris(11, 0, 30)).await, Outcome::Ok, "[{e}] after midnight, Paris time");

        // ALREADY USED says when and by whom, today.
        let again = redeem_at(app.db(), &app.state.config, &door, At::default(), Key::Ticket(two_days), Uuid::new_v4(), paris(11, 19, 0))
            .await.unwrap();
        assert_eq!(again.used_at, Some(paris(11, 9, 0)), "[{e}] the entry of that day");
        assert_eq!(again.used_by.as_deref(), Some("Test User"), "[{e}]");
        assert_eq!(again.list.as_deref(), Some("Entrée"));

        // Undo takes back the day's entry, not the first one.
        tessera::scanning::service::undo(app.db(), &app.state.config, &staff(&app, "admin@example.org", Role::Admin).await, two_days, paris(11, 19, 1))
            .await.unwrap();
        assert_eq!(at(&app, &door, None, d, two_days, paris(11, 19, 2)).await, Outcome::Ok, "[{e}] undone, in again");
        let (used_at,): (DateTime<Utc>,) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT used_at FROM tickets WHERE id = $1").bind(two_days).fetch_one(pool).await).unwrap();
        assert_eq!(used_at, paris(10, 9, 0), "[{e}] the first entry ever is still Thursday's");
    })
    .await;
}

#[tokio::test]
async fn lists_admit_their_passes_once_or_in_and_out_and_count_who_is_inside() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        let door = staff(&app, "door@example.org", Role::StaffScan).await;
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        let two_days = pass(&app, "Pass 2 jours", 10, 11).await;
        let friday = pass(&app, "Pass Jour 2", 11, 11).await;
        let t = ticket(&app, buyer, two_days).await;
        let f = ticket(&app, buyer, friday).await;

        // A cloakroom: in and out, the two-day pass only.
        let (status, id) = save_list(&app, &admin, json!({ "name": "Vestiaire", "rule": "INOUT", "all_passes": false,
            "passes": [two_days], "opens_at": "", "closes_at": "", "talk_id": null })).await;
        assert_eq!(status, 200, "{id}");
        let cloak = Uuid::parse_str(id.as_str().unwrap()).unwrap();
        let l = Some(cloak);
        assert_eq!(at(&app, &door, l, Direction::In, t, paris(10, 9, 0)).await, Outcome::Ok, "[{e}]");
        assert_eq!(at(&app, &door, l, Direction::In, t, paris(10, 9, 5)).await, Outcome::AlreadyUsed, "[{e}] inside already");
        assert_eq!(at(&app, &door, l, Direction::Out, t, paris(10, 12, 0)).await, Outcome::Exit, "[{e}]");
        assert_eq!(at(&app, &door, l, Direction::In, t, paris(10, 13, 0)).await, Outcome::Ok, "[{e}] back in");
        assert_eq!(at(&app, &door, l, Direction::In, f, paris(11, 9, 0)).await, Outcome::NotOnList, "[{e}] not its pass");
        let door_client = {
            app.user("door2@example.org", PW, Role::StaffScan).await;
            app.logged_in("door2@example.org", PW).await
        };
        let (status, counters) = app.call_as(&door_client, "checkin_counters", &[("list_id", &cloak.to_string())]).await;
        assert_eq!(status, 200, "{counters}");
        assert_eq!(counters["inside"].as_i64(), Some(1), "[{e}] {counters}");
        assert_eq!(counters["expected"].as_i64(), Some(1), "[{e}] one ticket of the pass admitted");

        // Once for the whole event: day 2 is refused.
        let (_, id) = save_list(&app, &admin, json!({ "name": "Cadeau d'accueil", "rule": "ONCE", "all_passes": true,
            "passes": [], "opens_at": "", "closes_at": "", "talk_id": null })).await;
        let gift = Uuid::parse_str(id.as_str().unwrap()).ok();
        assert_eq!(at(&app, &door, gift, Direction::In, t, paris(10, 9, 0)).await, Outcome::Ok);
        assert_eq!(at(&app, &door, gift, Direction::In, t, paris(11, 9, 0)).await, Outcome::AlreadyUsed, "[{e}]");
        // Lists are independent: the entrance still lets the ticket in.
        assert_eq!(at(&app, &door, None, Direction::In, t, paris(10, 9, 1)).await, Outcome::Ok, "[{e}]");

        // A list's hours: closed before it opens.
        let (_, id) = save_list(&app, &admin, json!({ "name": "Soirée", "rule": "DAILY", "all_passes": true, "passes": [],
            "opens_at": "2027-06-10T19:00", "closes_at": "2027-06-10T23:30", "talk_id": null })).await;
        let party = Uuid::parse_str(id.as_str().unwrap()).ok();
        assert_eq!(at(&app, &door, party, Direction::In, t, paris(10, 18, 0)).await, Outcome::NotValidToday, "[{e}]");
        assert_eq!(at(&app, &door, party, Direction::In, t, paris(10, 19, 0)).await, Outcome::Ok, "[{e}]");

        // Arrivals per quarter hour on the entrance.
        let (status, arrivals) = app.call_as(&admin, "admin_checkin_arrivals", &[("day", "2027-06-10")]).await;
        assert_eq!(status, 200, "{arrivals}");
        let cloakroom = arrivals["lists"].as_array().unwrap().iter().find(|l| l["name"] == "Vestiaire").unwrap().clone();
        assert_eq!(cloakroom["total"].as_i64(), Some(2), "[{e}] {cloakroom}");
        assert_eq!(cloakroom["quarters"], json!([["09:00", 1], ["13:00", 1]]), "[{e}]");
        assert_eq!(cloakroom["inside"].as_i64(), Some(1));

        // An archived list is no longer offered, and a scan naming it is a 422 on `list`.
        let (status, _) = app.call_as(&admin, "admin_checkin_list_archive", &[("list_id", &cloak.to_string()), ("archived", "true")]).await;
        assert_eq!(status, 200);
        let (_, lists) = app.call_as(&door_client, "checkin_lists", &[]).await;
        assert!(lists.as_array().unwrap().iter().all(|l| l["name"] != "Vestiaire"), "{lists}");
        assert!(lists.as_array().unwrap().iter().any(|l| l["id"] == ENTRANCE.to_string()), "the default list is there");
        let (status, body) = app.call_as(&door_client, "scan_redeem_ticket", &[("ticket_id", &t.to_string()),
            ("scan_id", &Uuid::new_v4().to_string()), ("list_id", &cloak.to_string())]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("list")), "{body}");
        let audited = app.count("SELECT COUNT(*) FROM audit_logs WHERE action IN ('CREATE_CHECKIN_LIST', 'ARCHIVE_CHECKIN_LIST')").await;
        assert_eq!(audited, 4, "[{e}]");
    })
    .await;
}

#[tokio::test]
async fn a_workshop_list_lets_in_only_the_booked_and_twelve_seats_take_twelve_of_a_hundred() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        app.seed_demo().await;
        let door = staff(&app, "door@example.org", Role::StaffScan).await;
        let (talk,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT id FROM conferences WHERE title = $1").bind(tessera::server::demo::WORKSHOP).fetch_one(pool).await).unwrap();
        let workshop_list = Some(tessera::server::demo::WORKSHOP_LIST);
        let two_days = pass(&app, "Pass 2 jours (test)", 10, 11).await;
        let friday = pass(&app, "Pass Jour 2 (test)", 11, 11).await;

        // Léa books from her programme; Marc did not book; Zoé's pass does not cover Thursday.
        app.user("lea@example.org", PW, Role::User).await;
        let lea = app.logged_in("lea@example.org", PW).await;
        let lea_id: (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM users WHERE email = 'lea@example.org'").fetch_one(pool).await).unwrap();
        let lea_ticket = ticket(&app, lea_id.0, two_days).await;
        let marc = app.user("marc@example.org", PW, Role::User).await;
        let marc_ticket = ticket(&app, marc, two_days).await;
        let zoe = app.user("zoe@example.org", PW, Role::User).await;
        ticket(&app, zoe, friday).await;
        let zoe_client = app.logged_in("zoe@example.org", PW).await;

        let (status, body) = app.call_as(&lea, "workshop_book", &[("talk_id", &talk.to_string())]).await;
        assert_eq!(status, 200, "[{e}] {body}");
        let (status, body) = app.call_as(&lea, "workshop_book", &[("talk_id", &talk.to_string())]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("workshop.error.already_booked")), "[{e}]");
        let (status, body) = app.call_as(&zoe_client, "workshop_book", &[("talk_id", &talk.to_string())]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("workshop.error.no_pass")), "[{e}]");
        let (status, _) = app.call("workshop_book", &[("talk_id", &talk.to_string())]).await;
        assert_eq!(status, 401, "[{e}] anonymous");
        let (status, body) = app.call_as(&lea, "workshop_book", &[("talk_id", "not-a-uuid")]).await;
        assert!((400..500).contains(&status), "[{e}] {status} {body}");
        let (status, body) = app.call_as(&lea, "workshop_book", &[("talk_id", &Uuid::new_v4().to_string())]).await;
        assert_eq!(status, 404, "[{e}] {body}");

        let when = paris(10, 13, 55);
        assert_eq!(at(&app, &door, workshop_list, Direction::In, lea_ticket, when).await, Outcome::Ok, "[{e}] booked");
        assert_eq!(at(&app, &door, workshop_list, Direction::In, marc_ticket, when).await, Outcome::NotOnList, "[{e}] not booked");
        let (_, seats) = app.call_as(&lea, "workshop_seats", &[]).await;
        let mine = seats.as_array().unwrap().iter().find(|s| s["talk_id"] == talk.to_string()).unwrap().clone();
        assert_eq!((mine["booked"].as_i64(), mine["mine"].as_bool()), (Some(1), Some(true)), "[{e}] {mine}");

        // Lea frees her seat (and cannot free it twice); others cannot free hers.
        let (status, _) = app.call_as(&zoe_client, "workshop_cancel", &[("talk_id", &talk.to_string())]).await;
        assert_eq!(status, 422, "[{e}] Zoé holds no seat, and cannot free Léa's");
        let (status, _) = app.call_as(&lea, "workshop_cancel", &[("talk_id", &talk.to_string())]).await;
        assert_eq!(status, 200);
        assert_eq!(app.count("SELECT booked_count FROM workshops").await, 0, "[{e}]");
        // A ticket canceled (a refund, an erasure) frees its seat.
        let marc_client = app.logged_in("marc@example.org", PW).await;
        let (status, _) = app.call_as(&marc_client, "workshop_book", &[("talk_id", &talk.to_string())]).await;
        assert_eq!(status, 200);
        assert_eq!(app.count("SELECT booked_count FROM workshops").await, 1, "[{e}]");
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET status = 'CANCELED' WHERE id = $1")
            .bind(marc_ticket).execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(app.count("SELECT booked_count FROM workshops").await, 0, "[{e}] freed");
        assert_eq!(app.count("SELECT COUNT(*) FROM workshop_bookings").await, 0, "[{e}]");

        // 100 attendees with a covering pass book at once: exactly 12 seats are taken.
        let (order,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT order_id FROM tickets WHERE id = $1")
            .bind(marc_ticket).fetch_one(pool).await).unwrap();
        let mut people = vec![];
        for i in 0..100 {
            let id = Uuid::new_v4();
            let email = format!("rush{i}@example.org");
            let now = tessera::server::now();
            tessera::db_run!(app.db(), pool => sqlx::query(
                "INSERT INTO users (id, email, role, status, created_at, updated_at) VALUES ($1, $2, 'USER', 'ACTIVE', $3, $3)")
                .bind(id).bind(&email).bind(now).execute(pool).await.map(|_| ())).unwrap();
            tessera::db_run!(app.db(), pool => sqlx::query(
                "INSERT INTO tickets (id, user_id, order_id, ticket_type_id, status, issued_at) VALUES ($1, $2, $3, $4, 'VALID', $5)")
                .bind(Uuid::new_v4()).bind(id).bind(order).bind(two_days).bind(now).execute(pool).await.map(|_| ())).unwrap();
            people.push(AuthUser { id, email, role: Role::User, first_name: None, last_name: None, verified: true, locale: Locale::Fr });
        }
        let db = Arc::new(app.state.db.clone());
        let tasks: Vec<_> = people.into_iter().map(|u| {
            let db = db.clone();
            tokio::spawn(async move { tessera::programme::workshops::service::book(&db, &u, talk).await })
        }).collect();
        let mut ok = 0;
        let mut full = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(tessera::error::AppError::Invalid { key, .. }) if key == "workshop.error.full" => full += 1,
                Err(other) => panic!("[{e}] {other:?}"),
            }
        }
        assert_eq!((ok, full), (12, 88), "[{e}]");
        assert_eq!(app.count("SELECT COUNT(*) FROM workshop_bookings").await, 12, "[{e}]");
        assert_eq!(app.count("SELECT MAX(booked_count) FROM workshops").await, 12, "[{e}]");

        // Full: Léa is told so, and joins the waiting list (once); Zoé, whose pass does not cover it, cannot.
        let t = talk.to_string();
        let (status, body) = app.call_as(&lea, "workshop_book", &[("talk_id", &t)]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("workshop.error.full")), "[{e}]");
        let (status, body) = app.call_as(&lea, "workshop_wait", &[("talk_id", &t), ("wait", "true")]).await;
        assert_eq!(status, 200, "[{e}] {body}");
        let (status, body) = app.call_as(&lea, "workshop_wait", &[("talk_id", &t), ("wait", "true")]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("workshop.error.already_waiting")), "[{e}]");
        let (status, body) = app.call_as(&zoe_client, "workshop_wait", &[("talk_id", &t), ("wait", "true")]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("workshop.error.no_pass")), "[{e}]");
        let (status, _) = app.call_as(&zoe_client, "workshop_wait", &[("talk_id", &t), ("wait", "nope")]).await;
        assert!((400..500).contains(&status), "[{e}] {status}");
        let (_, seats) = app.call_as(&lea, "workshop_seats", &[]).await;
        assert_eq!(seats[0]["waiting"].as_i64(), Some(1), "[{e}] {seats}");
        // Someone frees a seat: it is Léa's at once, and she is mailed.
        let (someone,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT user_id FROM workshop_bookings LIMIT 1")
            .fetch_one(pool).await).unwrap();
        let someone = AuthUser { id: someone, email: String::new(), role: Role::User, first_name: None, last_name: None, verified: true, locale: Locale::Fr };
        let given = tessera::programme::workshops::service::cancel(app.db(), &app.state.config, &someone, talk).await.unwrap();
        assert_eq!(given, 1, "[{e}]");
        let (_, seats) = app.call_as(&lea, "workshop_seats", &[]).await;
        assert_eq!((seats[0]["mine"].as_bool(), seats[0]["booked"].as_i64(), seats[0]["waiting"].as_i64()), (Some(true), Some(12), None), "[{e}] {seats}");
        let (kind, body) = app.last_mail_to("lea@example.org").await.unwrap();
        assert_eq!(kind, "WORKSHOP_SEAT");
        assert!(body.contains("Atelier Leptos") && body.contains("/me/programme"), "[{e}] {body}");
        // Booked again, she is on the list (the workshop's list lets in once: she came in before).
        assert_eq!(at(&app, &door, workshop_list, Direction::In, lea_ticket, when).await, Outcome::AlreadyUsed, "[{e}] Léa is on the list");
        // Only an admin makes a workshop, with a number of seats no lower than those booked.
        let (status, _) = app.call_as(&lea, "admin_talk_workshop", &[("talk_id", &t), ("capacity", "500")]).await;
        assert_eq!(status, 403, "[{e}]");
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        for (bad, key) in [("5", "workshop.error.below_booked"), ("-1", "workshop.error.capacity"), ("douze", "workshop.error.capacity"),
                           ("99999999999999999999", "workshop.error.capacity"), ("", "workshop.error.below_booked")] {
            let (status, body) = app.call_as(&admin, "admin_talk_workshop", &[("talk_id", &t), ("capacity", bad)]).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some(key)), "[{e}] capacity {bad:?}");
        }
        let (status, _) = app.call_as(&admin, "admin_talk_workshop", &[("talk_id", &Uuid::new_v4().to_string()), ("capacity", "3")]).await;
        assert_eq!(status, 404, "[{e}]");
        // One seat more: the one who freed hers books it again.
        let (status, _) = app.call_as(&admin, "admin_talk_workshop", &[("talk_id", &t), ("capacity", "13")]).await;
        assert_eq!(status, 200);
        tessera::programme::workshops::service::book(app.db(), &someone, talk).await.unwrap();
        assert_eq!(app.count("SELECT booked_count FROM workshops").await, 13, "[{e}]");
        // A workshop that has started: seats are no longer booked, waited for or freed.
        let past = Uuid::new_v4();
        let now = tessera::server::now();
        tessera::db_run!(app.db(), pool => sqlx::query(
            "INSERT INTO conferences (id, title, description, theme, start_at, end_at, created_at, updated_at) VALUES ($1, 'Atelier passé', '', 'Tech', $2, $3, $4, $4)")
            .bind(past).bind(now - Duration::hours(1)).bind(now + Duration::hours(1)).bind(now).execute(pool).await.map(|_| ())).unwrap();
        let (status, _) = app.call_as(&admin, "admin_talk_workshop", &[("talk_id", &past.to_string()), ("capacity", "10")]).await;
        assert_eq!(status, 200);
        for (endpoint, form) in [("workshop_book", vec![("talk_id", past.to_string())]),
                                 ("workshop_wait", vec![("talk_id", past.to_string()), ("wait", "true".into())]),
                                 ("workshop_cancel", vec![("talk_id", past.to_string())])] {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, body) = app.call_as(&lea, endpoint, &form).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("workshop.error.started")), "[{e}] {endpoint}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_offline_door_applies_the_same_rules_and_a_double_entry_of_day_two_is_a_conflict_of_day_two(
) {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        // Days in the past (the server believes a device's clock for 30 days back): day 1 two days
        // ago, day 2 yesterday, in the server's own zone.
        let tz = app.state.config.timezone;
        let today = tessera::server::now().with_timezone(&tz).date_naive();
        let day = |n: i64| today - Duration::days(n);
        let local = |d: chrono::NaiveDate, h: u32| tz.from_local_datetime(&d.and_hms_opt(h, 0, 0).unwrap()).earliest().unwrap().with_timezone(&Utc);
        let id = crate::common::pass_valid(&app, "Pass 2 jours", local(day(2), 0), local(day(1), 23)).await;
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        // The ticket existed before the event.
        let t = ticket(&app, buyer, id).await;
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET issued_at = $1 WHERE id = $2")
            .bind(local(day(3), 0)).bind(t).execute(pool).await.map(|_| ())).unwrap();
        app.user("door@example.org", PW, Role::StaffScan).await;
        let door = app.logged_in("door@example.org", PW).await;
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let sync = |device: Uuid, entries: Value| {
            let door = door.clone();
            let url = app.url("/api/door_sync");
            async move {
                let res = door.post(url).json(&json!({ "device_id": device, "label": "Porte", "cursor": 0, "entries": entries }))
                    .send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let entry = |at: DateTime<Utc>, answer: &str| json!({ "nonce": Uuid::new_v4(), "code": null, "ticket_id": t,
            "at_ms": at.timestamp_millis(), "answer": answer });
        // Day 1: phone A lets the holder in; day 2: phone A again (a new day: let in), then phone B
        // offline at the same time (a double entry of day 2).
        let (s, delta) = sync(a, json!([entry(local(day(2), 9), "Ok")])).await;
        assert_eq!(s, 200, "{delta}");
        // The phones get the lists, the offset and the ticket's marks, to answer alone.
        assert!(delta["lists"].as_array().unwrap().iter().any(|l| l["id"] == ENTRANCE.to_string() && l["rule"] == "Daily"), "{delta}");
        let marks = delta["tickets"].as_array().unwrap().iter().find(|x| x["id"] == t.to_string()).unwrap()["marks"].clone();
        assert_eq!(marks.as_array().unwrap().len(), 1, "{marks}");
        let (s, _) = sync(a, json!([entry(local(day(1), 9), "Ok")])).await;
        assert_eq!(s, 200);
        let (s, delta) = sync(b, json!([entry(local(day(1), 10), "Ok")])).await;
        assert_eq!(s, 200);
        let outcomes: Vec<(String,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT outcome FROM door_entries ORDER BY device_time").fetch_all(pool).await).unwrap();
        assert_eq!(outcomes, vec![("LET_IN".into(),), ("LET_IN".into(),), ("CONFLICT".into(),)], "[{e}]");
        let conflicts = delta["conflicts"].as_array().unwrap();
        assert_eq!(conflicts.len(), 1, "[{e}] {delta}");
        assert_eq!(conflicts[0]["day"].as_str(), Some(day(1).format("%Y-%m-%d").to_string().as_str()), "[{e}] a conflict of day 2");
        assert_eq!(conflicts[0]["list"].as_str(), Some("Entrée"));
        assert_eq!(app.count("SELECT COUNT(*) FROM checkins WHERE direction = 'IN'").await, 2, "[{e}] one entry a day");
        // A phone that let in a pass on a day it does not cover: shown to the organiser, nothing recorded.
        let (s, _) = sync(b, json!([entry(local(day(0), 9), "Ok")])).await;
        assert_eq!(s, 200);
        let last: (String,) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT outcome FROM door_entries ORDER BY device_time DESC LIMIT 1").fetch_one(pool).await).unwrap();
        assert_eq!(last.0, "NOT_VALID", "[{e}]");
        // An entry naming a list this server never had is refused, nothing recorded; an exit on a
        // list without exits too; a nonce already recorded for another ticket never fails the sync.
        let before = app.count("SELECT COUNT(*) FROM checkins").await;
        let (s, _) = sync(a, json!([{ "nonce": Uuid::new_v4(), "code": null, "ticket_id": t, "at_ms": local(day(1), 11).timestamp_millis(),
            "answer": "Ok", "list_id": Uuid::new_v4() }])).await;
        assert_eq!(s, 200);
        let (s, _) = sync(a, json!([{ "nonce": Uuid::new_v4(), "code": null, "ticket_id": t, "at_ms": local(day(1), 12).timestamp_millis(),
            "answer": "Exit" }])).await;
        assert_eq!(s, 200);
        let (first_nonce,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM checkins ORDER BY at LIMIT 1")
            .fetch_one(pool).await).unwrap();
        let other = ticket(&app, buyer, id).await;
        let (s, body) = sync(b, json!([{ "nonce": first_nonce, "code": null, "ticket_id": other, "at_ms": local(day(1), 13).timestamp_millis(),
            "answer": "Ok" }])).await;
        assert_eq!(s, 200, "[{e}] {body}");
        assert_eq!(app.count("SELECT COUNT(*) FROM checkins").await, before, "[{e}] nothing recorded");
        let refused = app.count("SELECT COUNT(*) FROM door_entries WHERE outcome = 'REFUSED'").await;
        assert_eq!(refused, 2, "[{e}] the unknown list and the exit (the nonce already known is taken once, as any resent entry)");
        let (s, _) = sync(a, json!([{ "nonce": Uuid::new_v4(), "code": null, "ticket_id": t, "at_ms": 0, "answer": "Ok", "direction": "SIDEWAYS" }])).await;
        assert!((400..500).contains(&s), "[{e}] {s}");
    })
    .await;
}

#[tokio::test]
async fn lists_and_badges_are_for_admins_and_bad_input_gets_a_message_on_its_field() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        app.user("door@example.org", PW, Role::StaffScan).await;
        let door = app.logged_in("door@example.org", PW).await;
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        let p = pass(&app, "Pass 2 jours", 10, 11).await;
        let t = ticket(&app, buyer, p).await;
        let buyer_client = app.logged_in("buyer@example.org", PW).await;
        // The attendee names their company on their account page; it is printed on the badge.
        let long = "C".repeat(121);
        let (status, body) = app.call_as(&buyer_client, "update_profile", &[("first_name", "Zoé"), ("last_name", "Lefèvre"),
            ("locale", "fr"), ("company", &long)]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("company")), "[{e}] {body}");
        let (status, body) = app.call_as(&buyer_client, "update_profile", &[("first_name", "Zoé"), ("last_name", "Lefèvre"),
            ("locale", "fr"), ("company", "Coopérative Èze")]).await;
        assert_eq!(status, 200, "[{e}] {body}");
        let (_, me) = app.call_as(&buyer_client, "my_profile", &[]).await;
        assert_eq!(me["company"], "Coopérative Èze");

        // Lists: admins only.
        for c in [&door, &buyer_client, &app.client] {
            let (status, _) = save_list(&app, c, json!({ "name": "X", "rule": "DAILY", "all_passes": true, "passes": [], "opens_at": "", "closes_at": "", "talk_id": null })).await;
            assert!(status == 401 || status == 403, "[{e}] {status}");
            let (status, _) = app.call_as(c, "admin_checkin_lists", &[]).await;
            assert!(status == 401 || status == 403, "[{e}] {status}");
            let (status, _) = app.call_as(c, "admin_checkin_list_archive", &[("list_id", &ENTRANCE.to_string()), ("archived", "true")]).await;
            assert!(status == 401 || status == 403, "[{e}] {status}");
        }
        let (status, _) = app.call_as(&buyer_client, "checkin_lists", &[]).await;
        assert_eq!(status, 403, "[{e}] attendees do not see the door's lists");
        let (status, _) = app.call_as(&buyer_client, "checkin_counters", &[("list_id", &ENTRANCE.to_string())]).await;
        assert_eq!(status, 403);

        let base = json!({ "name": "Liste", "rule": "DAILY", "all_passes": true, "passes": [], "opens_at": "", "closes_at": "", "talk_id": null });
        let with = |k: &str, v: Value| { let mut d = base.clone(); d[k] = v; d };
        let long = "x".repeat(81);
        for (draft, field) in [
            (with("name", json!("   ")), "name"),
            (with("name", json!(long)), "name"),
            (with("rule", json!("TWICE")), "rule"),
            (with("opens_at", json!("demain")), "opens_at"),
            (with("opens_at", json!("99999-01-01T00:00")), "opens_at"),
            (with("closes_at", json!("2027-13-40T25:61")), "closes_at"),
            ({ let mut d = with("opens_at", json!("2027-06-10T12:00")); d["closes_at"] = json!("2027-06-10T11:00"); d }, "closes_at"),
            ({ let mut d = with("all_passes", json!(false)); d["passes"] = json!([]); d }, "passes"),
            ({ let mut d = with("all_passes", json!(false)); d["passes"] = json!([Uuid::new_v4()]); d }, "passes"),
            (with("talk_id", json!(Uuid::new_v4())), "talk_id"),
        ] {
            let (status, body) = save_list(&app, &admin, draft.clone()).await;
            assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some(field)), "[{e}] {draft} → {body}");
        }
        let (status, _) = save_list(&app, &admin, with("id", json!(Uuid::new_v4()))).await;
        assert_eq!(status, 404, "[{e}] changing a list that is not there");
        let (status, _) = save_list(&app, &admin, json!({ "name": "x" })).await;
        assert!((400..500).contains(&status), "[{e}] {status}: no rule");
        let (status, body) = save_list(&app, &admin, { let mut d = with("passes", json!("a,b")); d["all_passes"] = json!(false); d }).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("passes")), "[{e}] {body}");
        let (status, body) = save_list(&app, &admin, with("talk_id", json!("atelier"))).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("talk_id")), "[{e}] {body}");
        let (status, body) = app.call_as(&admin, "admin_checkin_arrivals", &[("day", "10/06/2027")]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("day")), "[{e}]");
        let (status, body) = app.call_as(&door, "scan_redeem_ticket", &[("ticket_id", &t.to_string()), ("scan_id", &Uuid::new_v4().to_string()), ("direction", "UP")]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("direction")), "[{e}]");
        // A scan id reused for another ticket is refused, never a 500.
        let now = tessera::server::now();
        let today_pass = crate::common::pass_valid(&app, "Pass du jour", now - Duration::hours(1), now + Duration::hours(5)).await;
        let t = ticket(&app, buyer, today_pass).await;
        let t2 = ticket(&app, buyer, today_pass).await;
        let scan = Uuid::new_v4().to_string();
        let (status, _) = app.call_as(&door, "scan_redeem_ticket", &[("ticket_id", &t.to_string()), ("scan_id", &scan)]).await;
        assert_eq!(status, 200);
        let (status, body) = app.call_as(&door, "scan_redeem_ticket", &[("ticket_id", &t2.to_string()), ("scan_id", &scan)]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("scan_id")), "[{e}] {body}");

        // Badges: admins only; anyone else gets the 404 of a file that is not there.
        for c in [&door, &buyer_client, &app.client] {
            let res = c.get(app.url("/admin/badges.pdf")).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 404, "[{e}]");
        }
        for q in ["?sheet=a5", "?pass=nope", "?ticket=x"] {
            let res = admin.get(app.url(&format!("/admin/badges.pdf{q}"))).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 422, "[{e}] {q}");
        }
        let res = admin.get(app.url("/admin/badges.pdf?ticket=%FF%00")).send().await.unwrap();
        assert!(res.status().is_client_error(), "[{e}] {}", res.status());
        let res = admin.get(app.url(&format!("/admin/badges.pdf?pass={}", Uuid::new_v4()))).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 422, "[{e}] no ticket to print");
        for sheet in ["a6", "a4"] {
            let res = admin.get(app.url(&format!("/admin/badges.pdf?sheet={sheet}&pass={p}"))).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 200, "[{e}]");
            assert_eq!(res.headers()["content-type"], "application/pdf");
            let pdf = res.bytes().await.unwrap();
            let text: String = pdf_extract::extract_text_from_mem(&pdf).unwrap().split_whitespace().collect();
            assert!(text.contains("ZoéLefèvre"), "[{e}] {text}");
            assert!(text.contains("CoopérativeÈze"), "[{e}] the company");
            assert!(text.contains("Pass2jours"), "[{e}]");
            // …and it renders: pdftoppm draws its pages (installed by scripts/setup).
            match std::process::Command::new("pdftoppm").arg("-v").output() {
                Ok(_) => {
                    let dir = tempfile::tempdir().unwrap();
                    let file = dir.path().join("badges.pdf");
                    std::fs::write(&file, &pdf).unwrap();
                    let ok = std::process::Command::new("pdftoppm").args(["-r", "30", "-png"]).arg(&file).arg(dir.path().join("page"))
                        .status().unwrap();
                    assert!(ok.success(), "[{e}] pdftoppm failed on the {sheet} badges");
                    assert!(std::fs::read_dir(dir.path()).unwrap().any(|f| f.unwrap().file_name().to_string_lossy().ends_with(".png")));
                }
                Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("pdftoppm is missing: scripts/setup --test installs it"),
                Err(_) => eprintln!("pdftoppm not installed: the badges' rendering is not checked (scripts/setup --test installs it)"),
            }
        }
        let res = admin.get(app.url(&format!("/admin/badges.pdf?ticket={t}"))).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'PRINT_BADGES'").await, 3, "[{e}]");
    })
    .await;
}
