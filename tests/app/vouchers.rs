//! Issue 16, on SQLite and PostgreSQL over real HTTP: vouchers (race on the last uses, seats held
//! for a sponsor, a speaker's hidden pass at 0 € without Stripe, uses given back) and the waiting
//! list (a refund offers the seat to the first in line, a lapsed offer goes to the next), and no
//! seat sold twice across the shop, the vouchers and the waiting list.
use crate::common::{checkout_with, fake_stripe::FakeStripe, on_each_engine, pass, TestApp};
use std::sync::Arc;
use tessera::{
    accounts::Role,
    ticketing::CartLine,
    vouchers::{service as vouchers, VoucherEffect},
};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// (capacity, reserved, sold, held) of a pass.
async fn seats(app: &TestApp, id: Uuid) -> (i64, i64, i64, i64) {
    tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT capacity, reserved_count, sold_count, held_count FROM ticket_types WHERE id = $1").bind(id).fetch_one(pool).await).unwrap()
}

async fn run(app: &TestApp, sql: &str) {
    tessera::db_run!(app.db(), pool => sqlx::query(sql).execute(pool).await.map(|_| ())).unwrap();
}

async fn exec(app: &TestApp, sql: &str, id: Uuid) {
    tessera::db_run!(app.db(), pool => sqlx::query(sql).bind(id).execute(pool).await.map(|_| ()))
        .unwrap();
}

/// A voucher made directly (the back office's own test goes through its server functions),
/// holding its seats if asked (taken from the public's, as the back office does).
#[allow(clippy::too_many_arguments)]
async fn voucher(
    app: &TestApp,
    code: &str,
    pass: Option<Uuid>,
    effect: VoucherEffect,
    value: i64,
    max_uses: i64,
    holds: bool,
    unlocks_hidden: bool,
) -> vouchers::Voucher {
    let mut tx = app.db().begin().await.unwrap();
    let id = Uuid::new_v4();
    if holds {
        assert!(vouchers::take_hold(&mut tx, pass.unwrap(), max_uses)
            .await
            .unwrap());
    }
    assert!(vouchers::insert(
        &mut tx, id, code, "test", pass, effect, value, max_uses, None, holds, None
    )
    .await
    .unwrap());
    tessera::tx_run!(&mut tx, c => sqlx::query("UPDATE vouchers SET unlocks_hidden = $1 WHERE id = $2").bind(unlocks_hidden).bind(id).execute(c).await.map(|_| ())).unwrap();
    tx.commit().await.unwrap();
    vouchers::by_code(app.db(), code).await.unwrap().unwrap()
}

async fn raw_users(app: &TestApp, prefix: &str, n: usize) -> Vec<Uuid> {
    let now = tessera::server::now();
    let mut out = vec![];
    for i in 0..n {
        let id = Uuid::new_v4();
        tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO users (id, email, created_at, updated_at) VALUES ($1, $2, $3, $3)")
            .bind(id).bind(format!("{prefix}{i}@example.org")).bind(now).execute(pool).await.map(|_| ())).unwrap();
        out.push(id);
    }
    out
}

fn line(pass: Uuid, q: &str) -> Vec<CartLine> {
    vec![CartLine {
        ticket_type_id: pass,
        quantity: q.into(),
    }]
}

async fn shop(app: &TestApp, client: &reqwest::Client, code: &str) -> serde_json::Value {
    let (status, body) = app.call_as(client, "shop", &[("voucher", code)]).await;
    assert_eq!(status, 200, "[{}] shop: {body}", app.engine);
    body
}

