//! The logs on SQLite and PostgreSQL: the audit log filtered by actor, action, entity and date with
//! its meta as fields; the mail log shows a mail that failed, and "retry now" sends it.
use crate::common::on_each_engine;
use serde_json::Value;
use tessera::accounts::Role;
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

#[tokio::test]
async fn the_audit_log_is_filtered_and_a_failed_mail_is_retried() {
    on_each_engine(&[], |app| async move {
        let a_id = app.user("alice@example.org", PW, Role::Admin).await;
        app.user("bruno@example.org", PW, Role::Admin).await;
        let target = app.user("carla@example.org", PW, Role::User).await.to_string();
        let (alice, bruno) = (app.logged_in("alice@example.org", PW).await, app.logged_in("bruno@example.org", PW).await);
        assert_eq!(app.call_as(&alice, "admin_set_role", &[("user_id", &target), ("role", "STAFF_SCAN")]).await.0, 200);
        assert_eq!(app.call_as(&bruno, "admin_set_status", &[("user_id", &target), ("status", "DISABLED")]).await.0, 200);
        assert_eq!(app.call_as(&bruno, "admin_create_pass", &[]).await.0, 200);

        let log = |form: Vec<(&'static str, String)>| {
            let (app, alice) = (&app, &alice);
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.call_as(alice, "admin_audit_log", &form).await
            }
        };
        let (status, all) = log(vec![]).await;
        assert_eq!(status, 200, "{all}");
        assert_eq!(all.as_array().unwrap().len(), 3);
        let by_bruno = log(vec![("actor", "BRUNO".into())]).await.1;
        assert_eq!(by_bruno.as_array().unwrap().len(), 2, "[{}] {by_bruno}", app.engine);
        let roles = log(vec![("action", "CHANGE_ROLE".into())]).await.1;
        assert_eq!(roles.as_array().unwrap().len(), 1);
        let meta = &roles[0]["meta"];
        assert_eq!(meta, &serde_json::json!([["after", "STAFF_SCAN"], ["before", "USER"]]), "meta reads as fields");
        let on_carla = log(vec![("entity", target[..8].to_string())]).await.1;
        assert_eq!(on_carla.as_array().unwrap().len(), 2, "[{}] by entity id", app.engine);
        let today = tessera::server::now().with_timezone(&app.state.config.timezone).date_naive();
        let tomorrow = (today + chrono::Duration::days(1)).to_string();
        assert_eq!(log(vec![("from", today.to_string()), ("to", today.to_string())]).await.1.as_array().unwrap().len(), 3);
        assert_eq!(log(vec![("from", tomorrow)]).await.1.as_array().unwrap().len(), 0);
        let (status, body) = log(vec![("from", "demain".into())]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("from")));
        let (_, actions) = app.call_as(&alice, "admin_audit_actions", &[]).await;
        assert_eq!(actions, serde_json::json!(["CHANGE_ROLE", "CREATE_TICKET_TYPE", "DISABLE_USER"]));

        // A mail whose last attempt failed, waiting an hour for its next one.
        let mail = Uuid::new_v4();
        let now = tessera::server::now();
        tessera::db_run!(app.db(), pool => sqlx::query(
            "INSERT INTO outbox_emails (id, user_id, type, to_address, subject, body_text, status, attempts, next_attempt_at, last_error, created_at) \
             VALUES ($1, $2, 'TICKET_SENT', 'carla@example.org', 'Vos billets', 'Bonjour', 'PENDING', 3, $3, 'connection refused', $4)")
            .bind(mail).bind(a_id).bind(now + chrono::Duration::hours(1)).bind(now).execute(pool).await.map(|_| ())).unwrap();
        let (status, failed) = app.call_as(&alice, "admin_mail_log", &[("status", "FAILED")]).await;
        assert_eq!(status, 200);
        let row = failed.as_array().unwrap().iter().find(|m| m["id"] == mail.to_string()).expect("listed as failed").clone();
        assert_eq!((row["status"].as_str(), row["last_error"].as_str(), row["attempts"].as_i64()), (Some("FAILED"), Some("connection refused"), Some(3)));
        assert_eq!(app.call_as(&alice, "admin_retry_mail", &[("id", &mail.to_string())]).await.0, 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'RETRY_MAIL'").await, 1);
        // The worker picks it up at once and it goes out (to the dev mailbox here).
        let mut sent = false;
        for _ in 0..50 {
            if app.count("SELECT COUNT(*) FROM outbox_emails WHERE status = 'SENT' AND to_address = 'carla@example.org'").await == 1 {
                sent = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(sent, "[{}] the retried mail went out", app.engine);
        let (status, body): (u16, Value) = app.call_as(&alice, "admin_retry_mail", &[("id", &mail.to_string())]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("admin.error.mail_sent")));
    })
    .await;
}
