//! The programme editor on SQLite and PostgreSQL: one field per save, two admins on the same talk,
//! bad values refused on their field, deletion, and the audit log's before/after.
use crate::common::{on_each_engine, TestApp};
use serde_json::Value;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";

pub(crate) async fn talk(app: &TestApp, c: &reqwest::Client, title_start: &str) -> Value {
    let (status, list) = app.call_as(c, "admin_talks", &[]).await;
    assert_eq!(status, 200);
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"].as_str().unwrap().starts_with(title_start))
        .unwrap()
        .clone()
}

pub(crate) async fn save(
    app: &TestApp,
    c: &reqwest::Client,
    t: &Value,
    field: &str,
    value: &str,
) -> (u16, Value) {
    let version = t["version"].as_i64().unwrap().to_string();
    app.call_as(
        c,
        "admin_update_talk",
        &[
            ("id", t["id"].as_str().unwrap()),
            ("field", field),
            ("value", value),
            ("version", &version),
        ],
    )
    .await
}

#[tokio::test]
async fn talks_are_edited_in_place_with_conflicts_refusals_and_audit() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        app.user("other@example.org", PW, Role::Admin).await;
        let (a, b) = (app.logged_in("boss@example.org", PW).await, app.logged_in("other@example.org", PW).await);
        let rust = talk(&app, &a, "Rust en production").await;
        assert_eq!((rust["start_at"].as_str(), rust["location"].as_str()), (Some("2027-06-10T10:00"), Some("Salle Lumière")));

        let (status, moved) = save(&app, &a, &rust, "start_at", "2027-06-10T10:15").await;
        assert_eq!((status, moved["start_at"].as_str()), (200, Some("2027-06-10T10:15")), "[{}] {moved}", app.engine);
        let (status, body) = save(&app, &b, &rust, "title", "Écrasé ?").await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("admin.error.changed_meanwhile")), "[{}] the second admin is told", app.engine);
        assert!(talk(&app, &b, "Rust en production").await["title"].as_str().unwrap().starts_with("Rust"), "nothing overwritten");

        for (field, value, key) in [
            ("end_at", "2027-06-10T10:00", "admin.error.end_before_start"),
            ("start_at", "demain", "admin.error.datetime_invalid"),
            ("title", "   ", "admin.error.required"),
            ("version", "3", "admin.error.field_unknown"),
        ] {
            let (status, body) = save(&app, &a, &moved, field, value).await;
            assert_eq!((status, body["Invalid"]["field"].as_str(), body["Invalid"]["key"].as_str()), (422, Some(field).filter(|f| *f != "version").or(Some("field")), Some(key)), "[{}] {field}={value}", app.engine);
        }
        let (status, renamed) = save(&app, &a, &moved, "location", "Amphithéâtre").await;
        assert_eq!((status, renamed["location"].as_str()), (200, Some("Amphithéâtre")));

        // Deleting a saved talk: its saves go with it, and the log says how many attendees had it.
        let user = app.user("ana@example.org", PW, Role::User).await;
        let talk_id: uuid::Uuid = renamed["id"].as_str().unwrap().parse().unwrap();
        tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO user_program_items (user_id, conference_id, created_at) VALUES ($1, $2, $3)")
            .bind(user).bind(talk_id).bind(tessera::server::now()).execute(pool).await.map(|_| ())).unwrap();
        let fresh = talk(&app, &a, "Rust en production").await;
        assert_eq!(fresh["saved_by"].as_i64(), Some(1));
        let (status, _) = app.call_as(&a, "admin_delete_talk", &[("id", fresh["id"].as_str().unwrap()), ("version", &fresh["version"].to_string())]).await;
        assert_eq!(status, 200, "[{}]", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM user_program_items").await, 0);
        let (kind, body) = app.last_mail_to("ana@example.org").await.expect("the attendee is told");
        assert_eq!(kind, "PROGRAMME_CHANGED");
        assert!(body.contains("Rust en production") && body.contains("annulée (prévue jeudi 10 juin, 10:15–10:45)"), "[{}] {body}", app.engine);
        let (_, list) = app.call_as(&a, "admin_talks", &[]).await;
        assert_eq!(list.as_array().unwrap().len(), tessera::server::demo::talk_count() - 1);

        let audit: Vec<(String, String)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT action, CAST(meta AS TEXT) FROM audit_logs WHERE entity_type = 'talk' ORDER BY created_at")
            .fetch_all(pool).await).unwrap();
        let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(actions, ["UPDATE_TALK", "UPDATE_TALK", "DELETE_TALK"], "[{}]", app.engine);
        let first: Value = serde_json::from_str(&audit[0].1).unwrap();
        assert_eq!((first["field"].as_str(), first["before"].as_str(), first["after"].as_str()), (Some("start_at"), Some("2027-06-10T10:00"), Some("2027-06-10T10:15")));
        let gone: Value = serde_json::from_str(&audit[2].1).unwrap();
        assert_eq!(gone["saved_by"].as_i64(), Some(1));

        let (status, created) = app.call_as(&a, "admin_create_talk", &[]).await;
        assert_eq!((status, created["title"].as_str()), (200, Some("Nouvelle intervention")));
        // A copy keeps the time, room and description, marked as a copy in its title, and is audited.
        let (status, copy) = app.call_as(&a, "admin_duplicate_talk", &[("id", created["id"].as_str().unwrap())]).await;
        assert_eq!((status, copy["title"].as_str()), (200, Some("Nouvelle intervention (copie)")), "[{}] {copy}", app.engine);
        assert_ne!(copy["id"], created["id"]);
        assert_eq!((&copy["start_at"], &copy["end_at"], &copy["theme"]), (&created["start_at"], &created["end_at"], &created["theme"]));
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'CREATE_TALK'").await, 2);
        let (status, _) = app.call_as(&a, "admin_duplicate_talk", &[("id", &uuid::Uuid::new_v4().to_string())]).await;
        assert_eq!(status, 404);
    })
    .await;
}
