//! The programme for other tools, on SQLite and PostgreSQL: `/schedule.json` and `/schedule.xml`
//! checked by c3voc's own schemas (independent validators from PyPI, `scripts/validate-schedule`),
//! `/schedule.ics` by two iCalendar libraries, kept per programme revision (ETag, 304); and the
//! import: a round trip through an emptied programme, a second import that changes nothing, a
//! changed file that moves one talk (its attendees get the change notice), talks gone from the
//! source reported then removed on confirmation, a real pretalx export, bad files refused whole
//! with the line or the field named, and the periodic import taken by one instance.
use crate::common::{on_each_engine, TestApp};
use serde_json::Value;
use std::process::Command;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";

/// Runs the independent validators on `files` (name, text); their verdict and what they printed.
fn validate(files: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = files
        .iter()
        .map(|(name, text)| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_string_lossy().into_owned()
        })
        .collect();
    validate_paths(&paths)
}

/// Runs the independent validators (`scripts/validate-schedule`) on files.
pub(crate) fn validate_paths(paths: &[String]) -> (bool, String) {
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/validate-schedule"
    ))
    .args(paths)
    .output()
    .expect("scripts/validate-schedule runs (python3)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Every event of a schedule.json, by GUID, without what differs between two instances (the
/// address and the schedule's version).
fn events(doc: &Value) -> Vec<Value> {
    let mut out = vec![];
    for day in doc["schedule"]["conference"]["days"].as_array().unwrap() {
        for events in day["rooms"].as_object().unwrap().values() {
            for e in events.as_array().unwrap() {
                let mut e = e.clone();
                e.as_object_mut().unwrap().remove("url");
                out.push(e);
            }
        }
    }
    out.sort_by_key(|e| e["guid"].as_str().unwrap().to_string());
    out
}

/// How many talks of an import's report had this outcome (`Created`, `Updated`, `Unchanged`,
/// `Gone`, `Removed`); `None` when the answer is no report.
fn count(report: &Value, kind: &str) -> Option<usize> {
    let talks = report["talks"].as_array()?;
    Some(
        talks
            .iter()
            .filter(|t| t[1] == kind || t[1].get(kind).is_some())
            .count(),
    )
}

async fn import(app: &TestApp, admin: &reqwest::Client, form: &[(&str, &str)]) -> (u16, Value) {
    app.call_as(admin, "admin_schedule_import", form).await
}

#[tokio::test]
async fn exports_pass_the_c3voc_schemas_and_ical_and_are_kept_per_revision() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let talks = app.count("SELECT COUNT(*) FROM conferences").await as usize;
        let mut texts = vec![];
        for (path, kind) in [
            ("/schedule.json", "application/json"),
            ("/schedule.xml", "application/xml"),
            ("/schedule.ics", "text/calendar"),
        ] {
            let res = app.get(path).await;
            assert_eq!(res.status(), 200, "[{}] {path}", app.engine);
            let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
            assert!(content_type.starts_with(kind), "{path}: {content_type}");
            texts.push(res.text().await.unwrap());
        }
        let (json, xml, ics) = (&texts[0], &texts[1], &texts[2]);
        let (ok, report) = validate(&[
            ("schedule.json", json),
            ("schedule.xml", xml),
            ("schedule.ics", ics),
        ]);
        assert!(
            ok,
            "[{}] the exports pass c3voc's schemas and icalendar:\n{report}",
            app.engine
        );

        // The validators do refuse: a GUID that is not one, an event without its room.
        let broken_json = json.replacen("\"guid\": \"", "\"guid\": \"x", 2);
        let broken_xml = xml
            .replacen("<room>", "<salle>", 1)
            .replacen("</room>", "</salle>", 1);
        let (ok, report) = validate(&[("bad.json", &broken_json), ("bad.xml", &broken_xml)]);
        assert!(
            !ok && report.matches("INVALID").count() == 2,
            "the validators can fail:\n{report}"
        );

        // Every talk, once, with what a schedule app shows.
        let doc: Value = serde_json::from_str(json).unwrap();
        let all = events(&doc);
        assert_eq!(all.len(), talks, "[{}] every talk is an event", app.engine);
        let rust = all
            .iter()
            .find(|e| {
                e["title"]
                    .as_str()
                    .unwrap()
                    .starts_with("Rust en production")
            })
            .unwrap();
        assert_eq!(
            (
                rust["start"].as_str(),
                rust["duration"].as_str(),
                rust["room"].as_str()
            ),
            (Some("10:00"), Some("00:45"), Some("Salle Lumière")),
            "{rust}"
        );
        assert_eq!(
            rust["date"].as_str(),
            Some("2027-06-10T10:00:00+02:00"),
            "local time with the offset"
        );
        assert!(
            xml.contains(&format!("guid=\"{}\"", rust["guid"].as_str().unwrap())),
            "the same GUID in the XML"
        );
        let mut parser = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
        let cal = parser.next().expect("a calendar").expect("valid iCalendar");
        assert_eq!(
            cal.events.len(),
            talks,
            "[{}] the .ics has every talk",
            app.engine
        );

        // Kept per programme revision: a reader polling gets 304 until a talk changes.
        let etag = app.get("/schedule.json").await.headers()["etag"].clone();
        let etag = etag.to_str().unwrap().to_string();
        let again = if_changed(&app, &etag).await;
        assert_eq!(
            again.status(),
            304,
            "[{}] unchanged programme: 304",
            app.engine
        );
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let talk = crate::admin_programme::talk(&app, &admin, "Rust en production").await;
        let (status, _) =
            crate::admin_programme::save(&app, &admin, &talk, "location", "Amphithéâtre").await;
        assert_eq!(status, 200);
        let after = if_changed(&app, &etag).await;
        assert_eq!(
            after.status(),
            200,
            "[{}] a changed talk: the new schedule",
            app.engine
        );
        assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
        assert!(after
            .text()
            .await
            .unwrap()
            .contains("\"room\": \"Amphithéâtre\""));
        // A talk made a workshop is one in the schedule at once (its `type`; bookings aside).
        let etag = app.get("/schedule.json").await.headers()["etag"]
            .to_str()
            .unwrap()
            .to_string();
        let (status, _) = app
            .call_as(
                &admin,
                "admin_talk_workshop",
                &[
                    ("talk_id", talk["id"].as_str().unwrap()),
                    ("capacity", "20"),
                ],
            )
            .await;
        assert_eq!(status, 200);
        let res = if_changed(&app, format!("W/{etag}")).await;
        assert_eq!(
            res.status(),
            200,
            "[{}] a new workshop: a new schedule",
            app.engine
        );
        let doc: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
        let rust = events(&doc)
            .into_iter()
            .find(|e| {
                e["title"]
                    .as_str()
                    .unwrap()
                    .starts_with("Rust en production")
            })
            .unwrap();
        assert_eq!(rust["type"].as_str(), Some("workshop"));
        let current = app.get("/schedule.json").await.headers()["etag"].clone();
        let same = if_changed(&app, format!("W/{}", current.to_str().unwrap())).await;
        assert_eq!(
            same.status(),
            304,
            "a weak ETag (marked by a proxy) still matches"
        );
    })
    .await;
}

