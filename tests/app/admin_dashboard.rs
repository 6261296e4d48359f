//! The dashboard on SQLite and PostgreSQL: its figures come from real orders, check-ins and saved
//! talks, and its charts are SVG in the server's HTML (before any script runs).
use crate::common::{on_each_engine, TestApp};
use tessera::{
    accounts::Role,
    ticketing::{
        service::{create_pending_order, mark_paid},
        CartLine,
    },
};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

async fn buy(app: &TestApp, buyer: Uuid, pass: &str, quantity: &str) {
    let (type_id,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = $1").bind(pass).fetch_one(pool).await).unwrap();
    let lines = [CartLine {
        ticket_type_id: type_id,
        quantity: quantity.into(),
    }];
    let order = create_pending_order(app.db(), &app.state.config, buyer, &lines)
        .await
        .unwrap();
    let mut tx = app.db().begin().await.unwrap();
    mark_paid(&mut tx, &app.state.config, order).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_dashboard_draws_sales_fill_checkins_and_saved_talks() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let (_, empty) = app.call_as(&admin, "admin_dashboard", &[]).await;
        assert_eq!((empty["tickets"].as_i64(), empty["sales"].as_array().map(Vec::len)), (Some(0), Some(0)), "[{}] {empty}", app.engine);

        let ana = app.user("ana@example.org", PW, Role::User).await;
        let bob = app.user("bob@example.org", PW, Role::User).await;
        buy(&app, ana, "Pass 2 jours", "2").await;
        buy(&app, bob, "Pass Jour 1", "1").await;
        // One entry at 09:20 on day 1 (Paris), and two saves of one talk.
        let at = chrono::DateTime::parse_from_rfc3339("2027-06-10T09:20:00+02:00").unwrap().with_timezone(&chrono::Utc);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET status = 'USED', used_at = $1 WHERE user_id = $2").bind(at).bind(bob).execute(pool).await.map(|_| ())).unwrap();
        let (talk,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM conferences WHERE title LIKE 'Rust en production%'").fetch_one(pool).await).unwrap();
        for u in [ana, bob] {
            tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO user_program_items (user_id, conference_id, created_at) VALUES ($1, $2, $3)")
                .bind(u).bind(talk).bind(tessera::server::now()).execute(pool).await.map(|_| ())).unwrap();
        }

        // Bob's order used a voucher that took 15.05 off.
        let (status, made) = app.call_as(&admin, "admin_create_vouchers", &[("count", "1"), ("code", "FRIENDS-10"), ("tag", "")]).await;
        assert_eq!(status, 200, "[{}] {made}", app.engine);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET voucher_id = (SELECT id FROM vouchers WHERE code = 'FRIENDS-10'), discount_cents = 1505 WHERE user_id = $1")
            .bind(bob).execute(pool).await.map(|_| ())).unwrap();

        let (status, d) = app.call_as(&admin, "admin_dashboard", &[]).await;
        assert_eq!(status, 200, "[{}] {d}", app.engine);
        let (two_days, day1): (i64, i64) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT (SELECT price_cents FROM ticket_types WHERE name = 'Pass 2 jours'), (SELECT price_cents FROM ticket_types WHERE name = 'Pass Jour 1')")
            .fetch_one(pool).await).unwrap();
        assert_eq!(d["tickets"].as_i64(), Some(3));
        assert_eq!(d["revenue_cents"].as_i64(), Some(2 * two_days + day1), "[{}] exact cents", app.engine);
        assert_eq!(d["checked_in"].as_i64(), Some(1));
        assert_eq!((d["paid_orders"].as_i64(), d["voucher_orders"].as_i64(), d["discount_cents"].as_i64()), (Some(2), Some(1), Some(1505)), "[{}] {d}", app.engine);
        let today = tessera::server::now().with_timezone(&chrono_tz::Europe::Paris).date_naive().to_string();
        assert_eq!(d["sales"], serde_json::json!([{ "day": today, "tickets": 3, "revenue_cents": 2 * two_days + day1 }]));
        let fill = d["passes"].as_array().unwrap();
        let two = fill.iter().find(|p| p["name"] == "Pass 2 jours").unwrap();
        assert_eq!(two["sold"].as_i64(), Some(2));
        assert_eq!(d["checkins"], serde_json::json!([{ "day": "2027-06-10", "quarters": [["09:15:00", 1]] }]));
        assert_eq!(d["saved"][0]["saves"].as_i64(), Some(2));
        assert_eq!(d["saved"][0]["room"].as_str(), Some("Salle Lumière"));

        // The page: charts as SVG in the server's HTML.
        let html = admin.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
        for chart in ["tickets-per-day", "revenue-per-day", "fill", "checkins", "saved"] {
            assert!(html.contains(&format!("data-chart=\"{chart}\"")), "[{}] chart {chart}", app.engine);
        }
        let svg = html.find("<svg").map(|i| &html[i..(i + 200).min(html.len())]);
        assert!(html.matches("<svg").count() >= 5, "[{}] {svg:?}", app.engine);
        assert!(html.contains("data-pass=\"Pass 2 jours\" data-sold=\"2\""), "[{}] the fill bar of the two-day pass", app.engine);
        assert!(html.contains("data-saves=\"2\""));
        assert!(html.contains("data-figure=\"vouchers\" data-orders=\"1\" data-discount=\"1505\""), "[{}] the vouchers figure", app.engine);
    })
    .await;
}
