//! Webhooks out, on SQLite and PostgreSQL, with a receiver written here: deliveries signed as the
//! docs say (checked with our own HMAC), retried after the receiver was down and replayed from the
//! back office, every attempt listed; addresses refused in production when they lead to this
//! machine or a private network; and one delivery per event with three instances sharing a
//! database.
use crate::common::{on_a_fleet, on_each_engine, paid_ticket, pass_valid, TestApp};
use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";
const FAST: [(&str, &str); 2] = [("WEBHOOK_POLL_MS", "100"), ("WEBHOOK_RETRY_BASE_MS", "400")];

/// What the receiver got: each request's signature header, event id and body.
type Got = Arc<Mutex<Vec<(String, String, String)>>>;

/// A receiver on `listener`, answering 200 to every POST and keeping what it got.
fn receive(listener: tokio::net::TcpListener) -> Got {
    let got: Got = Default::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(got): State<Got>, headers: HeaderMap, body: Bytes| async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    let text = String::from_utf8_lossy(&body).into_owned();
                    got.lock()
                        .unwrap()
                        .push((h("tessera-signature"), h("tessera-event-id"), text));
                    StatusCode::OK
                },
            ),
        )
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    got
}

/// Checks a `Tessera-Signature` header as a receiver following docs/api.md would.
fn verified(secret: &str, header: &str, body: &str) -> bool {
    let parts: std::collections::HashMap<&str, &str> = header
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let (Some(t), Some(v1)) = (parts.get("t"), parts.get("v1")) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let fresh = t
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    fresh && hex::decode(v1).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
}