/// `GET /schedule.json` as a reader polling it asks: unless it still has ETag `etag`.
async fn if_changed(app: &TestApp, etag: impl AsRef<str>) -> reqwest::Response {
    let req = app.client.get(app.url("/schedule.json"));
    req.header("if-none-match", etag.as_ref())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_import_round_trips_changes_only_what_changed_and_removes_only_on_confirmation() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let (_, exported) = app.get_text("/schedule.json").await;
        let before: Value = serde_json::from_str(&exported).unwrap();
        let n = events(&before).len();

        // An empty programme (the demo's talks gone) takes the export back whole.
        tessera::db_run!(app.db(), pool => sqlx::query("DELETE FROM conferences").execute(pool).await.map(|_| ())).unwrap();
        let form = |apply: &'static str| [("content", exported.as_str()), ("file_name", "schedule.json"), ("apply", apply)];
        let (status, preview) = import(&app, &admin, &form("false")).await;
        assert_eq!((status, count(&preview, "Created")), (200, Some(n)), "[{}] {preview}", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM conferences").await, 0, "a preview writes nothing");
        let (status, done) = import(&app, &admin, &form("true")).await;
        assert_eq!((status, done["applied"].as_bool(), count(&done, "Created")), (200, Some(true), Some(n)), "{done}");
        let (_, round) = app.get_text("/schedule.json").await;
        let strip = |mut e: Value| { e.as_object_mut().unwrap().remove("type"); e };
        let (a, b): (Vec<Value>, Vec<Value>) = (events(&before).into_iter().map(strip).collect(), events(&serde_json::from_str(&round).unwrap()).into_iter().map(strip).collect());
        assert_eq!(a, b, "[{}] the same programme after the round trip", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'IMPORT_SCHEDULE'").await, 1);

        // The same file again: nothing changes, nothing is recorded as moved.
        let changes = app.count("SELECT COUNT(*) FROM talk_changes").await;
        let (status, same) = import(&app, &admin, &form("true")).await;
        assert_eq!((status, count(&same, "Unchanged"), count(&same, "Updated"), count(&same, "Created")), (200, Some(n), Some(0), Some(0)), "{same}");
        assert_eq!(app.count("SELECT COUNT(*) FROM talk_changes").await, changes);

        // A changed file (in XML this time): one talk moved by an hour, another renamed, a third
        // gone. An attendee who saved the moved talk is told, as after an inline edit.
        let ana = app.user("ana@example.org", PW, Role::User).await;
        let (_, xml) = app.get_text("/schedule.xml").await;
        let moved = events(&serde_json::from_str(&round).unwrap()).into_iter().find(|e| e["title"].as_str().unwrap().starts_with("Rust en production")).unwrap();
        let moved_guid: uuid::Uuid = moved["guid"].as_str().unwrap().parse().unwrap();
        tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO user_program_items (user_id, conference_id, created_at) VALUES ($1, $2, $3)")
            .bind(ana).bind(moved_guid).bind(tessera::server::now()).execute(pool).await.map(|_| ())).unwrap();
        let at = xml.find(&format!("guid=\"{moved_guid}\"")).unwrap();
        let end = at + xml[at..].find("</event>").unwrap();
        let rust_event = xml[at..end]
            .replace("<date>2027-06-10T10:00:00+02:00</date>", "<date>2027-06-10T11:00:00+02:00</date>")
            .replace("<start>10:00</start>", "<start>11:00</start>");
        let changed = format!("{}{rust_event}{}", &xml[..at], &xml[end..])
            .replace("Ouverture : quelle ville voulons-nous en 2040 ?", "Ouverture : la ville en 2040");
        let gone_at = changed.rfind("      <event ").unwrap();
        let gone_end = changed[gone_at..].find("</event>\n").unwrap() + gone_at + "</event>\n".len();
        let changed = format!("{}{}", &changed[..gone_at], &changed[gone_end..]);
        let form = [("content", changed.as_str()), ("file_name", "schedule.xml"), ("apply", "true")];
        let (status, report) = import(&app, &admin, &form).await;
        assert_eq!(status, 200, "[{}] {report}", app.engine);
        assert_eq!(count(&report, "Updated"), Some(2), "{report}");
        assert_eq!((count(&report, "Gone"), count(&report, "Removed")), (Some(1), Some(0)), "gone: reported, kept");
        assert_eq!(app.count("SELECT COUNT(*) FROM conferences").await as usize, n);
        assert_eq!(app.count("SELECT COUNT(*) FROM talk_changes").await, changes + 1, "one talk moved");
        let (status, mine) = app.call_as(&app.logged_in("ana@example.org", PW).await, "my_programme", &[]).await;
        assert!(status == 200 && mine.to_string().contains("10:00"), "[{}] her programme says it moved from 10:00: {mine}", app.engine);

        // Confirmed: the gone talk is removed.
        let form = [("content", changed.as_str()), ("file_name", "schedule.xml"), ("apply", "true"), ("remove_gone", "true")];
        let (status, report) = import(&app, &admin, &form).await;
        assert_eq!((status, count(&report, "Removed")), (200, Some(1)), "{report}");
        assert_eq!(app.count("SELECT COUNT(*) FROM conferences").await as usize, n - 1);
    })
    .await;
}

