//! CSV exports on SQLite and PostgreSQL: names with accents, commas, quotes and line breaks come back
//! exactly when the file is parsed by a CSV reader; formulas are defused; admins only.
use crate::common::on_each_engine;
use tessera::{
    accounts::{service::NewUser, Role},
    ticketing::{
        service::{create_pending_order, mark_paid},
        CartLine,
    },
};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

#[tokio::test]
async fn exports_round_trip_awkward_names_and_are_for_admins_only() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let buyer = tessera::accounts::service::create_user(
            app.db(),
            NewUser { email: "zoe@example.org", password: PW, role: Role::User, first_name: Some("Zoé"), last_name: Some("Dupont, \"la Grande\""), verified: true },
        )
        .await
        .unwrap();
        app.user("boss@example.org", PW, Role::Admin).await;
        let (pass,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = 'Pass Jour 1'").fetch_one(pool).await).unwrap();
        let order = create_pending_order(app.db(), &app.state.config, buyer, &[CartLine { ticket_type_id: pass, quantity: "3".into() }]).await.unwrap();
        let mut tx = app.db().begin().await.unwrap();
        mark_paid(&mut tx, &app.state.config, order).await.unwrap();
        tx.commit().await.unwrap();
        let holders = ["Élodie \"Lolo\" Martin,\nchez ses parents", "=HYPERLINK(\"http://evil\")"];
        let tickets: Vec<(Uuid,)> = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM tickets WHERE order_id = $1 ORDER BY issued_at, id").bind(order).fetch_all(pool).await).unwrap();
        for (i, name) in holders.iter().enumerate() {
            tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET holder_name = $1, holder_email = 'h@example.org' WHERE id = $2").bind(*name).bind(tickets[i].0).execute(pool).await.map(|_| ())).unwrap();
        }

        for path in ["/admin/export/attendees.csv", "/admin/export/orders.csv"] {
            assert_eq!(app.new_client().get(app.url(path)).send().await.unwrap().status(), 401, "[{}] anonymous {path}", app.engine);
            let user = app.logged_in("zoe@example.org", PW).await;
            assert_eq!(user.get(app.url(path)).send().await.unwrap().status(), 403, "[{}] USER {path}", app.engine);
        }

        let admin = app.logged_in("boss@example.org", PW).await;
        let res = admin.get(app.url("/admin/export/attendees.csv")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(res.headers()["content-disposition"].to_str().unwrap().contains("attendees.csv"));
        let bytes = res.bytes().await.unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "a BOM for Excel");
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["ticket_id", "holder", "email", "buyer_email", "pass", "status", "checked_in_at", "order_id"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 3, "[{}]", app.engine);
        let names: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
        assert!(names.contains(&holders[0]), "[{}] {names:?}", app.engine);
        assert!(names.contains(&"'=HYPERLINK(\"http://evil\")"), "a formula is defused: {names:?}");
        assert!(names.contains(&"Zoé Dupont, \"la Grande\""), "the buyer's own name by default: {names:?}");
        assert!(rows.iter().all(|r| &r[4] == "Pass Jour 1" && &r[5] == "VALID" && r[7] == order.to_string()));

        // The order used a voucher: its code and the discount are exported with it.
        let (status, made) = app.call_as(&admin, "admin_create_vouchers", &[("count", "1"), ("code", "FRIENDS-10"), ("tag", "")]).await;
        assert_eq!(status, 200, "[{}] {made}", app.engine);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET voucher_id = (SELECT id FROM vouchers WHERE code = 'FRIENDS-10'), discount_cents = 1505 WHERE id = $1")
            .bind(order).execute(pool).await.map(|_| ())).unwrap();
        let orders = admin.get(app.url("/admin/export/orders.csv")).send().await.unwrap().bytes().await.unwrap();
        let mut reader = csv::Reader::from_reader(&orders[3..]);
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            ["order_id", "created_at", "buyer_email", "status", "total", "currency", "tickets", "stripe_payment_intent", "voucher", "discount"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let mine = rows.iter().find(|r| r[0] == order.to_string()).expect("the order is exported");
        assert_eq!((&mine[2], &mine[3], &mine[4], &mine[5], &mine[6]), ("zoe@example.org", "PAID", "210.00", "EUR", "3"), "[{}]", app.engine);
        assert_eq!((&mine[8], &mine[9]), ("FRIENDS-10", "15.05"), "[{}]", app.engine);

        // Compressed, as browsers ask for it: the streamed body still ends cleanly.
        let zipped = admin.get(app.url("/admin/export/attendees.csv")).header("accept-encoding", "gzip, br").send().await.unwrap();
        assert_eq!(zipped.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_string()).as_deref(), Some("br"));
        assert!(zipped.bytes().await.is_ok(), "[{}] the compressed stream completes", app.engine);

        // The list page's server function finds holders by name.
        let (status, found) = app.call_as(&admin, "admin_attendees", &[("query", "lolo")]).await;
        assert_eq!(status, 200);
        assert_eq!(found.as_array().unwrap().len(), 1, "[{}]", app.engine);

        // Every download is audited once its rows are out (the refused ones are not): who, which
        // file, how many rows.
        let audited = |file: &'static str| {
            format!("SELECT COUNT(*) FROM audit_logs WHERE action = 'EXPORT_PERSONAL_DATA' AND entity_id = '{file}' AND actor_user_id IS NOT NULL")
        };
        let mut counts = (0, 0);
        for _ in 0..100 {
            counts = (app.count(&audited("attendees.csv")).await, app.count(&audited("orders.csv")).await);
            if counts == (2, 1) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(counts, (2, 1), "[{}] two attendee lists and one order list were downloaded", app.engine);
    })
    .await;
}
