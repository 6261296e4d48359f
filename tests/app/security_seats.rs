//! Issue 13, over real HTTP on SQLite and PostgreSQL: input that used to panic the server (a huge
//! quantity, a webhook timestamp at the edge of i64, a pass without a validity end) is answered;
//! seats cannot be hoarded (verified address, open orders per account, rate limits); a partial
//! Stripe refund cancels nothing.
use crate::common::{
    checkout,
    fake_stripe::{send_event, FakeStripe},
    on_each_engine, pass, TestApp,
};
use serde_json::{json, Value};
use tessera::{accounts::Role, payments::service::sign};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";
const WHSEC: &str = "whsec_current";

fn stripe_env(fake: &FakeStripe) -> Vec<(&'static str, String)> {
    fake.env(WHSEC)
}

async fn seats(app: &TestApp, id: Uuid) -> (i64, i64) {
    tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT reserved_count, sold_count FROM ticket_types WHERE id = $1").bind(id).fetch_one(pool).await).unwrap()
}

async fn post_event(app: &TestApp, event: &Value, at: i64) -> (u16, String) {
    send_event(&app.client, &app.url("/stripe/webhook"), event, WHSEC, at)
        .await
        .expect("webhook answered (not a dropped connection)")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn order_status(app: &TestApp, order: Uuid) -> String {
    let (s,): (String,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT status FROM orders WHERE id = $1")
        .bind(order).fetch_one(pool).await).unwrap();
    s
}

async fn still_answers(app: &TestApp) {
    let (status, body) = app.get_text("/healthz").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "ok"),
        "[{}] the server still answers",
        app.engine
    );
}

#[tokio::test]
async fn a_huge_quantity_is_a_422_on_its_field_not_a_dropped_connection() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        let day2 = pass(&app, "Pass Jour 2").await;
        app.user("big@example.org", PW, Role::User).await;
        let c = app.logged_in("big@example.org", PW).await;
        let max = i64::MAX.to_string();
        for (lines, field) in [
            (vec![(day1, "1"), (day2, max.as_str())], day2),
            (vec![(day1, max.as_str()), (day1, max.as_str())], day1),
            (vec![(day2, max.as_str())], day2),
            (vec![(day1, "9"), (day1, "9")], day1),
        ] {
            let (status, body, _) = checkout(&app, &c, &lines).await;
            assert_eq!(
                (
                    status,
                    body["Invalid"]["key"].as_str(),
                    body["Invalid"]["field"].as_str()
                ),
                (
                    422,
                    Some("shop.error.too_many"),
                    Some(field.to_string().as_str())
                ),
                "[{}] {lines:?}: {body}",
                app.engine
            );
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);
        assert_eq!(seats(&app, day1).await, (0, 0));
        still_answers(&app).await;
        let (status, body, _) = checkout(&app, &c, &[(day1, "1"), (day2, "1")]).await;
        assert!(
            status < 400,
            "[{}] an ordinary order still goes through: {status} {body}",
            app.engine
        );
    })
    .await;
}

