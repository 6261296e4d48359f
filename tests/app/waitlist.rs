//! Issue 16, the waiting list, on SQLite and PostgreSQL over real HTTP: a refund offers the freed
//! seat to the first in line (one mail, the seat held from the public), a lapsed offer goes to the
//! next person, buying through the offer removes the entry; and under a race between the public,
//! a seat-holding voucher and the list, no seat is ever sold twice.
use crate::common::{checkout_with, on_each_engine, pass, TestApp};
use std::sync::Arc;
use tessera::{accounts::Role, ticketing::CartLine, vouchers::VoucherEffect};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// (capacity, reserved, sold, held) of a pass.
async fn seats(app: &TestApp, id: Uuid) -> (i64, i64, i64, i64) {
    tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT capacity, reserved_count, sold_count, held_count FROM ticket_types WHERE id = $1").bind(id).fetch_one(pool).await).unwrap()
}

async fn set_capacity(app: &TestApp, id: Uuid, n: i64) {
    tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET capacity = $1 WHERE id = $2").bind(n).bind(id).execute(pool).await.map(|_| ())).unwrap();
}

async fn mails(app: &TestApp, to: &str, kind: &str) -> i64 {
    let (n,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT COUNT(*) FROM outbox_emails WHERE to_address = $1 AND type = $2")
        .bind(to).bind(kind).fetch_one(pool).await).unwrap();
    n
}

