//! The vouchers' back office on SQLite and PostgreSQL: for admins only; a batch of generated codes
//! (distinct, from the alphabet without look-alikes) audited once and exported as CSV; bad input
//! refused on its field; one field saved with its version; an unused voucher deleted; the pages
//! drawn by the server.
use crate::common::{field_error, on_each_engine, TestApp};
use std::collections::HashSet;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";
const ALPHABET: &str = "ACDEFGHJKMNPQRTUVWXY34679";

/// Saves a voucher's `value` field.
async fn save_value(
    app: &TestApp,
    admin: &reqwest::Client,
    id: String,
    value: &str,
    version: String,
) -> (u16, serde_json::Value) {
    app.call_as(
        admin,
        "admin_update_voucher",
        &[
            ("id", &id),
            ("field", "value"),
            ("value", value),
            ("version", &version),
        ],
    )
    .await
}

#[tokio::test]
async fn vouchers_are_made_in_batches_exported_edited_and_deleted_by_admins_only() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        app.user("zoe@example.org", PW, Role::User).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let user = app.logged_in("zoe@example.org", PW).await;
        let anonymous = app.new_client();
        // The demo's own speakers' code is there already.
        let seeded = app.count("SELECT COUNT(*) FROM vouchers").await;

        // Refused to anyone but an admin, before anything is read or written.
        let someone = uuid::Uuid::new_v4().to_string();
        let calls: [(&str, Vec<(&str, &str)>); 4] = [
            ("admin_vouchers", vec![("tag", "speakers")]),
            (
                "admin_create_vouchers",
                vec![("count", "1"), ("code", ""), ("tag", "x")],
            ),
            (
                "admin_update_voucher",
                vec![
                    ("id", &someone),
                    ("field", "tag"),
                    ("value", "x"),
                    ("version", "1"),
                ],
            ),
            ("admin_waitlists", vec![]),
        ];
        for (endpoint, form) in &calls {
            assert_eq!(
                app.call_as(&anonymous, endpoint, form).await.0,
                401,
                "[{}] anonymous {endpoint}",
                app.engine
            );
            assert_eq!(
                app.call_as(&user, endpoint, form).await.0,
                403,
                "[{}] USER {endpoint}",
                app.engine
            );
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM vouchers").await, seeded);

        // A batch: 20 distinct generated codes under one tag, one audit entry.
        let (status, created) = app
            .call_as(
                &admin,
                "admin_create_vouchers",
                &[("count", "20"), ("code", ""), ("tag", "speakers")],
            )
            .await;
        assert_eq!(status, 200, "[{}] {created}", app.engine);
        let rows = created.as_array().unwrap();
        let codes: Vec<String> = rows
            .iter()
            .map(|v| v["code"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(codes.len(), 20);
        assert_eq!(
            codes.iter().collect::<HashSet<_>>().len(),
            20,
            "distinct codes: {codes:?}"
        );
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 10 && c.chars().all(|ch| ALPHABET.contains(ch))),
            "{codes:?}"
        );
        assert!(rows
            .iter()
            .all(|v| v["tag"] == "speakers" && v["uses"] == 0 && v["orders"] == 0));
        assert_eq!(
            app.count("SELECT COUNT(*) FROM vouchers WHERE tag = 'speakers'")
                .await,
            20
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'CREATE_VOUCHER'")
                .await,
            1,
            "[{}] one entry for the batch",
            app.engine
        );
        let (status, listed) = app
            .call_as(&admin, "admin_vouchers", &[("tag", "speakers")])
            .await;
        assert_eq!(
            (status, listed.as_array().map(Vec::len)),
            (200, Some(20)),
            "[{}]",
            app.engine
        );

        // The batch's CSV: a header and one line per code; nobody else gets it.
        let res = admin
            .get(app.url("/admin/export/vouchers.csv?tag=speakers"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        let text = res.text().await.unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 21, "[{}] {text}", app.engine);
        assert!(lines[0].starts_with("code,tag,"), "{}", lines[0]);
        assert!(
            codes.iter().all(|c| lines[1..]
                .iter()
                .any(|l| l.starts_with(&format!("{c},speakers,")))),
            "[{}] {text}",
            app.engine
        );
        for client in [&user, &anonymous] {
            let res = client
                .get(app.url("/admin/export/vouchers.csv?tag=speakers"))
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                404,
                "[{}] the export is not for them",
                app.engine
            );
        }

        // Bad input, refused on its field.
        for count in ["0", "501"] {
            let (status, body) = app
                .call_as(
                    &admin,
                    "admin_create_vouchers",
                    &[("count", count), ("code", ""), ("tag", "")],
                )
                .await;
            assert_eq!(
                (status, field_error(&body)),
                (422, ("count".into(), "vouchers.error.count".into())),
                "[{}] count {count}",
                app.engine
            );
        }
        let (status, typed) = app
            .call_as(
                &admin,
                "admin_create_vouchers",
                &[("count", "1"), ("code", "speaker-2027"), ("tag", "")],
            )
            .await;
        assert_eq!(status, 200, "[{}] {typed}", app.engine);
        let voucher = typed[0].clone();
        assert_eq!(
            (voucher["code"].as_str(), voucher["effect"].as_str()),
            (Some("SPEAKER-2027"), Some("Percent"))
        );
        let (status, body) = app
            .call_as(
                &admin,
                "admin_create_vouchers",
                &[("count", "1"), ("code", "SPEAKER-2027"), ("tag", "")],
            )
            .await;
        assert_eq!(
            (status, field_error(&body)),
            (422, ("code".into(), "vouchers.error.code_taken".into())),
            "[{}] {body}",
            app.engine
        );

        // One field per save, with the version the admin saw.
        let id = voucher["id"].as_str().unwrap().to_string();
        let version = voucher["version"].as_i64().unwrap().to_string();
        let update = |value: &'static str, version: String| {
            save_value(&app, &admin, id.clone(), value, version)
        };
        let (status, body) = update("150", version.clone()).await;
        assert_eq!(
            (status, field_error(&body)),
            (422, ("value".into(), "vouchers.error.percent".into())),
            "[{}] {body}",
            app.engine
        );
        let (status, saved) = update("20", version.clone()).await;
        assert_eq!(status, 200, "[{}] {saved}", app.engine);
        assert_eq!(saved["value"], "20");
        let version = saved["version"].as_i64().unwrap();
        assert!(
            version > voucher["version"].as_i64().unwrap(),
            "the version moves on"
        );
        let (status, body) = update("30", voucher["version"].as_i64().unwrap().to_string()).await;
        assert_eq!(
            (status, field_error(&body).1.as_str()),
            (422, "vouchers.error.changed_meanwhile"),
            "[{}] a stale version",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'UPDATE_VOUCHER'")
                .await,
            1
        );

        // The pages, drawn by the server: the batch's rows, and no waiting list yet.
        let html = admin
            .get(app.url("/admin/vouchers?tag=speakers"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!("data-voucher=\"{}\"", codes[0])),
            "[{}] the table lists the batch",
            app.engine
        );
        assert!(
            !html.contains("data-voucher=\"SPEAKER-2027\""),
            "[{}] filtered by tag",
            app.engine
        );
        assert!(
            html.contains("/admin/export/vouchers.csv?tag=speakers"),
            "[{}] the batch's CSV link",
            app.engine
        );
        let html = admin
            .get(app.url("/admin/waitlist"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("admin-waitlist") && html.contains("class=\"empty\""),
            "[{}] the empty state",
            app.engine
        );

        // An unused voucher is deleted (with the version it has now), and audited.
        let (status, body) = app
            .call_as(
                &admin,
                "admin_delete_voucher",
                &[("id", &id), ("version", &version.to_string())],
            )
            .await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM vouchers WHERE code = 'SPEAKER-2027'")
                .await,
            0,
            "[{}] deleted",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'DELETE_VOUCHER'")
                .await,
            1
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM vouchers").await,
            seeded + 20,
            "the batch is untouched"
        );
    })
    .await;
}
