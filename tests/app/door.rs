//! The offline door on SQLite and PostgreSQL: tickets' signed codes at the door (online), a
//! reissued code refused, a device's outbox sent three times counted once, a ticket let in by two
//! devices offline reported as one conflict to both devices and the back office, and codes of
//! both keys after a rotation (and refused after a revocation).
use crate::common::{on_each_engine, TestApp};
use chrono::Duration;
use serde_json::{json, Value};
use tessera::{accounts::Role, scanning::signed};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// A pass valid around now, with a door number; returns its id.
async fn door_pass(app: &TestApp) -> Uuid {
    let now = tessera::server::now();
    pass_between(app, now - Duration::hours(2), now + Duration::hours(20)).await
}

async fn pass_between(
    app: &TestApp,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Uuid {
    crate::common::pass_valid(app, "Pass porte", from, until).await
}

/// A buyer with one paid ticket of `pass`, logged in; returns (client, ticket id).
async fn buyer(app: &TestApp, email: &str, pass: Uuid) -> (reqwest::Client, Uuid) {
    let user = app.user(email, PW, Role::User).await;
    let id = crate::common::paid_ticket(app, user, pass).await;
    (app.logged_in(email, PW).await, id)
}

/// The buyer's ticket as the site shows it: (QR code text, typed token).
async fn codes(app: &TestApp, c: &reqwest::Client) -> (String, String) {
    let (status, body) = app.call_as(c, "my_tickets", &[]).await;
    assert_eq!(status, 200, "{body}");
    (
        body[0]["code"].as_str().unwrap().to_string(),
        body[0]["token"].as_str().unwrap().to_string(),
    )
}

async fn scan(app: &TestApp, c: &reqwest::Client, code: &str) -> String {
    let (status, body) = app
        .call_as(
            c,
            "scan_redeem",
            &[("token", code), ("scan_id", &Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["outcome"].as_str().unwrap().to_string()
}

async fn sync(
    app: &TestApp,
    c: &reqwest::Client,
    device: Uuid,
    cursor: i64,
    entries: Value,
) -> (u16, Value) {
    let res = c
        .post(app.url("/api/door_sync"))
        .json(&json!({ "device_id": device, "label": "Porte A", "cursor": cursor, "entries": entries }))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn entry(nonce: Uuid, code: &str, answer: &str) -> Value {
    json!({ "nonce": nonce, "code": code, "ticket_id": null,
            "at_ms": tessera::server::now().timestamp_millis(), "answer": answer })
}

#[tokio::test]
async fn a_tickets_signed_code_lets_in_once_and_a_reissued_code_is_refused() {
    on_each_engine(&[], |app| async move {
        let pass = door_pass(&app).await;
        let (c, ticket) = buyer(&app, "signed@example.org", pass).await;
        let (code, token) = codes(&app, &c).await;
        assert!(
            signed::is_signed(&code),
            "the QR code carries a signed code: {code}"
        );
        assert_ne!(code, token, "the short token stays for typing by hand");
        let claims = signed::parse(&code).unwrap().0;
        assert_eq!((claims.ticket_id, claims.issue), (ticket, 1));
        app.user("door@example.org", PW, Role::StaffScan).await;
        let door = app.logged_in("door@example.org", PW).await;
        let admin_id = app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        let _ = admin_id;

        // A forged code (one character changed) is unknown; the real one lets in once.
        let mut forged = code.clone().into_bytes();
        forged[100] = if forged[100] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            scan(&app, &door, &String::from_utf8(forged).unwrap()).await,
            "Unknown"
        );
        assert_eq!(scan(&app, &door, &code).await, "Ok");
        assert_eq!(scan(&app, &door, &code).await, "AlreadyUsed");
        assert_eq!(
            scan(&app, &door, &token).await,
            "AlreadyUsed",
            "the typed token names the same ticket"
        );

        // Reissued: the old code is refused as canceled, the new one is the ticket.
        let (status, body) = app
            .call_as(&admin, "scan_undo", &[("ticket_id", &ticket.to_string())])
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = app
            .call_as(
                &admin,
                "admin_reissue_ticket",
                &[("ticket_id", &ticket.to_string())],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (new_code, _) = codes(&app, &c).await;
        assert_ne!(new_code, code);
        assert_eq!(signed::parse(&new_code).unwrap().0.issue, 2);
        assert_eq!(
            scan(&app, &door, &code).await,
            "Canceled",
            "[{}] the old code is revoked",
            app.engine
        );
        assert_eq!(scan(&app, &door, &new_code).await, "Ok");
    })
    .await;
}

#[tokio::test]
async fn an_outbox_sent_three_times_counts_once_and_a_double_entry_is_one_conflict() {
    on_each_engine(&[], |app| async move {
        let pass = door_pass(&app).await;
        let (c, ticket) = buyer(&app, "twice@example.org", pass).await;
        let (code, token) = codes(&app, &c).await;
        app.user("door-a@example.org", PW, Role::StaffScan).await;
        app.user("door-b@example.org", PW, Role::StaffScan).await;
        let (a, b) = (
            app.logged_in("door-a@example.org", PW).await,
            app.logged_in("door-b@example.org", PW).await,
        );
        let (dev_a, dev_b) = (Uuid::new_v4(), Uuid::new_v4());

        // A first sync gets everything: keys, passes, the ticket with its legacy token's hash.
        let (status, full) = sync(&app, &a, dev_a, 0, json!([])).await;
        assert_eq!(status, 200, "{full}");
        assert_eq!(full["full"], true);
        assert!(!full["keys"].as_array().unwrap().is_empty());
        let t = full["tickets"].as_array().unwrap().iter().find(|t| t["id"] == ticket.to_string()).unwrap().clone();
        assert_eq!(t["status"], "Valid");
        assert_eq!(t["legacy_hash"], signed::legacy_hash(&token));
        assert_eq!(t["holder"], Value::Null, "no names on devices unless the organiser enables them");
        let cursor_a = full["cursor"].as_i64().unwrap();
        let (_, full_b) = sync(&app, &b, dev_b, 0, json!([])).await;
        let cursor_b = full_b["cursor"].as_i64().unwrap();

        // Device A lets the ticket in offline; its outbox goes three times (lost answers).
        let n1 = Uuid::new_v4();
        let mut last = Value::Null;
        for _ in 0..3 {
            let (status, body) = sync(&app, &a, dev_a, cursor_a, json!([entry(n1, &code, "Ok")])).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["received"], json!([n1]));
            last = body;
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM door_entries").await, 1, "[{}] once per nonce", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'USED'").await, 1);
        let metas: Vec<(String,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT CAST(meta AS TEXT) FROM audit_logs WHERE action = 'SCAN_TICKET'").fetch_all(pool).await).unwrap();
        assert_eq!(metas.len(), 1, "one audit line for the entry");
        let meta: Value = serde_json::from_str(&metas[0].0).unwrap();
        assert_eq!((meta["offline"].clone(), meta["outcome"].clone()), (json!(true), json!("OK")));
        // The delta since A's cursor carries the ticket, now used.
        let t = last["tickets"].as_array().unwrap().iter().find(|t| t["id"] == ticket.to_string()).unwrap().clone();
        assert_eq!(last["full"], false);
        assert_eq!(t["status"], "Used");

        // Device B, offline too, let the same ticket in (by its legacy token): one conflict.
        let n2 = Uuid::new_v4();
        let (status, body) = sync(&app, &b, dev_b, cursor_b, json!([entry(n2, &token, "Ok")])).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["conflicts"].as_array().unwrap().len(), 1, "[{}] {body}", app.engine);
        let (_, again) = sync(&app, &b, dev_b, cursor_b, json!([entry(n2, &token, "Ok")])).await;
        assert_eq!(again["conflicts"].as_array().unwrap().len(), 1, "a replay adds no conflict");
        assert_eq!(app.count("SELECT COUNT(*) FROM door_conflicts").await, 1);
        let (_, seen_by_a) = sync(&app, &a, dev_a, last["cursor"].as_i64().unwrap(), json!([])).await;
        let conflict = &seen_by_a["conflicts"][0];
        assert_eq!(conflict["ticket_id"], ticket.to_string(), "A sees it at its next sync");
        assert!(conflict["first_by"].as_str().unwrap().contains("Porte A"));

        // A refused entry changes nothing; a garbage code is recorded as unknown.
        let (status, _) = sync(&app, &a, dev_a, 0, json!([entry(Uuid::new_v4(), &code, "AlreadyUsed"), entry(Uuid::new_v4(), "garbage", "Unknown")])).await;
        assert_eq!(status, 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM door_entries WHERE outcome = 'UNKNOWN'").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM door_entries WHERE outcome = 'REFUSED'").await, 1);

        // The back office lists it; a buyer and anonymous visitors cannot sync.
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let (status, overview) = app.call_as(&admin, "admin_door", &[]).await;
        assert_eq!(status, 200, "{overview}");
        assert_eq!(overview["conflicts"].as_array().unwrap().len(), 1);
        assert_eq!(overview["devices"].as_array().unwrap().len(), 2);
        let (status, _) = app.call_as(&a, "admin_door", &[]).await;
        assert_eq!(status, 403, "staff do not read the back office");
        let (status, _) = sync(&app, &c, Uuid::new_v4(), 0, json!([])).await;
        assert_eq!(status, 403, "a buyer is not door staff");
        let (status, _) = sync(&app, &app.new_client(), Uuid::new_v4(), 0, json!([])).await;
        assert_eq!(status, 401);
        // Too many entries at once: refused whole, nothing taken.
        let many: Vec<Value> = (0..201).map(|_| entry(Uuid::new_v4(), &code, "Ok")).collect();
        let (status, _) = sync(&app, &a, dev_a, 0, json!(many)).await;
        assert_eq!(status, 422);
        assert_eq!(app.count("SELECT COUNT(*) FROM door_entries").await, 4);
    })
    .await;
}

#[tokio::test]
async fn codes_of_both_keys_work_after_a_rotation_and_a_revoked_keys_do_not() {
    on_each_engine(&[], |app| async move {
        let pass = door_pass(&app).await;
        let (c1, _) = buyer(&app, "old@example.org", pass).await;
        let (c2, t2) = buyer(&app, "new@example.org", pass).await;
        let (old_code, _) = codes(&app, &c1).await;
        app.user("root@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("root@example.org", PW).await;
        let (status, body) = app.call_as(&admin, "admin_door_rotate_key", &[]).await;
        assert_eq!(status, 200, "{body}");
        let (new_code, _) = codes(&app, &c2).await;
        let (k_old, k_new) = (signed::parse(&old_code).unwrap().0.key_id, signed::parse(&new_code).unwrap().0.key_id);
        assert!(k_new > k_old, "the newest key signs: {k_old} then {k_new}");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'ROTATE_DOOR_KEY'").await, 1);

        // Offline, an entry of each key is taken after the rotation.
        app.user("gate@example.org", PW, Role::StaffScan).await;
        let door = app.logged_in("gate@example.org", PW).await;
        let dev = Uuid::new_v4();
        let (status, body) = sync(&app, &door, dev, 0, json!([entry(Uuid::new_v4(), &new_code, "Ok")])).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["keys"].as_array().unwrap().len(), 2, "devices get both keys");
        assert_eq!(app.count("SELECT COUNT(*) FROM door_entries WHERE outcome = 'LET_IN'").await, 1);
        let used: (String,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT status FROM tickets WHERE id = $1").bind(t2).fetch_one(pool).await).unwrap();
        assert_eq!(used.0, "USED");

        // The old key revoked: its codes are unknown; the ticket page shows a code of the new key.
        let (status, body) = app.call_as(&admin, "admin_door_revoke_key", &[("key_id", &k_old.to_string())]).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(scan(&app, &door, &old_code).await, "Unknown", "[{}]", app.engine);
        let (fresh, _) = codes(&app, &c1).await;
        assert_eq!(signed::parse(&fresh).unwrap().0.key_id, k_new);
        assert_eq!(scan(&app, &door, &fresh).await, "Ok");
        let (_, body) = sync(&app, &door, dev, 0, json!([])).await;
        let revoked: Vec<bool> = body["keys"].as_array().unwrap().iter().map(|k| k["revoked"].as_bool().unwrap()).collect();
        assert!(revoked.contains(&true) && revoked.contains(&false));
        let (status, _) = app.call_as(&door, "admin_door_rotate_key", &[]).await;
        assert_eq!(status, 403);
    })
    .await;
}

#[tokio::test]
async fn entries_the_server_would_refuse_leave_the_ticket_alone_and_are_shown_to_the_organiser() {
    on_each_engine(&[], |app| async move {
        let today = door_pass(&app).await;
        let now = tessera::server::now();
        let tomorrow = pass_between(&app, now + Duration::days(2), now + Duration::days(3)).await;
        let (c1, reissued) = buyer(&app, "reissued@example.org", today).await;
        let (c2, later) = buyer(&app, "tomorrow@example.org", tomorrow).await;
        let (c3, fine) = buyer(&app, "fine@example.org", today).await;
        let (old_code, old_token) = codes(&app, &c1).await;
        let (later_code, _) = codes(&app, &c2).await;
        let (fine_code, _) = codes(&app, &c3).await;
        app.user("chief@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("chief@example.org", PW).await;
        let (status, _) = app.call_as(&admin, "admin_reissue_ticket", &[("ticket_id", &reissued.to_string())]).await;
        assert_eq!(status, 200);
        app.user("gate2@example.org", PW, Role::StaffScan).await;
        let door = app.logged_in("gate2@example.org", PW).await;
        let future = (now + Duration::minutes(9)).timestamp_millis();
        let entries = json!([
            entry(Uuid::new_v4(), &old_code, "Ok"),
            entry(Uuid::new_v4(), &old_token, "Ok"),
            entry(Uuid::new_v4(), &later_code, "Ok"),
            { "nonce": Uuid::new_v4(), "code": format!("{fine_code}\n"), "ticket_id": null, "at_ms": future, "answer": "Ok" },
        ]);
        let (status, body) = sync(&app, &door, Uuid::new_v4(), 0, entries).await;
        assert_eq!(status, 200, "{body}");
        let outcomes: Vec<(String,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT outcome FROM door_entries ORDER BY outcome").fetch_all(pool).await).unwrap();
        let outcomes: Vec<&str> = outcomes.iter().map(|o| o.0.as_str()).collect();
        assert_eq!(outcomes, ["LET_IN", "NOT_VALID", "REVOKED", "REVOKED"], "[{}]", app.engine);
        for t in [reissued, later] {
            let (status,): (String,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT status FROM tickets WHERE id = $1").bind(t).fetch_one(pool).await).unwrap();
            assert_eq!(status, "VALID", "a replaced code or a pass of another day does not use up the ticket");
        }
        let (used_at,): (chrono::DateTime<chrono::Utc>,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT used_at FROM tickets WHERE id = $1").bind(fine).fetch_one(pool).await).unwrap();
        assert!(used_at <= tessera::server::now(), "an entry is never dated in the future: {used_at}");
        let (_, overview) = app.call_as(&admin, "admin_door", &[]).await;
        assert_eq!(overview["refused"].as_array().unwrap().len(), 3, "{overview}");
        // The new code of the reissued ticket still lets its holder in.
        let (new_code, _) = codes(&app, &c1).await;
        assert_eq!(scan(&app, &door, &new_code).await, "Ok");
    })
    .await;
}
