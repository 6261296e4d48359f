//! Ticketing and payments over real HTTP on SQLite and PostgreSQL, with a local fake of the Stripe
//! API and really signed webhooks: no oversell, idempotent events, expiry, refunds, bad input.
use crate::common::{checkout, fake_stripe::FakeStripe, on_each_engine, pass, TestApp};
use serde_json::{json, Value};
use std::sync::Arc;
use tessera::{accounts::Role, payments::service::sign};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";
const WHSEC: &str = "whsec_current";

fn stripe_env(fake: &FakeStripe) -> Vec<(&'static str, String)> {
    vec![
        ("STRIPE_SECRET_KEY", "sk_test_tessera".to_string()),
        ("STRIPE_WEBHOOK_SECRETS", format!("whsec_previous,{WHSEC}")),
        ("STRIPE_API_BASE", fake.url.clone()),
    ]
}

async fn seats(app: &TestApp, id: Uuid) -> (i64, i64, i64) {
    tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT capacity, reserved_count, sold_count FROM ticket_types WHERE id = $1").bind(id).fetch_one(pool).await).unwrap()
}

async fn post_event(app: &TestApp, event: &Value, secret: &str, at: i64) -> (u16, String) {
    let body = serde_json::to_vec(event).unwrap();
    let res = app
        .client
        .post(app.url("/stripe/webhook"))
        .header("stripe-signature", sign(&body, secret, at))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn completed(event_id: &str, session: &str, pi: &str) -> Value {
    json!({ "id": event_id, "type": "checkout.session.completed", "data": { "object": { "id": session, "object": "checkout.session", "payment_status": "paid", "payment_intent": pi } } })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn order_status(app: &TestApp, order: &str) -> String {
    let (s,): (String,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT status FROM orders WHERE id = $1")
        .bind(Uuid::parse_str(order).unwrap()).fetch_one(pool).await).unwrap();
    s
}

#[tokio::test]
async fn a_purchase_goes_through_stripe_checkout_and_a_signed_webhook() {
    let fake = FakeStripe::start().await;
    let env = stripe_env(&fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| {
        let fake = fake.clone();
        async move {
            app.seed_demo().await;
            let two_days = pass(&app, "Pass 2 jours").await;
            app.user("buyer@example.org", PW, Role::User).await;
            let buyer = app.logged_in("buyer@example.org", PW).await;
            let (status, body, location) = checkout(&app, &buyer, &[(two_days, "2")]).await;
            assert!(status < 400, "[{}] checkout: {status} {body}", app.engine);
            let session = fake.last_session();
            assert_eq!(location.as_deref(), session["url"].as_str(), "sent to Stripe's page");

            // What the app sent to Stripe: lines, currency, buyer, order reference, expiry, idempotency key.
            let (form, key) = fake.recorded.lock().unwrap().created.last().cloned().unwrap();
            let f = |k: &str| crate::common::fake_stripe::field(&form, k).to_string();
            assert_eq!((f("line_items[0][quantity]"), f("line_items[0][price_data][unit_amount]"), f("line_items[0][price_data][currency]")), ("2".into(), "12000".into(), "eur".into()));
            assert_eq!(f("customer_email"), "buyer@example.org");
            assert_eq!(f("mode"), "payment");
            let order = f("client_reference_id");
            assert_eq!(f("metadata[order_id]"), order);
            assert_eq!(key.as_deref(), Some(format!("checkout-{order}").as_str()));
            let expires: i64 = f("expires_at").parse().unwrap();
            assert!((expires - now() - 31 * 60).abs() < 60, "Stripe's page lives 31 minutes (its minimum is 30)");
            assert_eq!(order_status(&app, &order).await, "PENDING_PAYMENT");
            assert_eq!(seats(&app, two_days).await, (300, 2, 0), "[{}] seats reserved", app.engine);
            let (total,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT total_cents FROM orders").fetch_one(pool).await).unwrap();
            assert_eq!(total, 24_000);

            // A forged or stale signature changes nothing.
            let sid = session["id"].as_str().unwrap();
            let event = completed("evt_1", sid, "pi_123");
            assert_eq!(post_event(&app, &event, "whsec_forged", now()).await.0, 400);
            assert_eq!(post_event(&app, &event, WHSEC, now() - 301).await.0, 400);
            assert_eq!(order_status(&app, &order).await, "PENDING_PAYMENT");

            // The real one: paid, tickets issued, seats sold; again: nothing more.
            assert_eq!(post_event(&app, &event, WHSEC, now()).await, (200, "paid".into()), "[{}]", app.engine);
            assert_eq!(post_event(&app, &event, "whsec_previous", now()).await, (200, "duplicate".into()), "a rotated secret is still accepted");
            assert_eq!(order_status(&app, &order).await, "PAID");
            assert_eq!(seats(&app, two_days).await, (300, 0, 2));
            assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'VALID'").await, 2);
            assert_eq!(app.count("SELECT COUNT(*) FROM payments WHERE status = 'SUCCEEDED' AND stripe_payment_intent_id = 'pi_123'").await, 1);
            assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type IN ('ORDER_CONFIRMED', 'TICKET_SENT')").await, 2);

            // The tickets, their tokens and QR codes; the database holds only the tokens' hashes.
            let (_, tickets) = app.call_as(&buyer, "my_tickets", &[]).await;
            let tickets = tickets.as_array().unwrap().clone();
            assert_eq!(tickets.len(), 2);
            for t in &tickets {
                let token = t["token"].as_str().unwrap();
                assert!(token.len() >= 43, "≥ 256 bits");
                assert!(t["qr_svg"].as_str().unwrap().contains("<svg"));
                assert_eq!(app.count(&format!("SELECT COUNT(*) FROM ticket_tokens WHERE token_hash = '{token}'")).await, 0, "no plain token stored");
                let found = tessera::ticketing::service::ticket_by_token(app.db(), token).await.unwrap();
                assert_eq!(found.map(|u| u.to_string()).as_deref(), t["id"].as_str());
                let mut tampered = token.to_string();
                tampered.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
                assert_eq!(tessera::ticketing::service::ticket_by_token(app.db(), &tampered).await.unwrap(), None);
            }

            // A token can be reissued (the old QR stops working) and can expire; holders can be named.
            let first = tickets[0]["id"].as_str().unwrap().parse::<Uuid>().unwrap();
            let old = tickets[0]["token"].as_str().unwrap().to_string();
            let mut tx = app.db().begin().await.unwrap();
            tessera::ticketing::service::reissue_token(&mut tx, &app.state.config, first, None).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(tessera::ticketing::service::ticket_by_token(app.db(), &old).await.unwrap(), None, "[{}] the old token is dead", app.engine);
            let (_, again) = app.call_as(&buyer, "my_tickets", &[]).await;
            let new = again.as_array().unwrap().iter().find(|t| t["id"] == tickets[0]["id"]).unwrap()["token"].as_str().unwrap().to_string();
            assert_ne!(new, old);
            assert_eq!(tessera::ticketing::service::ticket_by_token(app.db(), &new).await.unwrap(), Some(first));
            let mut tx = app.db().begin().await.unwrap();
            tessera::ticketing::service::reissue_token(&mut tx, &app.state.config, first, Some(tessera::server::now() - chrono::Duration::seconds(1))).await.unwrap();
            tx.commit().await.unwrap();
            let (_, again) = app.call_as(&buyer, "my_tickets", &[]).await;
            let expired = again.as_array().unwrap().iter().find(|t| t["id"] == tickets[0]["id"]).unwrap()["token"].as_str().unwrap().to_string();
            assert_eq!(tessera::ticketing::service::ticket_by_token(app.db(), &expired).await.unwrap(), None, "an expired token is refused");
            let id = first.to_string();
            let (s, _) = app.call_as(&buyer, "set_ticket_holder", &[("ticket_id", &id), ("holder_name", "Léa Martin"), ("holder_email", "Lea@Example.org")]).await;
            assert_eq!(s, 200);
            let (s, body) = app.call_as(&buyer, "set_ticket_holder", &[("ticket_id", &id), ("holder_name", "Léa"), ("holder_email", "nope")]).await;
            assert_eq!((s, body["Invalid"]["field"].as_str()), (422, Some("holder_email")));
            let stranger = app.new_client();
            app.user("other@example.org", PW, Role::User).await;
            let other = app.logged_in("other@example.org", PW).await;
            assert_eq!(app.call_as(&other, "set_ticket_holder", &[("ticket_id", &id), ("holder_name", "Thief"), ("holder_email", "t@example.org")]).await.0, 404, "not someone else's ticket");
            assert_eq!(app.call_as(&stranger, "set_ticket_holder", &[("ticket_id", &id), ("holder_name", "X"), ("holder_email", "x@example.org")]).await.0, 401);
            let (_, again) = app.call_as(&buyer, "my_tickets", &[]).await;
            let t = again.as_array().unwrap().iter().find(|t| t["id"] == tickets[0]["id"]).unwrap().clone();
            assert_eq!((t["holder_name"].as_str(), t["holder_email"].as_str()), (Some("Léa Martin"), Some("lea@example.org")));

            // An event for an order we do not know: logged, 200, nothing changes.
            assert_eq!(post_event(&app, &completed("evt_2", "cs_unknown", "pi_x"), WHSEC, now()).await, (200, "unknown_order".into()));

            // A full refund by an admin goes through Stripe, cancels the tickets and frees the seats.
            app.user("admin@example.org", PW, Role::Admin).await;
            let admin = app.logged_in("admin@example.org", PW).await;
            assert_eq!(app.call_as(&buyer, "admin_refund_order", &[("order_id", &order)]).await.0, 403, "a buyer cannot refund");
            let (status, body) = app.call_as(&admin, "admin_refund_order", &[("order_id", &order)]).await;
            assert_eq!(status, 200, "[{}] {body}", app.engine);
            assert_eq!(fake.recorded.lock().unwrap().refunds.last().map(String::as_str), Some("pi_123"));
            assert_eq!(order_status(&app, &order).await, "REFUNDED");
            assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'CANCELED'").await, 2);
            assert_eq!(seats(&app, two_days).await, (300, 0, 0));
            assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'REFUND_ORDER'").await, 1);
            assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ORDER_REFUNDED'").await, 1);
            // Stripe's own charge.refunded for it later changes nothing more.
            let refunded = json!({ "id": "evt_3", "type": "charge.refunded", "data": { "object": { "id": "ch_1", "payment_intent": "pi_123" } } });
            assert_eq!(post_event(&app, &refunded, WHSEC, now()).await, (200, "not_paid".into()));
        }
    })
    .await;
}

#[tokio::test]
async fn two_hundred_buyers_race_for_the_last_fifty_seats() {
    on_each_engine(&[("DB_MAX_CONNECTIONS", "16")], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET capacity = 50 WHERE id = $1").bind(day1).execute(pool).await.map(|_| ())).unwrap();
        let mut buyers = vec![];
        let now = tessera::server::now();
        for i in 0..200 {
            let id = Uuid::new_v4();
            tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO users (id, email, created_at, updated_at) VALUES ($1, $2, $3, $3)")
                .bind(id).bind(format!("racer{i}@example.org")).bind(now).execute(pool).await.map(|_| ())).unwrap();
            buyers.push(id);
        }
        let state = Arc::new(app.state.clone());
        let mut tasks = vec![];
        for user in buyers {
            let state = state.clone();
            tasks.push(tokio::spawn(async move {
                let line = tessera::ticketing::CartLine { ticket_type_id: day1, quantity: "1".into() };
                tessera::ticketing::service::create_pending_order(&state.db, &state.config, user, &[line]).await
            }));
        }
        let (mut ok, mut sold_out) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) if e.message_key() == "shop.error.not_enough_left" => sold_out += 1,
                Err(e) => panic!("[{}] unexpected error under contention: {e:?}", app.engine),
            }
        }
        assert_eq!((ok, sold_out), (50, 150), "[{}]", app.engine);
        assert_eq!(seats(&app, day1).await, (50, 50, 0));
        assert_eq!(app.count("SELECT COUNT(*) FROM orders WHERE status = 'PENDING_PAYMENT'").await, 50);
        assert_eq!(app.count("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_items").await, 50);
    })
    .await;
}