/// The code of the offer mailed to `to` (from the link in its body).
async fn offer_code(app: &TestApp, to: &str) -> String {
    let (kind, body) = app.last_mail_to(to).await.expect("a mail");
    assert_eq!(kind, "WAITLIST_OFFER");
    let at = body.find("/tickets?voucher=").expect("the offer link") + "/tickets?voucher=".len();
    body[at..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

async fn my_wait(app: &TestApp, client: &reqwest::Client, pass: Uuid) -> serde_json::Value {
    let (_, shop) = app.call_as(client, "shop", &[]).await;
    shop["waits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["ticket_type_id"] == pass.to_string())
        .cloned()
        .unwrap_or_default()
}

async fn paid_order(app: &TestApp, user: Uuid, pass: Uuid) -> Uuid {
    let line = [CartLine {
        ticket_type_id: pass,
        quantity: "1".into(),
    }];
    let order =
        tessera::ticketing::service::create_pending_order(app.db(), &app.state.config, user, &line)
            .await
            .unwrap();
    let mut tx = app.db().begin().await.unwrap();
    tessera::ticketing::service::mark_paid(&mut tx, &app.state.config, order)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    order
}

#[tokio::test]
async fn a_refund_offers_the_seat_to_the_first_in_line_and_a_lapsed_offer_goes_to_the_next() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        set_capacity(&app, day1, 1).await;
        let first = app.user("first@example.org", PW, Role::User).await;
        let order = paid_order(&app, first, day1).await;

        let mut clients = vec![];
        for who in ["ada", "bob", "cy"] {
            app.user(&format!("{who}@example.org"), PW, Role::User).await;
            clients.push(app.logged_in(&format!("{who}@example.org"), PW).await);
        }
        let (ada, bob, cy) = (&clients[0], &clients[1], &clients[2]);
        // Not sold out yet? Then no list. Sold out: join, once.
        for c in [ada, bob] {
            let (status, body) = app.call_as(c, "join_waitlist", &[("ticket_type_id", &day1.to_string())]).await;
            assert_eq!(status, 200, "[{}] {body}", app.engine);
        }
        let (status, body) = app.call_as(ada, "join_waitlist", &[("ticket_type_id", &day1.to_string())]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("waitlist.error.already")));
        assert_eq!(my_wait(&app, bob, day1).await["position"], 2);

        // The refund frees the seat: ada (first) gets one offer, the seat is held, the public
        // cannot take it.
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        let (status, body) = app.call_as(&admin, "admin_refund_order", &[("order_id", &order.to_string())]).await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        assert_eq!(mails(&app, "ada@example.org", "WAITLIST_OFFER").await, 1, "[{}]", app.engine);
        assert_eq!(mails(&app, "bob@example.org", "WAITLIST_OFFER").await, 0);
        assert_eq!(seats(&app, day1).await, (1, 0, 0, 1), "[{}] the seat is held", app.engine);
        let (status, body, _) = checkout_with(&app, cy, &[(day1, "1")], None).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("shop.error.not_enough_left")), "[{}] the public cannot buy the held seat", app.engine);
        assert_eq!(my_wait(&app, ada, day1).await["status"], "Offered");
        assert_eq!(my_wait(&app, bob, day1).await["position"], 1);
        // Running the job again sends nothing more.
        tessera::waitlist::service::offer_seats(&app.state).await.unwrap();
        assert_eq!(mails(&app, "ada@example.org", "WAITLIST_OFFER").await, 1);
        // Someone else cannot use ada's personal code.
        let ada_code = offer_code(&app, "ada@example.org").await;
        let (status, body, _) = checkout_with(&app, bob, &[(day1, "1")], Some(&ada_code)).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("voucher.error.invalid")), "[{}] {body}", app.engine);

        // The offer lapses (the clock moves past its end): it goes to bob.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE vouchers SET valid_until = $1 WHERE tag = 'waitlist'").bind(tessera::server::now() - chrono::Duration::minutes(1)).execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(tessera::waitlist::service::offer_seats(&app.state).await.unwrap(), 1);
        assert_eq!(my_wait(&app, ada, day1).await["status"], "Expired");
        assert_eq!(mails(&app, "bob@example.org", "WAITLIST_OFFER").await, 1, "[{}]", app.engine);
        assert_eq!(seats(&app, day1).await, (1, 0, 0, 1));
        let (status, body, _) = checkout_with(&app, ada, &[(day1, "1")], Some(&ada_code)).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("voucher.error.invalid")), "[{}] a lapsed offer", app.engine);

        // Bob buys through his link (test mode), which removes his entry.
        let bob_code = offer_code(&app, "bob@example.org").await;
        let (status, body) = app.call_as(bob, "shop", &[("voucher", &bob_code)]).await;
        assert_eq!((status, body["voucher"]["code"].as_str()), (200, Some(bob_code.as_str())));
        let (status, body, location) = checkout_with(&app, bob, &[(day1, "1")], Some(&bob_code)).await;
        assert!(status < 400, "[{}] {body}", app.engine);
        let session = location.unwrap().rsplit('/').next().unwrap().to_string();
        assert_eq!(seats(&app, day1).await, (1, 1, 0, 0), "[{}] the held seat became bob's reservation", app.engine);
        let (status, _) = app.call_as(bob, "test_checkout_act", &[("session_id", &session), ("outcome", "pay")]).await;
        assert_eq!(status, 200);
        assert_eq!(seats(&app, day1).await, (1, 0, 1, 0));
        assert!(my_wait(&app, bob, day1).await.is_null(), "[{}] bought: off the list", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'VALID'").await, 1);

        // Cy waits now; bob's order is refunded: the seat goes to cy, not back to bob's spent offer.
        let (status, _) = app.call_as(cy, "join_waitlist", &[("ticket_type_id", &day1.to_string())]).await;
        assert_eq!(status, 200);
        let (bob_order,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = 'bob@example.org' AND o.status = 'PAID'").fetch_one(pool).await).unwrap();
        let (status, body) = app.call_as(&admin, "admin_refund_order", &[("order_id", &bob_order.to_string())]).await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        assert_eq!(mails(&app, "cy@example.org", "WAITLIST_OFFER").await, 1, "[{}] the refunded seat went to the next person", app.engine);
        assert_eq!(seats(&app, day1).await, (1, 0, 0, 1));
        let (status, body, _) = checkout_with(&app, bob, &[(day1, "1")], Some(&bob_code)).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("voucher.error.invalid")), "[{}] a spent offer", app.engine);
    })
    .await;
}