/// Whether `done` came true within 15 s.
async fn wait_until(mut done: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..150 {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn wait_for(what: &str, done: impl AsyncFnMut() -> bool) {
    assert!(wait_until(done).await, "waited 15 s for {what}");
}

/// Registers `url` for `events` as `admin`: the webhook as the back office shows it.
async fn register(app: &TestApp, admin: &reqwest::Client, url: &str, events: &str) -> (u16, Value) {
    app.call_as(
        admin,
        "admin_webhook_create",
        &[("url", url), ("events", events)],
    )
    .await
}

#[tokio::test]
async fn deliveries_are_signed_retried_after_the_receiver_was_down_and_replayable() {
    on_each_engine(&FAST, |app| async move {
        app.user("boss@example.org", PW, Role::Admin).await;
        app.user("ada@example.org", PW, Role::User).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let attendee = app.logged_in("ada@example.org", PW).await;
        // The receiver's address, with nobody listening yet.
        let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/hook");

        // Bad input: refused on its field, nothing written; only admins register.
        for (u, events, field) in [("ftp://example.org/x", "order.paid", "url"), (url.as_str(), "order.lost", "events"), (url.as_str(), "", "events"), ("", "order.paid", "url")] {
            let (status, body) = register(&app, &admin, u, events).await;
            assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some(field)), "[{}] {u} {events}: {body}", app.engine);
        }
        assert_eq!(register(&app, &attendee, &url, "order.paid").await.0, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM webhooks").await, 0);
        let (status, hook) = register(&app, &admin, &url, "order.paid,ticket.checked_in,ticket.checkin_undone").await;
        assert_eq!(status, 200, "{hook}");
        let secret = hook["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"));

        // An order is paid while the receiver is down: tried, failed, kept.
        let now = tessera::server::now();
        let pass = pass_valid(&app, "Pass 2 jours", now - chrono::Duration::hours(1), now + chrono::Duration::days(1)).await;
        let buyer = app.user("grace@example.org", PW, Role::User).await;
        let ticket = paid_ticket(&app, buyer, pass).await;
        wait_for("a failed attempt", async || app.count("SELECT COUNT(*) FROM webhook_attempts WHERE status_code IS NULL").await >= 1).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'PENDING'").await, 1);

        // The receiver comes up: the retry delivers it, signed.
        let got = receive(tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap());
        wait_for("the delivery", async || got.lock().unwrap().len() == 1).await;
        let (signature, event_id, body) = got.lock().unwrap()[0].clone();
        assert!(verified(&secret, &signature, &body), "[{}] signature {signature} over {body}", app.engine);
        assert!(!verified("whsec_other", &signature, &body), "another secret does not verify");
        let event: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((event["type"].as_str(), event["id"].as_str()), (Some("order.paid"), Some(event_id.as_str())));
        assert_eq!((event["data"]["status"].as_str(), event["data"]["tickets"].as_i64()), (Some("PAID"), Some(1)), "{event}");
        assert!(event["data"].get("email").is_none() && !body.contains("grace@"), "no personal data in the event");

        // The back office lists it delivered, with both attempts; replayed, it comes again, same id.
        wait_for("delivered", async || app.count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'DELIVERED'").await == 1).await;
        let (_, view) = app.call_as(&admin, "admin_webhooks", &[]).await;
        let delivery = view["deliveries"][0].clone();
        assert_eq!(delivery["status"], "DELIVERED", "{view}");
        let attempts = delivery["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2, "[{}] {delivery}", app.engine);
        assert!(attempts[0]["error"].is_string() && attempts[1]["status_code"] == 200);
        let (status, _) = app.call_as(&attendee, "admin_webhook_replay", &[("delivery_id", delivery["id"].as_str().unwrap())]).await;
        assert_eq!(status, 403);
        let (status, _) = app.call_as(&admin, "admin_webhook_replay", &[("delivery_id", delivery["id"].as_str().unwrap())]).await;
        assert_eq!(status, 200);
        wait_for("the replay", async || got.lock().unwrap().len() == 2).await;
        assert_eq!(got.lock().unwrap()[1].1, event_id, "a replay is the same event");

        // A check-in is told too; a talk's change is not (not asked for).
        let door = crate::api::token(&app, &admin, "checkins:write").await;
        let res = reqwest::Client::new().post(app.url("/api/v1/checkins")).bearer_auth(&door)
            .json(&serde_json::json!({ "ticket_id": ticket })).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 201);
        let scan_id = res.json::<Value>().await.unwrap()["scan_id"].as_str().unwrap().to_string();
        wait_for("the check-in", async || got.lock().unwrap().len() == 3).await;
        let checked: Value = serde_json::from_str(&got.lock().unwrap()[2].2).unwrap();
        assert_eq!((checked["type"].as_str(), checked["data"]["ticket_id"].as_str()), (Some("ticket.checked_in"), Some(ticket.to_string().as_str())));
        // The entry undone at the door: told too, naming the entry told before; the API's list of
        // check-ins no longer has it.
        let (status, _) = app.call_as(&admin, "scan_undo", &[("ticket_id", &ticket.to_string())]).await;
        assert_eq!(status, 200);
        wait_for("the undo", async || got.lock().unwrap().len() == 4).await;
        let undone: Value = serde_json::from_str(&got.lock().unwrap()[3].2).unwrap();
        assert_eq!(undone["type"].as_str(), Some("ticket.checkin_undone"), "{undone}");
        assert_eq!((undone["data"]["checkin_id"].clone(), undone["data"]["ticket_id"].as_str()), (checked["data"]["checkin_id"].clone(), Some(ticket.to_string().as_str())), "{undone}");
        let reader = crate::api::token(&app, &admin, "checkins:read").await;
        let list: Value = reqwest::Client::new().get(app.url("/api/v1/checkins")).bearer_auth(&reader).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["data"].as_array().map(Vec::len), Some(0), "{list}");
        // The same scan sent again lets the ticket in again: a new event, not taken for the first.
        let res = reqwest::Client::new().post(app.url("/api/v1/checkins")).bearer_auth(&door)
            .json(&serde_json::json!({ "ticket_id": ticket, "scan_id": scan_id })).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 201);
        wait_for("the second check-in", async || got.lock().unwrap().len() == 5).await;
        let again: Value = serde_json::from_str(&got.lock().unwrap()[4].2).unwrap();
        assert_eq!(again["type"].as_str(), Some("ticket.checked_in"), "{again}");
        assert_ne!(again["id"], checked["id"], "[{}] its own event id", app.engine);
        // Disabled: nothing more is sent.
        let (status, _) = app.call_as(&admin, "admin_webhook_disable", &[("id", hook["id"].as_str().unwrap())]).await;
        assert_eq!(status, 200);
        paid_ticket(&app, buyer, pass).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(got.lock().unwrap().len(), 5, "[{}] a disabled webhook hears nothing", app.engine);
        let audited = app.count("SELECT COUNT(*) FROM audit_logs WHERE action IN ('CREATE_WEBHOOK', 'DISABLE_WEBHOOK', 'REPLAY_WEBHOOK_DELIVERY')").await;
        assert_eq!(audited, 3);
    })
    .await;
}