#[tokio::test]
async fn twenty_deliveries_of_one_event_make_one_set_of_tickets_and_one_mail() {
    let fake = FakeStripe::start().await;
    let env = stripe_env(&fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| {
        let fake = fake.clone();
        async move {
            app.seed_demo().await;
            let day2 = pass(&app, "Pass Jour 2").await;
            app.user("fan@example.org", PW, Role::User).await;
            let fan = app.logged_in("fan@example.org", PW).await;
            checkout(&app, &fan, &[(day2, "3")]).await;
            let sid = fake.last_session()["id"].as_str().unwrap().to_string();
            let event = completed("evt_parallel", &sid, "pi_par");
            let app = Arc::new(app);
            let mut tasks = vec![];
            for _ in 0..20 {
                let (app, event) = (app.clone(), event.clone());
                tasks.push(tokio::spawn(async move {
                    post_event(&app, &event, WHSEC, now()).await
                }));
            }
            let mut outcomes = vec![];
            for t in tasks {
                outcomes.push(t.await.unwrap());
            }
            assert!(
                outcomes.iter().all(|(s, _)| *s == 200),
                "[{}] {outcomes:?}",
                app.engine
            );
            assert_eq!(
                outcomes.iter().filter(|(_, o)| o == "paid").count(),
                1,
                "[{}] {outcomes:?}",
                app.engine
            );
            assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 3);
            assert_eq!(
                app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'TICKET_SENT'")
                    .await,
                1
            );
            assert_eq!(seats(&app, day2).await, (150, 0, 3));
        }
    })
    .await;
}

