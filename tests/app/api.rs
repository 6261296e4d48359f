//! The REST API (`/api/v1`) on SQLite and PostgreSQL, as another tool uses it: tokens made by an
//! admin (shown once, kept hashed), scopes enforced per resource, a token's rate its own, pages
//! that stay right while orders come in, check-ins with the door's rules, talks changed whole or
//! not at all (with the attendees' notice), errors as JSON 4xx, and the OpenAPI document checked by
//! an independent validator.
use crate::common::{on_each_engine, paid_ticket, pass_valid, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";

/// An admin (logged in) and a token of theirs with `scopes`.
pub(crate) async fn token(app: &TestApp, admin: &reqwest::Client, scopes: &str) -> String {
    let (status, made) = app
        .call_as(
            admin,
            "admin_api_token_create",
            &[("name", "CRM"), ("scopes", scopes)],
        )
        .await;
    assert_eq!(status, 200, "[{}] {made}", app.engine);
    made["token"].as_str().unwrap().to_string()
}

/// `method path` with `token` (none: no Authorization header) and a JSON body: status, headers, body.
async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let text = res.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let (status, _, body) = api(app, reqwest::Method::GET, path, token, None).await;
    (status, body)
}

/// Every id of a list, page by page (`limit` a page), and how many pages it took.
async fn all_ids(app: &TestApp, path: &str, token: &str, limit: usize) -> Vec<String> {
    let mut ids = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let (status, page) = get(app, &format!("{path}?limit={limit}{q}"), Some(token)).await;
        assert_eq!(status, 200, "{page}");
        for row in page["data"].as_array().unwrap() {
            ids.push(row["id"].as_str().unwrap().to_string());
        }
        if page["has_more"] != true {
            return ids;
        }
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
}

#[tokio::test]
async fn tokens_are_shown_once_scoped_per_resource_and_revocable() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        app.user("door@example.org", PW, Role::StaffScan).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let staff = app.logged_in("door@example.org", PW).await;

        // Only an admin makes tokens; scopes are checked.
        let (status, _) = app.call_as(&staff, "admin_api_token_create", &[("name", "x"), ("scopes", "orders:read")]).await;
        assert_eq!(status, 403, "[{}] door staff may not make tokens", app.engine);
        for (name, scopes, field) in [("CRM", "orders:write", "scopes"), ("CRM", "", "scopes"), ("", "orders:read", "name")] {
            let (status, body) = app.call_as(&admin, "admin_api_token_create", &[("name", name), ("scopes", scopes)]).await;
            assert_eq!((status, body["Invalid"]["field"].as_str().or(body["InvalidWith"]["field"].as_str())), (422, Some(field)), "[{}] {body}", app.engine);
        }
        let orders = token(&app, &admin, "orders:read").await;
        let talks = token(&app, &admin, "talks:read,passes:read").await;
        assert!(orders.starts_with("tsk_") && orders.len() > 40);
        // Kept as a hash: the database never holds a usable token.
        let clear = app.count(&format!("SELECT COUNT(*) FROM api_tokens WHERE token_hash = '{orders}' OR prefix = '{orders}'")).await;
        assert_eq!(clear, 0, "[{}] the token itself is not stored", app.engine);
        // The list shows its first characters only.
        let (_, list) = app.call_as(&admin, "admin_api_tokens", &[]).await;
        assert!(!list.to_string().contains(&orders), "[{}] the list never shows a token", app.engine);
        assert_eq!(list.as_array().unwrap().len(), 2);

        // Scopes per resource; another token's scopes are its own.
        assert_eq!(get(&app, "/api/v1/orders", Some(&orders)).await.0, 200, "[{}]", app.engine);
        let (status, body) = get(&app, "/api/v1/talks", Some(&orders)).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("error.forbidden")), "[{}] {body}", app.engine);
        let (status, body) = get(&app, "/api/v1/orders", Some(&talks)).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("error.forbidden")), "[{}] {body}", app.engine);
        let (status, talks_page) = get(&app, "/api/v1/talks?limit=200", Some(&talks)).await;
        assert_eq!(status, 200);
        assert!(talks_page["data"].as_array().unwrap().iter().any(|t| t["title"].as_str().unwrap().starts_with("Rust en production")));
        assert_eq!(get(&app, "/api/v1/passes", Some(&talks)).await.0, 200);

        // No token, a wrong one, the session cookie of an admin: 401, with the scheme to use.
        let (status, headers, body) = api(&app, reqwest::Method::GET, "/api/v1/orders", None, None).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("error.unauthorized")), "[{}] {body}", app.engine);
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(get(&app, "/api/v1/orders", Some("tsk_not-a-token")).await.0, 401);
        let (status, _) = {
            let res = admin.get(app.url("/api/v1/orders")).send().await.unwrap();
            (res.status().as_u16(), ())
        };
        assert_eq!(status, 401, "[{}] the API takes no cookie", app.engine);
        // An unknown path of the API is a JSON 404, not the site's page.
        let (status, body) = get(&app, "/api/v1/nothing", Some(&orders)).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("error.not_found")));
        // Errors in the caller's language.
        let client = reqwest::Client::new();
        let res = client.get(app.url("/api/v1/orders?limit=0")).bearer_auth(&orders).header("accept-language", "en").send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!((body["field"].as_str(), body["message"].as_str()), (Some("limit"), Some("The limit is a number from 1 to 200.")));

        // Last used is recorded; a revoked token is refused at once; both audited.
        let (_, list) = app.call_as(&admin, "admin_api_tokens", &[]).await;
        let row = list.as_array().unwrap().iter().find(|t| t["scopes"] == json!(["orders:read"])).unwrap().clone();
        assert!(row["last_used_at"].is_string(), "[{}] {row}", app.engine);
        let (status, _) = app.call_as(&admin, "admin_api_token_revoke", &[("id", row["id"].as_str().unwrap())]).await;
        assert_eq!(status, 200);
        assert_eq!(get(&app, "/api/v1/orders", Some(&orders)).await.0, 401, "[{}] revoked", app.engine);
        assert_eq!(get(&app, "/api/v1/talks", Some(&talks)).await.0, 200, "[{}] the other token still works", app.engine);
        let audited = app.count("SELECT COUNT(*) FROM audit_logs WHERE action IN ('CREATE_API_TOKEN', 'REVOKE_API_TOKEN')").await;
        assert_eq!(audited, 3);
        // A token of an admin who is no longer one stops working.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE users SET role = 'USER' WHERE email = 'boss@example.org'").execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(get(&app, "/api/v1/talks", Some(&talks)).await.0, 401, "[{}] its admin was demoted", app.engine);
    })
    .await;
}