#[tokio::test]
async fn a_webhook_timestamp_at_the_edge_of_i64_is_a_400() {
    on_each_engine(&[("STRIPE_WEBHOOK_SECRETS", WHSEC)], |app| async move {
        let event = json!({ "id": "evt_edge", "type": "ping", "data": { "object": {} } });
        let body = serde_json::to_vec(&event).unwrap();
        let headers = [
            "t=-9223372036854775808".to_string(),
            "t=-9223372036854775808,v1=00".to_string(),
            "t=9223372036854775807,v1=00".to_string(),
            sign(&body, WHSEC, i64::MIN),
            sign(&body, WHSEC, i64::MAX),
        ];
        for header in headers {
            let res = app
                .client
                .post(app.url("/stripe/webhook"))
                .header("stripe-signature", &header)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("webhook answered (not a dropped connection)");
            assert_eq!(res.status().as_u16(), 400, "[{}] {header}", app.engine);
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_events").await, 0);
        still_answers(&app).await;
        assert_eq!(
            post_event(&app, &event, now()).await,
            (200, "ignored".into()),
            "[{}] a fresh signature is still accepted",
            app.engine
        );
    })
    .await;
}

/// Saves one field of a pass in the back office; returns the saved row.
async fn save_pass(
    app: &TestApp,
    admin: &reqwest::Client,
    row: &Value,
    field: &str,
    value: &str,
) -> Value {
    let version = row["version"].as_i64().unwrap().to_string();
    let (status, saved) = app
        .call_as(
            admin,
            "admin_update_pass",
            &[
                ("id", row["id"].as_str().unwrap()),
                ("field", field),
                ("value", value),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(status, 200, "[{}] {field}={value}: {saved}", app.engine);
    saved
}

#[tokio::test]
async fn the_holder_of_a_pass_without_an_end_sees_the_programme() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let (status, row) = app.call_as(&admin, "admin_create_pass", &[]).await;
        assert_eq!(status, 200, "[{}] {row}", app.engine);
        let row = save_pass(&app, &admin, &row, "price", "10").await;
        let row = save_pass(&app, &admin, &row, "capacity", "5").await;
        let row = save_pass(&app, &admin, &row, "is_active", "true").await;
        let row = save_pass(&app, &admin, &row, "valid_from", "2027-06-10T00:00").await;
        assert_eq!(row["valid_until"], "", "no end of validity");
        let open_pass: Uuid = row["id"].as_str().unwrap().parse().unwrap();

        // Bought through the shop and the test checkout.
        app.user("holder@example.org", PW, Role::User).await;
        let holder = app.logged_in("holder@example.org", PW).await;
        let (status, body, location) = checkout(&app, &holder, &[(open_pass, "1")]).await;
        assert!(status < 400, "[{}] {status} {body}", app.engine);
        let location = location.expect("sent to the test checkout");
        let session = location.rsplit('/').next().unwrap();
        let (status, _) = app.call_as(&holder, "test_checkout_act", &[("session_id", session), ("outcome", "pay")]).await;
        assert_eq!(status, 200, "[{}]", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'VALID'").await, 1);

        // Their programme renders, their state answers with a window open at its end.
        let res = holder.get(app.url("/")).send().await.expect("GET / answered (not a dropped connection)");
        assert_eq!(res.status().as_u16(), 200, "[{}]", app.engine);
        let page = res.text().await.expect("GET / finished");
        assert!(page.contains("</html>"), "[{}] the whole page", app.engine);
        let (status, state) = app.call_as(&holder, "personal_state", &[]).await;
        assert_eq!(status, 200, "[{}] {state}", app.engine);
        assert_eq!(state["windows"], json!([["2027-06-10T00:00:00", null]]), "[{}]", app.engine);

        // The pass covers the talks: one can be saved, and the personal programme renders.
        let (talk,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM conferences ORDER BY start_at LIMIT 1").fetch_one(pool).await).unwrap();
        let (status, body) = app.call_as(&holder, "toggle_talk", &[("talk_id", &talk.to_string()), ("save", "true")]).await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        let res = holder.get(app.url("/me/programme")).send().await.expect("GET /me/programme answered");
        assert_eq!(res.status().as_u16(), 200, "[{}]", app.engine);
        still_answers(&app).await;
    })
    .await;
}

#[tokio::test]
async fn unverified_accounts_hold_no_seats_when_a_verified_address_is_required() {
    on_each_engine(
        &[("CHECKOUT_REQUIRES_VERIFIED_EMAIL", "true")],
        |app| async move {
            app.seed_demo().await;
            let day1 = pass(&app, "Pass Jour 1").await;
            tessera::accounts::service::create_user(
                app.db(),
                tessera::accounts::service::NewUser {
                    email: "fresh@example.org",
                    password: PW,
                    role: Role::User,
                    first_name: None,
                    last_name: None,
                    verified: false,
                },
            )
            .await
            .unwrap();
            let fresh = app.logged_in("fresh@example.org", PW).await;
            let (status, body, _) = checkout(&app, &fresh, &[(day1, "10")]).await;
            assert_eq!(
                (
                    status,
                    body["Invalid"]["key"].as_str(),
                    body["Invalid"]["field"].as_str()
                ),
                (422, Some("shop.error.email_unverified"), Some("cart")),
                "[{}] {body}",
                app.engine
            );
            assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);
            assert_eq!(
                seats(&app, day1).await,
                (0, 0),
                "[{}] no seat held",
                app.engine
            );

            app.user("known@example.org", PW, Role::User).await;
            let known = app.logged_in("known@example.org", PW).await;
            let (status, body, _) = checkout(&app, &known, &[(day1, "1")]).await;
            assert!(
                status < 400,
                "[{}] a verified buyer goes through: {status} {body}",
                app.engine
            );
        },
    )
    .await;
}

#[tokio::test]
async fn a_third_pending_order_is_refused() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        let day2 = pass(&app, "Pass Jour 2").await;
        let buyer = app.user("hoarder@example.org", PW, Role::User).await;
        let c = app.logged_in("hoarder@example.org", PW).await;
        for id in [day1, day2] {
            let (status, body, _) = checkout(&app, &c, &[(id, "10")]).await;
            assert!(status < 400, "[{}] {status} {body}", app.engine);
        }
        let (status, body, _) = checkout(&app, &c, &[(day1, "10")]).await;
        assert_eq!(
            (status, body["Invalid"]["key"].as_str(), body["Invalid"]["field"].as_str()),
            (422, Some("shop.error.too_many_open_orders"), Some("cart")),
            "[{}] {body}",
            app.engine
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM orders WHERE status = 'PENDING_PAYMENT'").await, 2);
        assert_eq!(seats(&app, day1).await, (10, 0), "[{}] the refused order held nothing", app.engine);

        // Another account is not concerned.
        app.user("other@example.org", PW, Role::User).await;
        let other = app.logged_in("other@example.org", PW).await;
        let (status, body, _) = checkout(&app, &other, &[(day1, "1")]).await;
        assert!(status < 400, "[{}] {status} {body}", app.engine);

        // A canceled order, or one whose reservation ran out, no longer counts.
        let (first,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at LIMIT 1").bind(buyer).fetch_one(pool).await).unwrap();
        let (status, body) = app.call_as(&c, "cancel_order", &[("order_id", &first.to_string())]).await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        let (status, body, _) = checkout(&app, &c, &[(day1, "1")]).await;
        assert!(status < 400, "[{}] {status} {body}", app.engine);
        let past = tessera::server::now() - chrono::Duration::minutes(1);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET reserved_until = $1 WHERE user_id = $2").bind(past).bind(buyer).execute(pool).await.map(|_| ())).unwrap();
        let (status, body, _) = checkout(&app, &c, &[(day2, "1")]).await;
        assert!(status < 400, "[{}] expired reservations do not count: {status} {body}", app.engine);
        assert_eq!(order_status(&app, first).await, "CANCELED");
    })
    .await;
}