#[tokio::test]
async fn expired_reservations_give_seats_back_and_late_payments_never_oversell() {
    let fake = FakeStripe::start().await;
    let env = stripe_env(&fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| {
        let fake = fake.clone();
        async move {
            app.seed_demo().await;
            let day1 = pass(&app, "Pass Jour 1").await;
            tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET capacity = 2 WHERE id = $1").bind(day1).execute(pool).await.map(|_| ())).unwrap();
            app.user("late@example.org", PW, Role::User).await;
            app.user("quick@example.org", PW, Role::User).await;
            let late = app.logged_in("late@example.org", PW).await;
            let quick = app.logged_in("quick@example.org", PW).await;

            checkout(&app, &late, &[(day1, "2")]).await;
            let late_session = fake.last_session()["id"].as_str().unwrap().to_string();
            let (_, body, _) = checkout(&app, &quick, &[(day1, "1")]).await;
            assert_eq!(body["Invalid"]["key"], "shop.error.not_enough_left", "[{}] all seats held", app.engine);

            // The reservation runs out: seats back, Stripe's page closed.
            let past = tessera::server::now() - chrono::Duration::minutes(1);
            tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET reserved_until = $1").bind(past).execute(pool).await.map(|_| ())).unwrap();
            assert_eq!(tessera::ticketing::service::release_expired(&app.state).await.unwrap(), 1);
            assert_eq!(seats(&app, day1).await, (2, 0, 0), "[{}]", app.engine);
            assert!(fake.recorded.lock().unwrap().expired.contains(&late_session));

            // Someone else buys the seats meanwhile…
            let (status, _, _) = checkout(&app, &quick, &[(day1, "1")]).await;
            assert!(status < 400);
            let quick_session = fake.last_session()["id"].as_str().unwrap().to_string();
            assert_eq!(post_event(&app, &completed("evt_q", &quick_session, "pi_q"), WHSEC, now()).await.1, "paid");
            // …so the late payment for two seats is refunded, never issued beyond the quota.
            let (status, outcome) = post_event(&app, &completed("evt_late", &late_session, "pi_late"), WHSEC, now()).await;
            assert_eq!((status, outcome.as_str()), (200, "refund_late_payment"), "[{}]", app.engine);
            assert_eq!(seats(&app, day1).await, (2, 0, 1));
            assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 1);
            assert!(fake.recorded.lock().unwrap().refunds.contains(&"pi_late".to_string()));
            assert_eq!(app.count("SELECT COUNT(*) FROM payments WHERE status = 'REFUNDED' AND note IS NOT NULL").await, 1);

            // A late payment whose seats are still free is honoured.
            let (_, _, _) = checkout(&app, &late, &[(day1, "1")]).await;
            let again = fake.last_session()["id"].as_str().unwrap().to_string();
            tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET reserved_until = $1 WHERE status = 'PENDING_PAYMENT'").bind(past).execute(pool).await.map(|_| ())).unwrap();
            tessera::ticketing::service::release_expired(&app.state).await.unwrap();
            assert_eq!(post_event(&app, &completed("evt_again", &again, "pi_again"), WHSEC, now()).await.1, "paid");
            assert_eq!(seats(&app, day1).await, (2, 0, 2));

            // The buyer back before the webhook: the success page asks Stripe.
            tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET capacity = 10 WHERE id = $1").bind(day1).execute(pool).await.map(|_| ())).unwrap();
            checkout(&app, &quick, &[(day1, "1")]).await;
            let s = fake.last_session();
            fake.mark_paid(s["id"].as_str().unwrap(), "pi_back");
            let order = s["client_reference_id"].as_str().unwrap().to_string();
            let (status, view) = app.call_as(&quick, "my_order", &[("order_id", &order)]).await;
            assert_eq!((status, view["status"].as_str()), (200, Some("Paid")), "[{}] {view}", app.engine);
        }
    })
    .await;
}