fn card(shop: &serde_json::Value, pass: Uuid) -> Option<&serde_json::Value> {
    shop["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == pass.to_string())
}

#[tokio::test]
async fn two_hundred_buyers_race_for_the_last_ten_uses_of_a_voucher() {
    on_each_engine(&[("DB_MAX_CONNECTIONS", "16")], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        exec(
            &app,
            "UPDATE ticket_types SET capacity = 1000 WHERE id = $1",
            day1,
        )
        .await;
        let v = voucher(
            &app,
            "EARLYBIRD",
            None,
            VoucherEffect::Percent,
            20,
            10,
            false,
            false,
        )
        .await;
        let buyers = raw_users(&app, "racer", 200).await;
        let state = Arc::new(app.state.clone());
        let v = Arc::new(v);
        let mut tasks = vec![];
        for user in buyers {
            let (state, v) = (state.clone(), v.clone());
            tasks.push(tokio::spawn(async move {
                tessera::ticketing::service::create_order_with_voucher(
                    &state.db,
                    &state.config,
                    user,
                    &line(day1, "1"),
                    Some(&v),
                )
                .await
            }));
        }
        let (mut ok, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(order) => {
                    assert_eq!(
                        (order.total_cents, order.discount_cents),
                        (5_600, 1_400),
                        "[{}] 20 % off 70 €",
                        app.engine
                    );
                    ok += 1
                }
                Err(e) if e.message_key() == "voucher.error.invalid" => refused += 1,
                Err(e) => panic!("[{}] unexpected error under contention: {e:?}", app.engine),
            }
        }
        assert_eq!((ok, refused), (10, 190), "[{}]", app.engine);
        assert_eq!(
            app.count("SELECT uses FROM vouchers WHERE code = 'EARLYBIRD'")
                .await,
            10
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orders WHERE voucher_id IS NOT NULL")
                .await,
            10
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM orders").await,
            10,
            "[{}] a refused use leaves no order behind",
            app.engine
        );
        assert_eq!(seats(&app, day1).await, (1000, 10, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn codes_say_what_they_do_and_refused_codes_all_look_alike() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        let day2 = pass(&app, "Pass Jour 2").await;
        voucher(&app, "DAY2ONLY", Some(day2), VoucherEffect::Amount, 2_500, 5, false, false).await;
        voucher(&app, "USEDUP", None, VoucherEffect::Percent, 50, 1, false, false).await;
        voucher(&app, "LATE", None, VoucherEffect::Percent, 50, 5, false, false).await;
        run(&app, "UPDATE vouchers SET uses = 1 WHERE code = 'USEDUP'").await;
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE vouchers SET valid_until = $1 WHERE code = 'LATE'").bind(tessera::server::now() - chrono::Duration::hours(1)).execute(pool).await.map(|_| ())).unwrap();
        app.user("buyer@example.org", PW, Role::User).await;
        let c = app.logged_in("buyer@example.org", PW).await;

        // A valid code: its pass shows the reduced price beside the list price; the others do not move.
        let s = shop(&app, &c, " day2only ").await;
        assert_eq!(s["voucher"]["code"], "DAY2ONLY");
        let d2 = card(&s, day2).unwrap();
        assert_eq!((d2["price_cents"].as_i64(), d2["list_price_cents"].as_i64()), (Some(7_000 - 2_500), Some(7_000)), "[{}] {d2}", app.engine);
        assert!(card(&s, day1).unwrap()["list_price_cents"].is_null());

        // Unknown, used up and expired: one and the same answer.
        for code in ["NOSUCHCODE", "USEDUP", "LATE"] {
            let s = shop(&app, &c, code).await;
            assert!(s["voucher"].is_null());
            assert_eq!(s["voucher_error"]["Invalid"]["key"], "voucher.error.invalid", "[{}] {code}", app.engine);
        }
        // A valid code for another pass is told so at checkout, on the code's field.
        let (status, body, _) = checkout_with(&app, &c, &[(day1, "1")], Some("DAY2ONLY")).await;
        assert_eq!((status, body["Invalid"]["field"].as_str(), body["Invalid"]["key"].as_str()), (422, Some("voucher"), Some("voucher.error.not_applicable")), "[{}] {body}", app.engine);
        // More seats than it covers.
        let (status, body, _) = checkout_with(&app, &c, &[(day2, "6")], Some("DAY2ONLY")).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("voucher.error.not_enough_uses")), "[{}] {body}", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);

        // Guessing is rate limited per address: past the budget even a valid code is refused.
        for i in 0..vouchers::GUESSES_PER_IP {
            shop(&app, &c, &format!("GUESS{i}")).await;
        }
        let (status, body) = app.call_as(&c, "shop", &[("voucher", "DAY2ONLY")]).await;
        assert_eq!(status, 200);
        assert!(body["voucher_error"]["RateLimited"].is_object(), "[{}] {body}", app.engine);
        let (status, _, _) = checkout_with(&app, &c, &[(day2, "1")], Some("DAY2ONLY")).await;
        assert_eq!(status, 429, "[{}] checkout with a code past the guessing budget", app.engine);
    })
    .await;
}