#[tokio::test]
async fn checkouts_are_rate_limited_per_account_and_per_ip() {
    // The documented budgets (README, Payments): black-box, so the test also runs on old code.
    const CHECKOUT_PER_ACCOUNT: usize = 10;
    const CHECKOUT_PER_IP: usize = 30;
    on_each_engine(&[], |app| async move {
        // An empty cart: refused at once, but every attempt counts.
        let nothing = Uuid::new_v4();
        let mut clients = vec![];
        for i in 0..CHECKOUT_PER_IP.div_ceil(CHECKOUT_PER_ACCOUNT) + 1 {
            let email = format!("rush{i}@example.org");
            app.user(&email, PW, Role::User).await;
            clients.push(app.logged_in(&email, PW).await);
        }
        for _ in 0..CHECKOUT_PER_ACCOUNT {
            let (status, body, _) = checkout(&app, &clients[0], &[(nothing, "0")]).await;
            assert_eq!(
                (status, body["Invalid"]["key"].as_str()),
                (422, Some("shop.error.empty")),
                "[{}] {body}",
                app.engine
            );
        }
        let (status, body, _) = checkout(&app, &clients[0], &[(nothing, "0")]).await;
        assert_eq!(status, 429, "[{}] one account's budget: {body}", app.engine);
        assert!(
            body["RateLimited"]["minutes"]
                .as_u64()
                .is_some_and(|m| m >= 1),
            "[{}] {body}",
            app.engine
        );

        // The same IP, other accounts: the IP's budget runs out in turn.
        let mut used = CHECKOUT_PER_ACCOUNT;
        let mut refused = None;
        'accounts: for c in &clients[1..] {
            for _ in 0..CHECKOUT_PER_ACCOUNT {
                let (status, body, _) = checkout(&app, c, &[(nothing, "0")]).await;
                if used < CHECKOUT_PER_IP {
                    assert_eq!(
                        status,
                        422,
                        "[{}] attempt {} from this IP: {body}",
                        app.engine,
                        used + 1
                    );
                    used += 1;
                } else {
                    refused = Some((status, body));
                    break 'accounts;
                }
            }
        }
        let (status, body) = refused.expect("the IP's budget ran out");
        assert_eq!(status, 429, "[{}] the IP's budget: {body}", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);
        still_answers(&app).await;
    })
    .await;
}

