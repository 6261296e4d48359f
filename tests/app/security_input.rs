//! No input reaches a panic: every server function the app registers is sent a corpus of bad bodies
//! (missing fields, wrong types, numbers at i64's edges, dates at chrono's edges, control characters,
//! invalid UTF-8, a 3 MB body, a JSON content type) as anonymous, USER, STAFF_SCAN and ADMIN. Every
//! answer is an answer (no dropped connection) and none is a 5xx; error bodies say nothing of the
//! server's internals.
use crate::common::{on_each_engine, TestApp};
use futures::{stream, StreamExt};
use std::collections::BTreeMap;
use tessera::accounts::Role;
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// Every argument name the server functions take, so that one body reaches every function's fields.
const TEXT_FIELDS: &[&str] = &[
    "action",
    "actor",
    "cancel_tickets",
    "email",
    "entity",
    "first_name",
    "from",
    "holder_email",
    "holder_name",
    "last_name",
    "locale",
    "new_email",
    "next",
    "outcome",
    "password",
    "phone",
    "privacy",
    "query",
    "role",
    "session_id",
    "status",
    "terms",
    "to",
    "token",
    "marketing",
    "value",
];
const UUID_FIELDS: &[&str] = &[
    "id",
    "order_id",
    "scan_id",
    "talk_id",
    "ticket_id",
    "user_id",
];
/// The fields the back office edits in place (`field` + `value`): passes and talks.
fn edited() -> impl Iterator<Item = &'static str> {
    tessera::admin::passes::FIELDS
        .into_iter()
        .chain(tessera::admin::talks::FIELDS)
}
const EDGES: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-1",
    "0",
    "+262142-12-31",
    "-262143-01-01",
    "+262142-12-31T23:59",
    "-262143-01-01T00:00",
    "9999-12-31T23:59",
    "1e308",
    "NaN",
];

