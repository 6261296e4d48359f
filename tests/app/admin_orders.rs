//! An order opened in the back office on SQLite and PostgreSQL: items, payments and tickets; the
//! tickets mail sent again; a QR code reissued so the old one no longer gets in; both audited.
use crate::common::on_each_engine;
use tessera::{
    accounts::Role,
    ticketing::{
        service::{create_pending_order, mark_paid, ticket_by_token, ticket_token},
        CartLine,
    },
};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

#[tokio::test]
async fn an_order_is_opened_its_tickets_resent_and_a_qr_code_reissued() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let (pass,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = 'Pass 2 jours'").fetch_one(pool).await).unwrap();
        let order = create_pending_order(app.db(), &app.state.config, buyer, &[CartLine { ticket_type_id: pass, quantity: "2".into() }]).await.unwrap();
        let mut tx = app.db().begin().await.unwrap();
        mark_paid(&mut tx, &app.state.config, order).await.unwrap();
        tx.commit().await.unwrap();
        let order_id = order.to_string();

        let (status, detail) = app.call_as(&admin, "admin_order_detail", &[("order_id", &order_id)]).await;
        assert_eq!(status, 200, "[{}] {detail}", app.engine);
        assert_eq!(detail["buyer_email"], "buyer@example.org");
        assert_eq!(detail["order"]["total_cents"].as_i64(), Some(24_000));
        assert_eq!(detail["order"]["items"][0]["quantity"].as_i64(), Some(2));
        let tickets = detail["tickets"].as_array().unwrap();
        assert_eq!(tickets.len(), 2);
        assert_eq!((tickets[0]["holder"].as_str(), tickets[0]["status"].as_str()), (Some("Test User"), Some("Valid")));

        // The list: found by the buyer's name, narrowed by the day it was placed (Paris time).
        let today = tessera::server::now().with_timezone(&chrono_tz::Europe::Paris).date_naive();
        let (yesterday, tomorrow) = (today.pred_opt().unwrap().to_string(), today.succ_opt().unwrap().to_string());
        let today = today.to_string();
        for (form, found) in [
            (vec![("query", "test user")], 1),
            (vec![("query", "nobody")], 0),
            (vec![("from", today.as_str()), ("to", today.as_str())], 1),
            (vec![("from", tomorrow.as_str())], 0),
            (vec![("to", yesterday.as_str())], 0),
            (vec![("status", "PAID"), ("from", yesterday.as_str())], 1),
        ] {
            let (status, list) = app.call_as(&admin, "admin_orders", &form).await;
            assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(found)), "[{}] {form:?}: {list}", app.engine);
        }
        let (status, body) = app.call_as(&admin, "admin_orders", &[("from", "31/12/2026")]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str(), body["Invalid"]["key"].as_str()), (422, Some("from"), Some("admin.error.date_invalid")));

        let mails = || app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'TICKET_SENT' AND to_address = 'buyer@example.org'");
        let before = mails().await;
        assert_eq!(app.call_as(&admin, "admin_resend_tickets", &[("order_id", &order_id)]).await.0, 200);
        assert_eq!(mails().await, before + 1, "[{}] the tickets mail goes out again", app.engine);

        // Reissue: the old QR text stops working, a new one works.
        let ticket: Uuid = tickets[0]["id"].as_str().unwrap().parse().unwrap();
        let (old_token,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_tokens WHERE ticket_id = $1 AND revoked_at IS NULL").bind(ticket).fetch_one(pool).await).unwrap();
        let old = ticket_token(&app.state.config, old_token);
        assert_eq!(ticket_by_token(app.db(), &old).await.unwrap(), Some(ticket));
        assert_eq!(app.call_as(&admin, "admin_reissue_ticket", &[("ticket_id", &ticket.to_string())]).await.0, 200);
        assert_eq!(ticket_by_token(app.db(), &old).await.unwrap(), None, "[{}] the old code is refused", app.engine);
        let (new_token,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_tokens WHERE ticket_id = $1 AND revoked_at IS NULL").bind(ticket).fetch_one(pool).await).unwrap();
        assert_eq!(ticket_by_token(app.db(), &ticket_token(&app.state.config, new_token)).await.unwrap(), Some(ticket));

        let actions: Vec<(String,)> = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT action FROM audit_logs WHERE action <> 'ISSUE_INVOICE' ORDER BY created_at").fetch_all(pool).await).unwrap();
        assert_eq!(actions.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["RESEND_TICKETS", "REISSUE_TICKET"]);

        // A canceled ticket is not reissued; an order without valid tickets is not resent.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET status = 'CANCELED' WHERE order_id = $1").bind(order).execute(pool).await.map(|_| ())).unwrap();
        let (status, body) = app.call_as(&admin, "admin_reissue_ticket", &[("ticket_id", &ticket.to_string())]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("admin.error.ticket_canceled")));
        let (status, body) = app.call_as(&admin, "admin_resend_tickets", &[("order_id", &order_id)]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("admin.error.no_tickets")), "[{}]", app.engine);

        // An order that used a voucher shows its code and the discount, in the list and opened.
        let (_, list) = app.call_as(&admin, "admin_orders", &[("query", &order_id)]).await;
        assert_eq!((list[0]["voucher_code"].clone(), list[0]["discount_cents"].as_i64()), (serde_json::Value::Null, Some(0)), "[{}] {list}", app.engine);
        let (status, made) = app.call_as(&admin, "admin_create_vouchers", &[("count", "1"), ("code", "FRIENDS-10"), ("tag", "")]).await;
        assert_eq!(status, 200, "[{}] {made}", app.engine);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET voucher_id = (SELECT id FROM vouchers WHERE code = 'FRIENDS-10'), discount_cents = 2400 WHERE id = $1")
            .bind(order).execute(pool).await.map(|_| ())).unwrap();
        let (_, list) = app.call_as(&admin, "admin_orders", &[("query", &order_id)]).await;
        assert_eq!((list[0]["voucher_code"].as_str(), list[0]["discount_cents"].as_i64()), (Some("FRIENDS-10"), Some(2400)), "[{}] {list}", app.engine);
        let (_, detail) = app.call_as(&admin, "admin_order_detail", &[("order_id", &order_id)]).await;
        assert_eq!((detail["order"]["voucher_code"].as_str(), detail["order"]["discount_cents"].as_i64()), (Some("FRIENDS-10"), Some(2400)), "[{}] {detail}", app.engine);
    })
    .await;
}