fn refunded_event(id: &str, pi: &str, amount: i64, refunded: i64) -> Value {
    json!({ "id": id, "type": "charge.refunded", "data": { "object": {
        "id": "ch_partial", "object": "charge", "payment_intent": pi,
        "amount": amount, "amount_refunded": refunded, "refunded": refunded >= amount } } })
}

#[tokio::test]
async fn a_partial_refund_cancels_nothing_and_a_full_one_refunds_the_order() {
    let fake = FakeStripe::start().await;
    let env = stripe_env(&fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| {
        let fake = fake.clone();
        async move {
            app.seed_demo().await;
            let day2 = pass(&app, "Pass Jour 2").await;
            app.user("refund@example.org", PW, Role::User).await;
            let buyer = app.logged_in("refund@example.org", PW).await;
            let (status, body, _) = checkout(&app, &buyer, &[(day2, "2")]).await;
            assert!(status < 400, "[{}] {status} {body}", app.engine);
            let session = fake.last_session();
            let order: Uuid = session["client_reference_id"].as_str().unwrap().parse().unwrap();
            let paid = json!({ "id": "evt_paid", "type": "checkout.session.completed", "data": { "object": {
                "id": session["id"], "object": "checkout.session", "payment_status": "paid", "payment_intent": "pi_part" } } });
            assert_eq!(post_event(&app, &paid, now()).await, (200, "paid".into()), "[{}]", app.engine);
            let (total,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT total_cents FROM orders WHERE id = $1").bind(order).fetch_one(pool).await).unwrap();
            assert!(total > 1000);
            let refunded_cents = || app.count("SELECT CAST(COALESCE(SUM(refunded_cents), 0) AS BIGINT) FROM payments");

            // A partial refund: recorded and audited; the order, its tickets and seats stay.
            let partial = refunded_event("evt_refund_1", "pi_part", total, 1000);
            assert_eq!(post_event(&app, &partial, now()).await, (200, "partially_refunded".into()), "[{}]", app.engine);
            assert_eq!(order_status(&app, order).await, "PAID", "[{}]", app.engine);
            assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'VALID'").await, 2);
            assert_eq!(seats(&app, day2).await, (0, 2));
            assert_eq!(refunded_cents().await, 1000, "[{}]", app.engine);
            assert_eq!(app.count("SELECT COUNT(*) FROM payments WHERE status = 'SUCCEEDED'").await, 1);
            assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'REFUND_RECEIVED'").await, 1);
            assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ORDER_REFUNDED'").await, 0);

            // The same event again changes nothing.
            assert_eq!(post_event(&app, &partial, now()).await, (200, "duplicate".into()));
            assert_eq!(order_status(&app, order).await, "PAID");
            assert_eq!(refunded_cents().await, 1000);
            assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'REFUND_RECEIVED'").await, 1);

            // The rest refunded: now the order is refunded, its tickets canceled, its seats freed.
            let full = refunded_event("evt_refund_2", "pi_part", total, total);
            assert_eq!(post_event(&app, &full, now()).await, (200, "refunded".into()), "[{}]", app.engine);
            assert_eq!(order_status(&app, order).await, "REFUNDED");
            assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'CANCELED'").await, 2);
            assert_eq!(seats(&app, day2).await, (0, 0));
            assert_eq!(refunded_cents().await, total);
            assert_eq!(app.count("SELECT COUNT(*) FROM payments WHERE status = 'REFUNDED'").await, 1);
            assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'REFUND_RECEIVED'").await, 2);
            assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ORDER_REFUNDED'").await, 1);

            // Replayed, or a later event for it: nothing more.
            assert_eq!(post_event(&app, &full, now()).await, (200, "duplicate".into()));
            let again = refunded_event("evt_refund_3", "pi_part", total, total);
            assert_eq!(post_event(&app, &again, now()).await, (200, "not_paid".into()));
            assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ORDER_REFUNDED'").await, 1);
            assert_eq!(refunded_cents().await, total);
        }
    })
    .await;
}