#[tokio::test]
async fn a_speaker_code_unlocks_the_hidden_pass_and_a_free_order_is_paid_without_stripe() {
    let fake = FakeStripe::start().await;
    let env = [
        ("STRIPE_SECRET_KEY", "sk_test_tessera".to_string()),
        ("STRIPE_WEBHOOK_SECRETS", "whsec_current".to_string()),
        ("STRIPE_API_BASE", fake.url.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| {
        let fake = &fake;
        async move {
            app.seed_demo().await;
            let speaker = Uuid::new_v4();
            let now = tessera::server::now();
            tessera::db_run!(app.db(), pool => sqlx::query(
                "INSERT INTO ticket_types (id, name, price_cents, currency, capacity, is_active, is_hidden, created_at, updated_at) VALUES ($1, 'Pass orateur', 30000, 'eur', 40, TRUE, TRUE, $2, $2)")
                .bind(speaker).bind(now).execute(pool).await.map(|_| ())).unwrap();
            app.user("speaker@example.org", PW, Role::User).await;
            let c = app.logged_in("speaker@example.org", PW).await;
            // Without the code, the pass is neither shown nor sold.
            assert!(card(&shop(&app, &c, "").await, speaker).is_none(), "[{}] hidden pass shown", app.engine);
            let (status, body, _) = checkout_with(&app, &c, &[(speaker, "1")], None).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("shop.error.unknown_pass")), "[{}] {body}", app.engine);
            let plain = voucher(&app, "NOTUNLOCKING", Some(speaker), VoucherEffect::Price, 0, 1, false, false).await;
            let (status, body, _) = checkout_with(&app, &c, &[(speaker, "1")], Some(&plain.code)).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("shop.error.unknown_pass")), "[{}] a code that does not unlock it", app.engine);

            voucher(&app, "SPEAKER-ADA", Some(speaker), VoucherEffect::Price, 0, 1, false, true).await;
            let s = shop(&app, &c, "speaker-ada").await;
            let item = card(&s, speaker).expect("the code unlocks the hidden pass");
            assert_eq!((item["price_cents"].as_i64(), item["hidden"].as_bool()), (Some(0), Some(true)));
            let sessions_before = fake.recorded.lock().unwrap().created.len();
            let (status, body, location) = checkout_with(&app, &c, &[(speaker, "1")], Some("SPEAKER-ADA")).await;
            assert!(status < 400, "[{}] {status} {body}", app.engine);
            let location = location.expect("a redirect");
            assert!(location.contains("/orders/") && location.ends_with("/confirmation"), "[{}] straight to the confirmation: {location}", app.engine);
            assert_eq!(fake.recorded.lock().unwrap().created.len(), sessions_before, "[{}] Stripe was not asked", app.engine);
            let (st, total, discount): (String, i64, i64) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT status, total_cents, discount_cents FROM orders").fetch_one(pool).await).unwrap();
            assert_eq!((st.as_str(), total, discount), ("PAID", 0, 30_000), "[{}]", app.engine);
            assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'VALID'").await, 1);
            assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type IN ('ORDER_CONFIRMED', 'TICKET_SENT')").await, 2);
            assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'CONFIRM_FREE_ORDER'").await, 1);
            assert_eq!(seats(&app, speaker).await, (40, 0, 1, 0));
            // The order shows the code and what it took off.
            let (_, orders) = app.call_as(&c, "my_orders", &[]).await;
            assert_eq!((orders[0]["voucher_code"].as_str(), orders[0]["discount_cents"].as_i64()), (Some("SPEAKER-ADA"), Some(30_000)));
            // A paying order with a discount: Stripe's page is asked for the discounted amounts.
            let day2 = pass(&app, "Pass Jour 2").await;
            voucher(&app, "MINUS25", Some(day2), VoucherEffect::Amount, 2_500, 5, false, false).await;
            let (status, body, _) = checkout_with(&app, &c, &[(day2, "2")], Some("minus25")).await;
            assert!(status < 400, "[{}] {body}", app.engine);
            let (form, _) = fake.recorded.lock().unwrap().created.last().cloned().unwrap();
            let f = |k: &str| crate::common::fake_stripe::field(&form, k).to_string();
            assert_eq!((f("line_items[0][quantity]"), f("line_items[0][price_data][unit_amount]")), ("2".into(), "4500".into()), "[{}]", app.engine);
            // Used once: a second time it is refused like any invalid code.
            let (status, body, _) = checkout_with(&app, &c, &[(speaker, "1")], Some("SPEAKER-ADA")).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("voucher.error.invalid")), "[{}] {body}", app.engine);

            // An admin can cancel the free order with Stripe on: nothing to refund at the provider,
            // the ticket is canceled and the code's use comes back.
            app.user("admin@example.org", PW, Role::Admin).await;
            let admin = app.logged_in("admin@example.org", PW).await;
            let (free,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM orders WHERE total_cents = 0").fetch_one(pool).await).unwrap();
            let refunds_before = fake.recorded.lock().unwrap().refunds.len();
            let (status, body) = app.call_as(&admin, "admin_refund_order", &[("order_id", &free.to_string())]).await;
            assert_eq!(status, 200, "[{}] {body}", app.engine);
            assert_eq!(fake.recorded.lock().unwrap().refunds.len(), refunds_before, "[{}] Stripe not asked to refund 0 €", app.engine);
            assert_eq!(app.count("SELECT uses FROM vouchers WHERE code = 'SPEAKER-ADA'").await, 0);
            assert_eq!(seats(&app, speaker).await, (40, 0, 0, 0));
        }
    })
    .await;
}