#[tokio::test]
async fn in_production_a_webhook_may_not_reach_this_machine_or_a_private_network() {
    on_each_engine(&crate::common::PRODUCTION, |app| async move {
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        for url in std::iter::once("http://127.0.0.1:9/hook").chain(crate::common::NOT_PUBLIC) {
            let (status, body) = register(&app, &admin, url, "order.paid").await;
            assert_eq!(
                (status, body["Invalid"]["key"].as_str()),
                (422, Some("outbound.error.private_address")),
                "[{}] {url}: {body}",
                app.engine
            );
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM webhooks").await,
            0,
            "nothing half-written"
        );
    })
    .await;
}

/// Queues a `talk.changed` in `tx`, as a change does (someone listens).
async fn emit(tx: &mut tessera::server::db::Tx, once: Option<String>, data: Value) {
    let to = tessera::webhooks::service::listeners(tx, "talk.changed")
        .await
        .unwrap();
    to.expect("a webhook listens")
        .emit(tx, once, data)
        .await
        .unwrap();
}

#[tokio::test]
async fn three_instances_deliver_each_event_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = receive(listener);
    on_a_fleet(3, &[("WEBHOOK_POLL_MS", "20"), ("WEBHOOK_RETRY_BASE_MS", "400")], |app, fleet| async move {
        let admin = app.user("boss@example.org", PW, Role::Admin).await;
        tessera::webhooks::service::create(app.db(), &app.state.config, admin, &url, "talk.changed").await.unwrap();
        // A fact told twice (a refund reported by the back office and by the provider) is one event.
        for _ in 0..2 {
            let mut tx = app.db().begin().await.unwrap();
            let once = Some("refund-of-order-1:2000".to_string());
            emit(&mut tx, once, serde_json::json!({})).await;
            tx.commit().await.unwrap();
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_deliveries").await, 1);
        // Forty more events, written as the changes write them (in their transaction), in bursts.
        for burst in 0..8 {
            let mut tx = app.db().begin().await.unwrap();
            for i in 0..5 {
                let data = serde_json::json!({ "talk_id": uuid::Uuid::new_v4(), "n": burst * 5 + i });
                emit(&mut tx, None, data).await;
            }
            tx.commit().await.unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        if !wait_until(async || app.count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'DELIVERED'").await == 41).await {
            let rows: Vec<(String, i64)> = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT status, attempts FROM webhook_deliveries").fetch_all(pool).await).unwrap();
            panic!("41 deliveries expected: {rows:?}\n{}", fleet.logs());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let got = got.lock().unwrap().clone();
        let ids: std::collections::HashSet<&String> = got.iter().map(|g| &g.1).collect();
        assert_eq!((got.len(), ids.len()), (41, 41), "each event once, not once per instance");
        assert_eq!(app.count("SELECT COUNT(*) FROM webhook_attempts").await, 41);
    })
    .await;
}