#[tokio::test]
async fn no_seat_is_sold_twice_across_the_shop_a_voucher_and_the_waiting_list() {
    on_each_engine(&[("DB_MAX_CONNECTIONS", "16")], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        set_capacity(&app, day1, 10).await;
        // A sponsor holds 3 of the 10 seats.
        let mut tx = app.db().begin().await.unwrap();
        assert!(tessera::vouchers::service::take_hold(&mut tx, day1, 3).await.unwrap());
        assert!(tessera::vouchers::service::insert(&mut tx, Uuid::new_v4(), "SPONSOR3", "", Some(day1), VoucherEffect::Percent, 0, 3, None, true, None).await.unwrap());
        tx.commit().await.unwrap();
        let sponsor = tessera::vouchers::service::by_code(app.db(), "SPONSOR3").await.unwrap().unwrap();

        let now = tessera::server::now();
        let mut users = vec![];
        for i in 0..83 {
            let id = Uuid::new_v4();
            tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO users (id, email, locale, created_at, updated_at) VALUES ($1, $2, 'fr', $3, $3)")
                .bind(id).bind(format!("mix{i}@example.org")).bind(now).execute(pool).await.map(|_| ())).unwrap();
            users.push(id);
        }
        let state = Arc::new(app.state.clone());
        let sponsor = Arc::new(sponsor);
        let race = |buyers: Vec<Uuid>, with_voucher: bool| {
            let (state, sponsor) = (state.clone(), sponsor.clone());
            buyers.into_iter().map(move |user| {
                let (state, sponsor) = (state.clone(), sponsor.clone());
                tokio::spawn(async move {
                    let line = [CartLine { ticket_type_id: day1, quantity: "1".into() }];
                    let v = with_voucher.then_some(&*sponsor);
                    tessera::ticketing::service::create_order_with_voucher(&state.db, &state.config, user, &line, v).await.map(|o| o.id)
                })
            })
        };
        // Round 1: 40 members of the public and the 3 sponsor guests at once.
        let tasks: Vec<_> = race(users[..40].to_vec(), false).chain(race(users[40..43].to_vec(), true)).collect();
        let mut won = vec![];
        for (i, t) in tasks.into_iter().enumerate() {
            if let Ok(id) = t.await.unwrap() {
                won.push((i < 40, id));
            }
        }
        let public: Vec<Uuid> = won.iter().filter(|(p, _)| *p).map(|(_, id)| *id).collect();
        assert_eq!((public.len(), won.len() - public.len()), (7, 3), "[{}] 7 public seats, 3 sponsor seats", app.engine);
        assert_eq!(seats(&app, day1).await, (10, 10, 0, 0));

        // Sold out: two people join the list; then the 7 public reservations run out.
        for user in &users[43..45] {
            tessera::waitlist::service::join(&app.state, *user, true, day1).await.unwrap();
        }
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET reserved_until = $1 WHERE voucher_id IS NULL").bind(now - chrono::Duration::minutes(1)).execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(tessera::ticketing::service::release_expired(&app.state).await.unwrap(), 7);
        assert_eq!(seats(&app, day1).await, (10, 3, 0, 2), "[{}] two seats held for the list", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'WAITLIST_OFFER'").await, 2);

        // Round 2: 38 more of the public race for what is left (5), while the job runs again.
        let tasks: Vec<_> = race(users[45..83].to_vec(), false).collect();
        let job = tessera::waitlist::service::offer_seats(&app.state);
        let (_, results) = tokio::join!(job, async {
            let mut ok = 0;
            for t in tasks {
                ok += t.await.unwrap().is_ok() as i64;
            }
            ok
        });
        assert_eq!(results, 5, "[{}] only the 5 free seats went to the public", app.engine);
        let (capacity, reserved, sold, held) = seats(&app, day1).await;
        assert_eq!((capacity, reserved + sold + held), (10, 10), "[{}]", app.engine);
        assert_eq!(held, 2);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'WAITLIST_OFFER'").await, 2, "[{}] no offer twice", app.engine);
        assert_eq!(app.count("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status IN ('PENDING_PAYMENT', 'PAID')").await, 8);
    })
    .await;
}