#[tokio::test]
async fn bad_orders_are_refused_with_a_clear_message_and_change_nothing() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        let day2 = pass(&app, "Pass Jour 2").await;
        let (_, body, _) = checkout(&app, &app.new_client(), &[(day1, "1")]).await;
        assert_eq!(body, json!("Unauthorized"), "[{}] anonymous buyers must log in", app.engine);
        app.user("picky@example.org", PW, Role::User).await;
        let c = app.logged_in("picky@example.org", PW).await;
        for (q, key) in [("0", "shop.error.empty"), ("-1", "shop.error.quantity_invalid"), ("deux", "shop.error.quantity_invalid"), ("11", "shop.error.too_many")] {
            let (status, body, _) = checkout(&app, &c, &[(day1, q)]).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some(key)), "[{}] quantity {q}", app.engine);
        }
        let (_, body, _) = checkout(&app, &c, &[(Uuid::new_v4(), "1")]).await;
        assert_eq!(body["Invalid"]["key"], "shop.error.unknown_pass");
        let later = tessera::server::now() + chrono::Duration::days(3);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET sales_start_at = $1 WHERE id = $2").bind(later).bind(day2).execute(pool).await.map(|_| ())).unwrap();
        let (_, body, _) = checkout(&app, &c, &[(day2, "1")]).await;
        assert_eq!(body["Invalid"]["key"], "shop.error.not_on_sale", "out of its sale window");
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET is_active = $1 WHERE id = $2").bind(false).bind(day1).execute(pool).await.map(|_| ())).unwrap();
        let (_, body, _) = checkout(&app, &c, &[(day1, "1")]).await;
        assert_eq!(body["Invalid"]["key"], "shop.error.not_on_sale", "inactive");
        assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);
        assert_eq!(app.count("SELECT CAST(COALESCE(SUM(reserved_count + sold_count), 0) AS BIGINT) FROM ticket_types").await, 0);
        let webhook = app.client.post(app.url("/stripe/webhook")).body("{}").send().await.unwrap();
        assert_eq!(webhook.status().as_u16(), 400, "no secret configured: every webhook is refused");
    })
    .await;
}