#[tokio::test]
async fn a_real_pretalx_export_imports_and_bad_files_are_refused_whole() {
    on_each_engine(&[], |app| async move {
        app.user("boss@example.org", PW, Role::Admin).await;
        app.user("ana@example.org", PW, Role::User).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let pretalx = include_str!("../schedule/c3voc/pretalx-democon.json");
        let (status, report) = import(&app, &admin, &[("content", pretalx), ("file_name", "democon.json"), ("apply", "true")]).await;
        assert_eq!((status, count(&report, "Created")), (200, Some(36)), "[{}] {report}", app.engine);
        let (_, json) = app.get_text("/schedule.json").await;
        let (ok, out) = validate(&[("democon-here.json", &json)]);
        assert!(ok, "pretalx's talks exported again pass the schema:\n{out}");

        // Who may import: admins only.
        let (status, _) = import(&app, &app.new_client(), &[("content", pretalx)]).await;
        assert_eq!(status, 401);
        let (status, _) = import(&app, &app.logged_in("ana@example.org", PW).await, &[("content", pretalx)]).await;
        assert_eq!(status, 403);

        // Bad files: refused whole, the place named, nothing written.
        let count = app.count("SELECT COUNT(*) FROM conferences").await;
        let bad_date = pretalx.replacen("\"date\": \"2020-12-14T", "\"date\": \"hier-12-14T", 1);
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
        let cases: [Case; 5] = [
            ("{\"schedule\": {\"conference\": {\"days\": [}", "schedule.import.error.json", &[("line", "1"), ("column", "39")]),
            ("<schedule><day><room><event guid=\"x\"></room></schedule>", "schedule.import.error.xml", &[("line", "1")]),
            ("hello", "schedule.import.error.format", &[]),
            (&bad_date, "schedule.import.error.event_json", &[("day", "1"), ("field", "date")]),
            ("<schedule><day><room name=\"A\"><event guid=\"0a5e0b5c-9a43-4d8b-8a0b-2f3e5a6b7c8d\"><title>T</title><date>2027-06-10T10:00:00+02:00</date><duration>25:61:00:00</duration></event></room></day></schedule>", "schedule.import.error.event_xml", &[("line", "1"), ("event", "1"), ("field", "duration")]),
        ];
        for (content, key, args) in cases {
            let (status, body) = import(&app, &admin, &[("content", content), ("apply", "true")]).await;
            let err = &body["InvalidWith"];
            assert_eq!((status, err["field"].as_str(), err["key"].as_str()), (422, Some("file"), Some(key)), "[{}] {body}", app.engine);
            for (name, value) in args {
                let named = err["args"].as_array().unwrap().iter().any(|a| a[0] == *name && a[1] == *value);
                assert!(named, "{key} names {name} = {value}: {body}");
            }
        }
        // A file nested a thousand deep is refused before parsing (it overflowed the stack and
        // ended the server); years out of this century are refused, not exported.
        let deep = format!("<schedule>{}{}</schedule>", "<a>".repeat(1000), "</a>".repeat(1000));
        let (status, body) = import(&app, &admin, &[("content", &deep)]).await;
        assert_eq!((status, body["InvalidWith"]["key"].as_str()), (422, Some("schedule.import.error.too_deep")), "{body}");
        for year in ["0000", "9999"] {
            let typo = pretalx.replacen("\"date\": \"2020-12-14T", &format!("\"date\": \"{year}-12-14T"), 1);
            let (status, body) = import(&app, &admin, &[("content", &typo)]).await;
            assert_eq!((status, body["InvalidWith"]["key"].as_str()), (422, Some("schedule.import.error.event_json")), "[{}] {year}: {body}", app.engine);
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM conferences").await, count, "nothing half-imported");
        let (status, _) = app.get_text("/schedule.json").await;
        assert_eq!(status, 200, "the server is still up");
        // Over the request limit: refused unread.
        let huge = "x".repeat(2 * 1024 * 1024);
        let (status, _) = import(&app, &admin, &[("content", &huge)]).await;
        assert_eq!(status, 413);
        let (status, body) = import(&app, &admin, &[]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("schedule.import.error.nothing")));
    })
    .await;
}