#[tokio::test]
async fn admins_reorder_the_list_send_offers_by_hand_and_turn_automatic_offers_off() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        set_capacity(&app, day1, 1).await;
        let first = app.user("first@example.org", PW, Role::User).await;
        let order = paid_order(&app, first, day1).await;
        let mut clients = vec![];
        for who in ["ana", "ben", "cleo"] {
            app.user(&format!("{who}@example.org"), PW, Role::User).await;
            let c = app.logged_in(&format!("{who}@example.org"), PW).await;
            let (status, body) = app.call_as(&c, "join_waitlist", &[("ticket_type_id", &day1.to_string())]).await;
            assert_eq!(status, 200, "[{}] {body}", app.engine);
            clients.push(c);
        }
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        let entry = |lists: &serde_json::Value, email: &str| -> String {
            lists[0]["entries"].as_array().unwrap().iter().find(|e| e["email"] == email).unwrap()["id"].as_str().unwrap().to_string()
        };
        let (status, lists) = app.call_as(&admin, "admin_waitlists", &[]).await;
        assert_eq!(status, 200, "[{}] {lists}", app.engine);
        let emails = |lists: &serde_json::Value| -> Vec<String> {
            lists[0]["entries"].as_array().unwrap().iter().map(|e| e["email"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!(emails(&lists), ["ana@example.org", "ben@example.org", "cleo@example.org"]);

        // Cleo moves up one place; the first cannot move up.
        let (status, _) = app.call_as(&admin, "admin_waitlist_move_up", &[("entry_id", &entry(&lists, "cleo@example.org"))]).await;
        assert_eq!(status, 200);
        let (status, body) = app.call_as(&admin, "admin_waitlist_move_up", &[("entry_id", &entry(&lists, "ana@example.org"))]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("waitlist.error.first")));
        let (_, lists) = app.call_as(&admin, "admin_waitlists", &[]).await;
        assert_eq!(emails(&lists), ["ana@example.org", "cleo@example.org", "ben@example.org"], "[{}]", app.engine);
        assert_eq!(my_wait(&app, &clients[2], day1).await["position"], 2);

        // Automatic offers off: a refund frees the seat, nobody is mailed, and the public still cannot buy it.
        let (status, _) = app.call_as(&admin, "admin_waitlist_auto", &[("ticket_type_id", &day1.to_string()), ("auto", "false")]).await;
        assert_eq!(status, 200);
        let (status, body) = app.call_as(&admin, "admin_refund_order", &[("order_id", &order.to_string())]).await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        tessera::waitlist::service::offer_seats(&app.state).await.unwrap();
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'WAITLIST_OFFER'").await, 0, "[{}]", app.engine);
        assert_eq!(seats(&app, day1).await, (1, 0, 0, 0));
        app.user("public@example.org", PW, Role::User).await;
        let public = app.logged_in("public@example.org", PW).await;
        let (status, body, _) = checkout_with(&app, &public, &[(day1, "1")], None).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("shop.error.not_enough_left")), "[{}] {body}", app.engine);
        let (_, lists) = app.call_as(&admin, "admin_waitlists", &[]).await;
        assert_eq!((lists[0]["auto"].as_bool(), lists[0]["free"].as_i64()), (Some(false), Some(1)));

        // The admin offers it by hand to ben (not first); nothing is left for cleo.
        let (status, body) = app.call_as(&admin, "admin_waitlist_offer", &[("entry_id", &entry(&lists, "ben@example.org"))]).await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        assert_eq!(mails(&app, "ben@example.org", "WAITLIST_OFFER").await, 1);
        assert_eq!(seats(&app, day1).await, (1, 0, 0, 1));
        let (status, body) = app.call_as(&admin, "admin_waitlist_offer", &[("entry_id", &entry(&lists, "cleo@example.org"))]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("waitlist.error.no_seat")), "[{}] {body}", app.engine);
        for action in ["WAITLIST_MOVE_UP", "WAITLIST_AUTO", "WAITLIST_OFFER"] {
            let (n,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT COUNT(*) FROM audit_logs WHERE action = $1").bind(action).fetch_one(pool).await).unwrap();
            assert_eq!(n, 1, "[{}] {action} audited once", app.engine);
        }
    })
    .await;
}