type Body = (Option<&'static str>, Vec<u8>);
/// A status and body, or why no answer came.
type Answer = Result<(u16, String), String>;

fn form(pairs: &[(String, String)]) -> Vec<u8> {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// A body where every field is `value` and every id one of `ids` (real ones, so that a function
/// gets past its lookups to its arithmetic).
fn all_fields(value: &str, ids: &[Uuid], edited: &str, flag: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = TEXT_FIELDS
        .iter()
        .map(|f| (f.to_string(), value.to_string()))
        .collect();
    for (i, f) in UUID_FIELDS.iter().enumerate() {
        pairs.push((f.to_string(), ids[i % ids.len()].to_string()));
    }
    pairs.push(("field".into(), edited.into()));
    pairs.push(("version".into(), value.into()));
    pairs.push(("on".into(), flag.into()));
    pairs.push(("save".into(), flag.into()));
    pairs.push(("granted".into(), flag.into()));
    pairs.push(("confirm".into(), flag.into()));
    pairs.push(("lines[0][ticket_type_id]".into(), ids[0].to_string()));
    pairs.push(("lines[0][quantity]".into(), value.into()));
    pairs
}

fn corpus(ids: &[Uuid]) -> Vec<Body> {
    let url = Some("application/x-www-form-urlencoded");
    let mut bodies: Vec<Body> = vec![
        (url, vec![]),
        (url, b"unknown=1".to_vec()),
        (
            url,
            form(&all_fields(
                "not a value",
                &[Uuid::nil()],
                "nothing",
                "maybe",
            )),
        ),
        (
            url,
            form(&[
                ("id".into(), "x".into()),
                ("version".into(), "x".into()),
                ("on".into(), "2".into()),
            ]),
        ),
    ];
    for (i, edge) in EDGES.iter().enumerate() {
        for (j, edited) in edited().enumerate() {
            // Each edge value goes to every edited field once, and to everything else a few times.
            if (i + j) % 4 == 0
                || edge.contains('-') && edited.ends_with("_at")
                || edited.starts_with("valid")
            {
                bodies.push((url, form(&all_fields(edge, ids, edited, "true"))));
            }
        }
    }
    let control = "a\u{0}b\tc\rd\ne\u{7f}f\u{202e}g\u{1b}[31m";
    bodies.push((url, form(&all_fields(control, ids, "title", "true"))));
    bodies.push((
        url,
        form(&all_fields(&"é".repeat(20_000), ids, "description", "true")),
    ));
    // Invalid UTF-8, percent-encoded and raw.
    bodies.push((
        url,
        b"email=%FF%FE&password=%C3%28&value=%80&field=title&id=%ED%A0%80".to_vec(),
    ));
    bodies.push((
        url,
        [
            b"email=".as_slice(),
            &[0xff, 0xfe, 0xc3, 0x28],
            b"&password=x",
        ]
        .concat(),
    ));
    // A 3 MB body.
    bodies.push((url, form(&[("value".into(), "x".repeat(3 * 1024 * 1024))])));
    // The wrong content types.
    bodies.push((
        Some("application/json"),
        br#"{"email":1,"password":[],"id":{"a":null},"quantity":9223372036854775807}"#.to_vec(),
    ));
    bodies.push((Some("application/json"), b"{not json".to_vec()));
    bodies.push((None, b"\x00\x01\x02".to_vec()));
    bodies
}

/// A client logged in as `user_id` through a session made for it directly (no password hashing per
/// call, and a fresh one for every function, since some of them log their caller out).
async fn session_client(app: &TestApp, user_id: Uuid) -> reqwest::Client {
    let token = tessera::accounts::session::new_token();
    let now = tessera::server::now();
    tessera::db_run!(app.db(), pool => sqlx::query(
        "INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)")
        .bind(Uuid::new_v4()).bind(user_id).bind(tessera::accounts::session::hash_token(&token))
        .bind(now).bind(now + chrono::Duration::days(1)).execute(pool).await.map(|_| ())).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        format!("{}={token}", tessera::accounts::session::SESSION_COOKIE)
            .parse()
            .unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_function_answers_bad_input_with_a_5xx_or_a_dropped_connection() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let pass: (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_types ORDER BY name LIMIT 1").fetch_one(pool).await).unwrap();
        let talk: (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM conferences ORDER BY start_at LIMIT 1").fetch_one(pool).await).unwrap();
        let ids = [pass.0, talk.0, Uuid::new_v4()];
        let bodies = corpus(&ids);
        let mut roles: Vec<(&str, Option<Uuid>)> = vec![("anonymous", None)];
        for (label, role) in [("USER", Role::User), ("STAFF_SCAN", Role::StaffScan), ("ADMIN", Role::Admin)] {
            let id = app.user(&format!("{}@example.org", label.to_lowercase()), PW, role).await;
            roles.push((label, Some(id)));
        }
        let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_string())
            .filter(|p| p != "/api/dev_panic")
            .collect();
        paths.sort();
        paths.dedup();
        assert!(paths.len() > 40, "the server functions are listed: {paths:?}");

        let mut failures: BTreeMap<String, String> = BTreeMap::new();
        let mut answers = 0usize;
        for (label, user) in &roles {
            for path in &paths {
                let client = match user {
                    Some(id) => session_client(&app, *id).await,
                    None => app.new_client(),
                };
                let results: Vec<(usize, Answer)> = stream::iter(bodies.iter().enumerate())
                    .map(|(i, (content_type, body))| {
                        let mut req = client.post(app.url(path)).body(body.clone());
                        if let Some(ct) = content_type {
                            req = req.header(reqwest::header::CONTENT_TYPE, *ct);
                        }
                        async move {
                            let res = req.send().await.map_err(|e| format!("no answer: {e}"));
                            let out = match res {
                                Ok(r) => {
                                    let status = r.status().as_u16();
                                    Ok((status, r.text().await.unwrap_or_default()))
                                }
                                Err(e) => Err(e),
                            };
                            (i, out)
                        }
                    })
                    .buffer_unordered(8)
                    .collect()
                    .await;
                for (i, result) in results {
                    answers += 1;
                    let problem = match &result {
                        Err(e) => Some(e.clone()),
                        Ok((status, _)) if *status >= 500 => Some(format!("{status}")),
                        Ok((_, body)) if body.contains("deserializ") || body.contains("missing field") => {
                            Some(format!("internals in the body: {body}"))
                        }
                        Ok(_) => None,
                    };
                    if let Some(p) = problem {
                        let preview: String = String::from_utf8_lossy(&bodies[i].1).chars().take(160).collect();
                        failures.entry(format!("{label} {path}")).or_insert(format!("{p} for body #{i} {preview:?}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "[{}] {} of {answers} calls failed:\n{}", app.engine, failures.len(),
            failures.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"));
        // Still up.
        assert_eq!(app.get("/").await.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn a_malformed_call_is_a_generic_400() {
    on_each_engine(&[], |app| async move {
        let (status, body) = app.call("login", &[("email", "someone@example.org")]).await;
        assert_eq!(
            (status, body.clone()),
            (400, serde_json::json!("BadRequest")),
            "[{}] missing password",
            app.engine
        );
        let res = app
            .client
            .post(app.url("/api/login"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(vec![b'a'; 3 * 1024 * 1024])
            .send()
            .await
            .expect("an answer");
        assert_eq!(res.status().as_u16(), 413, "[{}] a 3 MB body", app.engine);
        // Dates at chrono's edge in a filter: refused next to the field, not a panic.
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        for to in ["+262142-12-31", "9999-12-31"] {
            let (status, body) = app.call_as(&admin, "admin_audit_log", &[("to", to)]).await;
            assert!(
                status == 200 || (status == 422 && body["Invalid"]["field"] == "to"),
                "[{}] to={to}: {status} {body}",
                app.engine
            );
        }
        let res = admin
            .get(app.url("/admin/audit?to=%2B262142-12-31"))
            .send()
            .await
            .expect("the page answers");
        assert!(
            res.status().as_u16() < 500,
            "[{}] the audit page answers: {}",
            app.engine,
            res.status()
        );
    })
    .await;
}