#[tokio::test]
async fn pages_stay_right_while_orders_come_in_and_each_token_has_its_own_rate() {
    on_each_engine(&[("API_RATE_PER_MINUTE", "40")], |app| async move {
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let now = tessera::server::now();
        let pass = pass_valid(
            &app,
            "Pass 2 jours",
            now - chrono::Duration::hours(1),
            now + chrono::Duration::days(1),
        )
        .await;
        let mut tickets = vec![];
        for i in 0..5 {
            let buyer = app
                .user(&format!("buyer{i}@example.org"), PW, Role::User)
                .await;
            tickets.push(paid_ticket(&app, buyer, pass).await);
        }
        // The first ticket's holder answered the organiser's question.
        let question = uuid::Uuid::new_v4();
        tessera::db_run!(app.db(), pool => {
            sqlx::query("INSERT INTO questions (id, kind, label_fr, label_en, created_at) VALUES ($1, 'TEXT', 'Entreprise', 'Company', $2)")
                .bind(question).bind(now).execute(pool).await.unwrap();
            sqlx::query("INSERT INTO ticket_answers (ticket_id, question_id, answer, updated_at) VALUES ($1, $2, 'Inria', $3)")
                .bind(tickets[0]).bind(question).bind(now).execute(pool).await.map(|_| ())
        })
        .unwrap();
        let reader = token(&app, &admin, "orders:read,attendees:read").await;
        // Two rows a page; an order comes in between the first page and the rest.
        let (status, first) = get(&app, "/api/v1/orders?limit=2", Some(&reader)).await;
        assert_eq!(
            (status, first["data"].as_array().unwrap().len()),
            (200, 2),
            "[{}] {first}",
            app.engine
        );
        let late = app.user("late@example.org", PW, Role::User).await;
        paid_ticket(&app, late, pass).await;
        let mut seen: Vec<String> = first["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect();
        let mut cursor = first["next_cursor"].as_str().unwrap().to_string();
        loop {
            let (_, page) = get(
                &app,
                &format!("/api/v1/orders?limit=2&cursor={cursor}"),
                Some(&reader),
            )
            .await;
            seen.extend(
                page["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["id"].as_str().unwrap().to_string()),
            );
            cursor = page["next_cursor"].as_str().unwrap().to_string();
            if page["has_more"] == false {
                break;
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            (seen.len(), unique.len()),
            (6, 6),
            "[{}] each order once, the late one included: {seen:?}",
            app.engine
        );
        // Polling: the last cursor, asked again later, gives what came since, and only that.
        let (_, nothing) = get(
            &app,
            &format!("/api/v1/orders?cursor={cursor}"),
            Some(&reader),
        )
        .await;
        assert_eq!(
            (
                nothing["data"].as_array().unwrap().len(),
                nothing["next_cursor"].as_str()
            ),
            (0, Some(cursor.as_str()))
        );
        let later = app.user("later@example.org", PW, Role::User).await;
        paid_ticket(&app, later, pass).await;
        let (_, news) = get(
            &app,
            &format!("/api/v1/orders?cursor={cursor}"),
            Some(&reader),
        )
        .await;
        assert_eq!(
            news["data"].as_array().unwrap().len(),
            1,
            "[{}] {news}",
            app.engine
        );
        assert_eq!(news["data"][0]["buyer_email"], "later@example.org");
        // An order: its lines and buyer; the attendees with the holder.
        let (status, order) =
            get(&app, &format!("/api/v1/orders/{}", seen[0]), Some(&reader)).await;
        assert_eq!(
            (
                status,
                order["status"].as_str(),
                order["lines"][0]["quantity"].as_i64()
            ),
            (200, Some("PAID"), Some(1)),
            "{order}"
        );
        assert_eq!(order["buyer_email"], "buyer0@example.org");
        assert_eq!(
            get(
                &app,
                &format!("/api/v1/orders/{}", uuid::Uuid::new_v4()),
                Some(&reader)
            )
            .await
            .0,
            404
        );
        assert_eq!(
            get(&app, "/api/v1/orders/not-an-id", Some(&reader)).await.0,
            404
        );
        let (_, people) = get(&app, "/api/v1/attendees?limit=200", Some(&reader)).await;
        assert_eq!(people["data"].as_array().unwrap().len(), 7);
        assert_eq!(people["data"][0]["email"], "buyer0@example.org");
        assert_eq!(people["data"][0]["ticket_id"], json!(tickets[0]));
        let answers = &people["data"][0]["answers"];
        assert_eq!((answers[0]["question"].as_str(), answers[0]["answer"].as_str()), (Some("Entreprise"), Some("Inria")), "{answers}");
        assert_eq!(people["data"][1]["answers"], json!([]));
        // An English-speaking client reads the question in English, the answer as given.
        let english = reqwest::Client::new().get(app.url("/api/v1/attendees?limit=1")).bearer_auth(&reader)
            .header("Accept-Language", "en-GB,en;q=0.8").send().await.unwrap().json::<Value>().await.unwrap();
        let answers = &english["data"][0]["answers"];
        assert_eq!((answers[0]["question"].as_str(), answers[0]["answer"].as_str()), (Some("Company"), Some("Inria")), "{answers}");
        // Bad pages: a cursor not ours, a limit out of range.
        for (q, field) in [
            ("cursor=bm9wZQ", "cursor"),
            ("cursor=%FF", "cursor"),
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=abc", "limit"),
        ] {
            let (status, body) = get(&app, &format!("/api/v1/orders?{q}"), Some(&reader)).await;
            assert_eq!(
                (status, body["field"].as_str()),
                (422, Some(field)),
                "[{}] {q}: {body}",
                app.engine
            );
        }

        // The rate is per token: one spent does not stop another.
        let other = token(&app, &admin, "orders:read").await;
        let mut refused = None;
        for _ in 0..60 {
            let (status, headers, _) = api(
                &app,
                reqwest::Method::GET,
                "/api/v1/orders?limit=1",
                Some(&reader),
                None,
            )
            .await;
            if status == 429 {
                refused = Some(
                    headers["retry-after"]
                        .to_str()
                        .unwrap()
                        .parse::<u64>()
                        .unwrap(),
                );
                break;
            }
        }
        assert!(
            refused.is_some_and(|s| (1..=60).contains(&s)),
            "[{}] 429 with Retry-After: {refused:?}",
            app.engine
        );
        assert_eq!(
            get(&app, "/api/v1/orders", Some(&other)).await.0,
            200,
            "[{}] another token is not limited",
            app.engine
        );
        assert_eq!(all_ids(&app, "/api/v1/orders", &other, 4).await.len(), 7);
    })
    .await;
}

#[tokio::test]
async fn checkins_follow_the_door_rules_and_talks_change_whole_or_not_at_all() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let boss = app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let now = tessera::server::now();
        let pass = pass_valid(&app, "Pass 2 jours", now - chrono::Duration::hours(1), now + chrono::Duration::days(1)).await;
        let buyer = app.user("ada@example.org", PW, Role::User).await;
        let ticket = paid_ticket(&app, buyer, pass).await;
        let door = token(&app, &admin, "checkins:write,checkins:read").await;
        let reader = token(&app, &admin, "checkins:read,talks:read").await;
        let post = |token: String, body: Value| {
            let app = &app;
            async move { api(app, reqwest::Method::POST, "/api/v1/checkins", Some(&token), Some(body)).await }
        };

        // Without the write scope: refused, nothing written.
        let (status, _, _) = post(reader.clone(), json!({ "ticket_id": ticket })).await;
        assert_eq!(status, 403);
        assert_eq!(app.count("SELECT COUNT(*) FROM checkins").await, 0);
        // Let in once; the same scan again is the same entry; another scan is refused.
        let scan = uuid::Uuid::new_v4();
        let (status, _, first) = post(door.clone(), json!({ "ticket_id": ticket, "scan_id": scan })).await;
        assert_eq!((status, first["outcome"].as_str(), first["entered"].as_bool()), (201, Some("OK"), Some(true)), "[{}] {first}", app.engine);
        assert_eq!(first["holder"], "Test User");
        let (status, _, again) = post(door.clone(), json!({ "ticket_id": ticket, "scan_id": scan })).await;
        assert_eq!((status, again["repeated"].as_bool()), (200, Some(true)), "[{}] {again}", app.engine);
        let (status, _, twice) = post(door.clone(), json!({ "ticket_id": ticket })).await;
        assert_eq!((status, twice["outcome"].as_str(), twice["entered"].as_bool()), (200, Some("ALREADY_USED"), Some(false)), "{twice}");
        let (_, list) = get(&app, "/api/v1/checkins", Some(&reader)).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1, "[{}] one entry: {list}", app.engine);
        assert_eq!(list["data"][0]["ticket_id"], json!(ticket));
        // A phone's offline entry reaches the server late, timed an hour ago: a client polling
        // from its last cursor still gets it.
        let cursor = list["next_cursor"].as_str().unwrap().to_string();
        let other = paid_ticket(&app, buyer, pass).await;
        let mut tx = app.db().begin().await.unwrap();
        let entry = tessera::checkin::service::NewCheckin {
            id: uuid::Uuid::new_v4(),
            list: uuid::Uuid::from_u128(0xE0),
            ticket: other,
            at: now - chrono::Duration::minutes(50),
            direction: tessera::checkin::Direction::In,
            staff: boss,
            device: None,
            offline: true,
        };
        tessera::checkin::service::record(&mut tx, &app.state.config, &entry).await.unwrap();
        tx.commit().await.unwrap();
        let (_, late) = get(&app, &format!("/api/v1/checkins?cursor={cursor}"), Some(&reader)).await;
        assert_eq!(late["data"].as_array().unwrap().len(), 1, "[{}] the late entry is new to the poller: {late}", app.engine);
        assert_eq!((late["data"][0]["ticket_id"].clone(), late["data"][0]["offline"].clone()), (json!(other), json!(true)));
        // Bad bodies: a clear 422 on the field, never a 5xx.
        for (body, field) in [
            (json!({}), "code"),
            (json!({ "code": "x", "ticket_id": ticket }), "code"),
            (json!({ "ticket_id": "nope" }), "body"),
            (json!({ "ticket_id": ticket, "extra": 1 }), "body"),
            (json!({ "ticket_id": ticket, "direction": "SIDEWAYS" }), "direction"),
            (json!([1, 2]), "body"),
        ] {
            let (status, _, answer) = post(door.clone(), body.clone()).await;
            assert_eq!((status, answer["field"].as_str()), (422, Some(field)), "[{}] {body}: {answer}", app.engine);
        }
        let (status, _, unknown) = post(door.clone(), json!({ "code": "not a ticket" })).await;
        assert_eq!((status, unknown["outcome"].as_str()), (200, Some("UNKNOWN")));

        // A talk moved through the API: the attendees who saved it get the change notice.
        let writer = token(&app, &admin, "talks:write,talks:read").await;
        let talk = crate::admin_programme::talk(&app, &admin, "Rust en production").await;
        let id = talk["id"].as_str().unwrap();
        let (_, before) = get(&app, &format!("/api/v1/talks/{id}"), Some(&reader)).await;
        let version = before["version"].as_i64().unwrap();
        let patch = |body: Value| {
            let (app, writer) = (&app, writer.clone());
            async move { api(app, reqwest::Method::PATCH, &format!("/api/v1/talks/{id}"), Some(&writer), Some(body)).await }
        };
        // A bad field among good ones: nothing changes.
        let (status, _, refused) = patch(json!({ "version": version, "room": "Salle B", "title": "" })).await;
        assert_eq!((status, refused["field"].as_str()), (422, Some("title")), "[{}] {refused}", app.engine);
        let (status, _, stale) = patch(json!({ "version": version - 1, "room": "Salle B" })).await;
        assert_eq!((status, stale["field"].as_str()), (422, Some("version")), "[{}] {stale}", app.engine);
        let (status, _, ends_first) = patch(json!({ "version": version, "end_at": "2027-06-10T07:00:00Z" })).await;
        assert_eq!((status, ends_first["field"].as_str()), (422, Some("end_at")), "[{}] {ends_first}", app.engine);
        assert_eq!(get(&app, &format!("/api/v1/talks/{id}"), Some(&reader)).await.1, before, "[{}] untouched", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM talk_changes").await, 0);
        // Moved a day later (past its own end) and to another room, in one request.
        let (status, _, moved) = patch(json!({
            "version": version, "room": "Salle B", "start_at": "2027-06-11T08:00:30Z", "end_at": "2027-06-11T08:45:00Z",
        })).await;
        assert_eq!((status, moved["room"].as_str(), moved["start_at"].as_str()), (200, Some("Salle B"), Some("2027-06-11T08:00:30Z")), "[{}] {moved}", app.engine);
        assert_eq!(moved["version"].as_i64(), Some(version + 3));
        assert!(app.count("SELECT COUNT(*) FROM talk_changes").await >= 1, "[{}] the move is kept for the notices", app.engine);
        let audited = app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'UPDATE_TALK'").await;
        assert_eq!(audited, 3, "[{}] one entry per field, by the token's admin", app.engine);
        // The log names the token too, by the prefix `/admin/api` lists.
        let (_, tokens) = app.call_as(&admin, "admin_api_tokens", &[]).await;
        let prefix = tokens.as_array().unwrap().iter().find(|t| writer.starts_with(t["prefix"].as_str().unwrap())).unwrap()["prefix"].clone();
        let (_, log) = app.call_as(&admin, "admin_audit_log", &[("action", "UPDATE_TALK")]).await;
        for line in log.as_array().unwrap() {
            let meta = line["meta"].as_array().unwrap();
            assert!(meta.contains(&json!(["api_token", prefix])), "[{}] {line}", app.engine);
            assert!(meta.iter().any(|m| m[0] == "api_token_id"), "[{}] {line}", app.engine);
        }
        let (status, _, _) = api(&app, reqwest::Method::PATCH, &format!("/api/v1/talks/{id}"), Some(&reader), Some(json!({ "version": 1 }))).await;
        assert_eq!(status, 403, "talks:read may not write");
        let (status, _, _) = patch(json!({ "version": 1, "room": "x" })).await;
        assert_eq!(status, 422);
        let missing = api(&app, reqwest::Method::PATCH, &format!("/api/v1/talks/{}", uuid::Uuid::new_v4()), Some(&writer), Some(json!({ "version": 1, "room": "x" }))).await;
        assert_eq!(missing.0, 404);
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_api_and_passes_a_validator() {
    on_each_engine(&[], |app| async move {
        let (status, doc) = get(&app, "/api/v1/openapi.json", None).await;
        assert_eq!(status, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            "/api/v1/orders",
            "/api/v1/attendees",
            "/api/v1/checkins",
            "/api/v1/talks/{id}",
            "/api/v1/passes",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} is described");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["token"]["scheme"],
            "bearer"
        );
        assert!(doc["components"]["schemas"]["Order"]["properties"]["buyer_email"].is_object());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("openapi.json");
        std::fs::write(&file, doc.to_string()).unwrap();
        let (valid, out) = crate::schedule::validate_paths(&[file.to_string_lossy().into_owned()]);
        assert!(valid, "{out}");
    })
    .await;
}