/// A local pretalx: `/schedule.json`, a redirect to it, an answer too large, a 404.
async fn pretalx_server(body: &'static str) -> std::net::SocketAddr {
    use axum::{response::Redirect, routing::get, Router};
    let app = Router::new()
        .route("/democon/schedule.json", get(move || async move { body }))
        .route(
            "/moved",
            get(|| async { Redirect::temporary("/democon/schedule.json") }),
        )
        .route("/huge.json", get(|| async { "x".repeat(11 * 1024 * 1024) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn imports_from_a_url_are_bounded_and_the_periodic_import_runs_once_per_turn() {
    let pretalx = pretalx_server(include_str!("../schedule/c3voc/pretalx-democon.json")).await;
    let url = format!("http://{pretalx}/democon/schedule.json");
    on_each_engine(&[("SCHEDULE_IMPORT_URL", url.as_str()), ("SCHEDULE_IMPORT_MINUTES", "60")], |app| async move {
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        for (path, key) in [
            ("/moved", None),
            ("/huge.json", Some("outbound.error.too_large")),
            ("/nothing-here", Some("outbound.error.status")),
        ] {
            let url = format!("http://{pretalx}{path}");
            let (status, body) = import(&app, &admin, &[("url", &url)]).await;
            match key {
                // (the periodic import may have run first: then they are there already)
                None => assert_eq!((status, body["talks"].as_array().map(Vec::len)), (200, Some(36)), "[{}] a redirect followed: {body}", app.engine),
                Some(key) => assert_eq!((status, body["InvalidWith"]["key"].as_str()), (422, Some(key)), "[{}] {path}: {body}", app.engine),
            }
        }
        let one = r#"<schedule><day><room name="Salle B"><event guid="5b0f6d1e-6a43-4d8b-8a0b-2f3e5a6b7c8d"><title>Deux ans après</title><date>2022-12-14T10:00:00+01:00</date><duration>00:30</duration></event></room></day></schedule>"#;
        let (status, body) = import(&app, &admin, &[("content", one), ("file_name", "one.xml"), ("apply", "true"), ("remove_gone", "true")]).await;
        assert_eq!((status, count(&body, "Created"), count(&body, "Removed")), (200, Some(1), Some(0)), "[{}] another source's talks are not gone from this one: {body}", app.engine);
        let (_, json) = app.get_text("/schedule.json").await;
        assert_eq!(events(&serde_json::from_str(&json).unwrap()).len(), 37, "a talk two years apart: every talk still exported");
        for bad in ["file:///etc/passwd", "ftp://example.org/x", "http://user:pw@example.org/x"] {
            let (status, body) = import(&app, &admin, &[("url", bad)]).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("outbound.error.url")), "{bad}");
        }

        // The periodic import: three passes at once (three instances' jobs), one import.
        tessera::db_run!(app.db(), pool => sqlx::query("DELETE FROM schedule_imports").execute(pool).await.map(|_| ())).unwrap();
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE job_leases SET lease_until = $1 WHERE name = 'schedule_import'").bind(tessera::server::now() - chrono::Duration::minutes(1)).execute(pool).await.map(|_| ())).unwrap();
        let s = &app.state;
        let (a, b, c) = tokio::join!(
            tessera::schedule::service::run_periodic(s),
            tessera::schedule::service::run_periodic(s),
            tessera::schedule::service::run_periodic(s)
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok(), "{a:?} {b:?} {c:?}");
        assert_eq!(app.count("SELECT COUNT(*) FROM schedule_imports").await, 1, "[{}] one import per turn", app.engine);
        let (status, view) = app.call_as(&admin, "admin_schedule", &[]).await;
        assert_eq!((status, view["runs"][0]["by"].clone(), view["minutes"].as_i64()), (200, Value::Null, Some(60)), "{view}");
    })
    .await;
}

#[tokio::test]
async fn in_production_an_import_url_may_not_reach_this_machine_or_a_private_network() {
    let pretalx = pretalx_server("{}").await;
    on_each_engine(&crate::common::PRODUCTION, |app| async move {
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let here = format!("http://{pretalx}/democon/schedule.json");
        for url in std::iter::once(here).chain(crate::common::NOT_PUBLIC.map(String::from)) {
            let (status, body) = import(&app, &admin, &[("url", &url)]).await;
            assert_eq!(
                (status, body["Invalid"]["key"].as_str()),
                (422, Some("outbound.error.private_address")),
                "[{}] {url}: {body}",
                app.engine
            );
        }
    })
    .await;
}
