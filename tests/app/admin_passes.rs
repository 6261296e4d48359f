//! The passes editor on SQLite and PostgreSQL: one field per save, the capacity floor, two admins
//! editing the same pass, bad input refused on its field, and the audit log's before/after.
use crate::common::{on_each_engine, TestApp};
use serde_json::Value;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";

async fn day1(app: &TestApp, c: &reqwest::Client) -> Value {
    let (status, list) = app.call_as(c, "admin_passes", &[]).await;
    assert_eq!(status, 200);
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Pass Jour 1")
        .unwrap()
        .clone()
}

async fn save(
    app: &TestApp,
    c: &reqwest::Client,
    pass: &Value,
    field: &str,
    value: &str,
) -> (u16, Value) {
    let version = pass["version"].as_i64().unwrap().to_string();
    app.call_as(
        c,
        "admin_update_pass",
        &[
            ("id", pass["id"].as_str().unwrap()),
            ("field", field),
            ("value", value),
            ("version", &version),
        ],
    )
    .await
}

#[tokio::test]
async fn passes_are_edited_field_by_field_with_floor_conflicts_and_audit() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        app.user("other@example.org", PW, Role::Admin).await;
        let (a, b) = (app.logged_in("boss@example.org", PW).await, app.logged_in("other@example.org", PW).await);
        let pass = day1(&app, &a).await;
        assert_eq!(pass["valid_from"], "2027-06-10T00:00", "instants in the conference's time zone");

        // Price: exact cents from what an admin types; audited with before/after.
        let (status, saved) = save(&app, &a, &pass, "price", "75,50").await;
        assert_eq!((status, saved["price_cents"].as_i64()), (200, Some(7550)), "[{}] {saved}", app.engine);
        assert_eq!(saved["version"].as_i64(), Some(pass["version"].as_i64().unwrap() + 1));

        // The other admin still holds the old version: refused, nothing overwritten.
        let (status, body) = save(&app, &b, &pass, "price", "10").await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("admin.error.changed_meanwhile")), "[{}]", app.engine);
        assert_eq!(day1(&app, &b).await["price_cents"].as_i64(), Some(7550));

        // Capacity never below the seats sold or reserved.
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        let line = [tessera::ticketing::CartLine { ticket_type_id: pass["id"].as_str().unwrap().parse().unwrap(), quantity: "3".into() }];
        tessera::ticketing::service::create_pending_order(app.db(), &app.state.config, buyer, &line).await.unwrap();
        let fresh = day1(&app, &a).await;
        assert_eq!(fresh["reserved"].as_i64(), Some(3));
        let (status, body) = save(&app, &a, &fresh, "capacity", "2").await;
        assert_eq!((status, body["Invalid"]["field"].as_str(), body["Invalid"]["key"].as_str()), (422, Some("capacity"), Some("admin.error.capacity_floor")), "[{}]", app.engine);
        let (status, saved) = save(&app, &a, &fresh, "capacity", "3").await;
        assert_eq!((status, saved["capacity"].as_i64()), (200, Some(3)), "[{}] exactly the seats taken", app.engine);

        // Bad input is refused on its field and changes nothing.
        for (field, value, key) in [
            ("price", "douze", "admin.error.price_invalid"),
            ("price", "-5", "admin.error.price_invalid"),
            ("name", "  ", "admin.error.name_invalid"),
            ("currency", "euro", "admin.error.currency_invalid"),
            ("valid_until", "2027-06-09T10:00", "admin.error.end_before_start"),
            ("sales_end_at", "demain", "admin.error.datetime_invalid"),
            ("version", "7", "admin.error.field_unknown"),
        ] {
            let (status, body) = save(&app, &a, &saved, field, value).await;
            assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some(key)), "[{}] {field}={value}", app.engine);
        }
        assert_eq!(day1(&app, &a).await["version"], saved["version"], "no refused save bumped the version");

        // Active flag and validity window.
        let (status, off) = save(&app, &a, &saved, "is_active", "false").await;
        assert_eq!((status, off["is_active"].as_bool()), (200, Some(false)));
        let (status, later) = save(&app, &a, &off, "valid_until", "2027-06-10T20:00").await;
        assert_eq!((status, later["valid_until"].as_str()), (200, Some("2027-06-10T20:00")));

        let audit: Vec<(String, String)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT action, CAST(meta AS TEXT) FROM audit_logs WHERE entity_type = 'ticket_type' ORDER BY created_at")
            .fetch_all(pool).await).unwrap();
        let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(actions, ["UPDATE_PRICE", "UPDATE_QUOTA", "UPDATE_TICKET_TYPE", "UPDATE_TICKET_TYPE"], "[{}]", app.engine);
        let price: Value = serde_json::from_str(&audit[0].1).unwrap();
        assert_eq!((price["before"].as_i64(), price["after"].as_i64()), (Some(7000), Some(7550)));
        let quota: Value = serde_json::from_str(&audit[1].1).unwrap();
        assert_eq!((quota["before"].as_i64(), quota["after"].as_i64()), (Some(150), Some(3)));

        // A new pass starts off sale.
        let (status, created) = app.call_as(&a, "admin_create_pass", &[]).await;
        assert_eq!((status, created["is_active"].as_bool(), created["capacity"].as_i64()), (200, Some(false), Some(0)));
    })
    .await;
}