#[tokio::test]
async fn an_expired_or_refunded_order_gives_its_voucher_uses_back() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        let v = voucher(&app, "TWICE", Some(day1), VoucherEffect::Percent, 50, 2, false, false).await;
        let buyer = raw_users(&app, "expiring", 1).await[0];
        let order = tessera::ticketing::service::create_order_with_voucher(app.db(), &app.state.config, buyer, &line(day1, "2"), Some(&v)).await.unwrap();
        assert_eq!(app.count("SELECT uses FROM vouchers WHERE code = 'TWICE'").await, 2);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET reserved_until = $1").bind(tessera::server::now() - chrono::Duration::minutes(1)).execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(tessera::ticketing::service::release_expired(&app.state).await.unwrap(), 1);
        assert_eq!(app.count("SELECT uses FROM vouchers WHERE code = 'TWICE'").await, 0, "[{}] the expired order's uses came back", app.engine);
        assert_eq!(seats(&app, day1).await.1, 0);

        // Used again, paid, then refunded: the uses come back once more.
        let v = vouchers::by_code(app.db(), "TWICE").await.unwrap().unwrap();
        let again = tessera::ticketing::service::create_order_with_voucher(app.db(), &app.state.config, buyer, &line(day1, "1"), Some(&v)).await.unwrap();
        assert_ne!(again.id, order.id);
        let mut tx = app.db().begin().await.unwrap();
        assert_eq!(tessera::ticketing::service::mark_paid(&mut tx, &app.state.config, again.id).await.unwrap(), tessera::ticketing::service::Paid::Issued);
        tx.commit().await.unwrap();
        assert_eq!(app.count("SELECT uses FROM vouchers WHERE code = 'TWICE'").await, 1);
        let mut tx = app.db().begin().await.unwrap();
        assert!(tessera::ticketing::service::refund_locally(&mut tx, &app.state.config, again.id).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(app.count("SELECT uses FROM vouchers WHERE code = 'TWICE'").await, 0, "[{}] the refunded order's use came back", app.engine);
        assert_eq!(seats(&app, day1).await, (seats(&app, day1).await.0, 0, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn sponsor_seats_are_kept_from_the_public_until_the_voucher_ends() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        exec(&app, "UPDATE ticket_types SET capacity = 5 WHERE id = $1", day1).await;
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        // The back office makes the voucher: a code, then its pass, uses, hold and end, each audited.
        let (status, rows) = app.call_as(&admin, "admin_create_vouchers", &[("count", "1"), ("code", "acme-sponsor"), ("tag", "sponsors")]).await;
        assert_eq!(status, 200, "[{}] {rows}", app.engine);
        let id = rows[0]["id"].as_str().unwrap().to_string();
        let mut version = rows[0]["version"].as_i64().unwrap();
        let until = app.state.config.local_input(tessera::server::now() + chrono::Duration::days(2));
        for (field, value) in [("ticket_type_id", day1.to_string()), ("effect", "PRICE".into()), ("value", "0".into()), ("max_uses", "3".into()), ("holds_seats", "true".into()), ("valid_until", until)] {
            let (status, row) = app.call_as(&admin, "admin_update_voucher", &[("id", &id), ("field", field), ("value", &value), ("version", &version.to_string())]).await;
            assert_eq!(status, 200, "[{}] {field}: {row}", app.engine);
            version = row["version"].as_i64().unwrap();
        }
        assert_eq!(seats(&app, day1).await, (5, 0, 0, 3), "[{}] 3 seats held", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'UPDATE_VOUCHER'").await, 6);
        // A stale version is refused.
        let (status, body) = app.call_as(&admin, "admin_update_voucher", &[("id", &id), ("field", "max_uses"), ("value", "4"), ("version", "1")]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("vouchers.error.changed_meanwhile")));
        // Holding more than is free is refused.
        let (status, body) = app.call_as(&admin, "admin_update_voucher", &[("id", &id), ("field", "max_uses"), ("value", "6"), ("version", &version.to_string())]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("vouchers.error.not_enough_seats")), "[{}] {body}", app.engine);

        // The public gets the 2 other seats, not a third.
        app.user("public@example.org", PW, Role::User).await;
        let public = app.logged_in("public@example.org", PW).await;
        let (status, body, _) = checkout_with(&app, &public, &[(day1, "3")], None).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("shop.error.not_enough_left")), "[{}] {body}", app.engine);
        let (status, _, _) = checkout_with(&app, &public, &[(day1, "2")], None).await;
        assert!(status < 400);
        assert_eq!(card(&shop(&app, &public, "").await, day1).unwrap()["availability"], "SoldOut");
        // The sponsor still sees its seats and takes one.
        app.user("sponsor@example.org", PW, Role::User).await;
        let sponsor = app.logged_in("sponsor@example.org", PW).await;
        let s = shop(&app, &sponsor, "ACME-SPONSOR").await;
        assert_eq!(card(&s, day1).unwrap()["availability"]["OnSale"]["left"].as_i64(), Some(3), "[{}] {s}", app.engine);
        let (status, body, _) = checkout_with(&app, &sponsor, &[(day1, "1")], Some("ACME-SPONSOR")).await;
        assert!(status < 400, "[{}] {body}", app.engine);
        assert_eq!(seats(&app, day1).await, (5, 2, 1, 2), "[{}] the sponsor's seat left the hold", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'").await, 1, "0 € for the sponsor: paid at once");
        // Used: its pass can no longer change (its orders' seats are on this one).
        let (status, body) = app.call_as(&admin, "admin_update_voucher", &[("id", &id), ("field", "ticket_type_id"), ("value", ""), ("version", &version.to_string())]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("vouchers.error.used")), "[{}] {body}", app.engine);
        // Someone waits on the sold-out pass: the sponsor's voucher can still be edited (its seats
        // stay held; only more seats would have to be free).
        app.user("waiting@example.org", PW, Role::User).await;
        let waiting = app.logged_in("waiting@example.org", PW).await;
        let (status, body) = app.call_as(&waiting, "join_waitlist", &[("ticket_type_id", &day1.to_string())]).await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        let (status, row) = app.call_as(&admin, "admin_update_voucher", &[("id", &id), ("field", "tag"), ("value", "sponsors-2027"), ("version", &version.to_string())]).await;
        assert_eq!(status, 200, "[{}] {row}", app.engine);
        assert_eq!(seats(&app, day1).await, (5, 2, 1, 2), "[{}] the hold did not move", app.engine);
        let (status, _) = app.call_as(&waiting, "leave_waitlist", &[("ticket_type_id", &day1.to_string())]).await;
        assert_eq!(status, 200);

        // The voucher ends: its 2 unused seats go back on sale.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE vouchers SET valid_until = $1").bind(tessera::server::now() - chrono::Duration::minutes(1)).execute(pool).await.map(|_| ())).unwrap();
        tessera::waitlist::service::offer_seats(&app.state).await.unwrap();
        assert_eq!(seats(&app, day1).await, (5, 2, 1, 0), "[{}] hold released", app.engine);
        app.user("late@example.org", PW, Role::User).await;
        let late = app.logged_in("late@example.org", PW).await;
        let (status, body, _) = checkout_with(&app, &late, &[(day1, "2")], None).await;
        assert!(status < 400, "[{}] {body}", app.engine);
        assert_eq!(seats(&app, day1).await, (5, 4, 1, 0));
    })
    .await;
}