#[tokio::test]
async fn test_mode_pays_fails_and_abandons_through_the_same_event_handling() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let two_days = pass(&app, "Pass 2 jours").await;
        app.user("tester@example.org", PW, Role::User).await;
        let c = app.logged_in("tester@example.org", PW).await;
        for (outcome, status, sold, reserved) in [("fail", "CANCELED", 0, 0), ("abandon", "CANCELED", 0, 0), ("pay", "PAID", 2, 0)] {
            let (_, _, location) = checkout(&app, &c, &[(two_days, "2")]).await;
            let location = location.unwrap();
            assert!(location.starts_with(&format!("{}/checkout/test/cs_test_tessera_", app.state.config.base_url)), "{location}");
            let session = location.rsplit('/').next().unwrap();
            let (s, info) = app.call_as(&c, "test_checkout", &[("session_id", session)]).await;
            assert_eq!((s, info["order"]["total_cents"].as_i64()), (200, Some(24_000)));
            let stranger = app.new_client();
            assert_eq!(app.call_as(&stranger, "test_checkout_act", &[("session_id", session), ("outcome", "pay")]).await.0, 401);
            let (s, _) = app.call_as(&c, "test_checkout_act", &[("session_id", session), ("outcome", outcome)]).await;
            assert_eq!(s, 200, "[{}] {outcome}", app.engine);
            let (st,): (String,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT status FROM orders ORDER BY created_at DESC LIMIT 1").fetch_one(pool).await).unwrap();
            assert_eq!(st, status, "[{}] {outcome}", app.engine);
            let (_, r, so) = seats(&app, two_days).await;
            assert_eq!((r, so), (reserved, sold), "[{}] {outcome}", app.engine);
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 2);
    })
    .await;
}
