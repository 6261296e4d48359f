//! Personal data on SQLite and PostgreSQL: the export holds my data and nothing of anyone else;
//! deleting an account leaves no personal value of the person in any column of any table, keeps
//! paid orders whole and frees the address; new terms are accepted at login and marketing
//! consent keeps its history; the retention run on a clock moved past the window anonymises
//! exactly the inactive attendees, says beforehand what it will do, is idempotent, and two
//! instances running it at once do it once.
use crate::common::{field_error, on_each_engine, TestApp};
use chrono::{DateTime, Duration, Utc};
use tessera::{
    accounts::{service::NewUser, Role},
    privacy::service::{
        retention_plan, run_retention, scrub_erased_mail, RetentionOutcome, Trigger,
        EXPORTS_PER_HOUR, SYSTEM_ACTOR,
    },
    ticketing::{
        service::{create_pending_order, mark_paid},
        CartLine,
    },
};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// An account with a name and a phone of its own (so that a search for them finds only it).
async fn person(
    app: &TestApp,
    email: &str,
    first: &str,
    last: &str,
    phone: &str,
    role: Role,
) -> Uuid {
    let id = tessera::accounts::service::create_user(
        app.db(),
        NewUser {
            email,
            password: PW,
            role,
            first_name: Some(first),
            last_name: Some(last),
            verified: true,
        },
    )
    .await
    .unwrap();
    tessera::db_run!(app.db(), pool => sqlx::query("UPDATE profiles SET phone = $1 WHERE user_id = $2")
        .bind(phone).bind(id).execute(pool).await.map(|_| ())).unwrap();
    id
}

/// A paid order of `quantity` passes named `pass`, through the ordinary order functions.
async fn buy(app: &TestApp, buyer: Uuid, pass: &str, quantity: &str) -> Uuid {
    let lines = [CartLine {
        ticket_type_id: crate::common::pass(app, pass).await,
        quantity: quantity.into(),
    }];
    let order = create_pending_order(app.db(), &app.state.config, buyer, &lines)
        .await
        .unwrap();
    let mut tx = app.db().begin().await.unwrap();
    mark_paid(&mut tx, &app.state.config, order).await.unwrap();
    tx.commit().await.unwrap();
    order
}

/// Waits until the mail worker has sent every mail of the outbox (to the dev mailbox here).
async fn mails_sent(app: &TestApp) {
    for _ in 0..100 {
        if app
            .count("SELECT COUNT(*) FROM outbox_emails WHERE status = 'PENDING'")
            .await
            == 0
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("[{}] mails still waiting to be sent", app.engine);
}

/// The end of the demo conference (its last talk).
async fn event_end(app: &TestApp) -> DateTime<Utc> {
    let (end,): (DateTime<Utc>,) = tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT end_at FROM conferences ORDER BY end_at DESC LIMIT 1").fetch_one(pool).await)
    .unwrap();
    end
}

/// Counts the rows of a query with one bound id.
async fn count_for(app: &TestApp, sql: &str, id: Uuid) -> i64 {
    let (n,): (i64,) =
        tessera::db_run!(app.db(), pool => sqlx::query_as(sql).bind(id).fetch_one(pool).await)
            .unwrap();
    n
}

/// Every `table.column` of the live schema holding `needle` (case aside), read as text. Issued
/// invoices are left out: the law requires them kept as issued (10 years, Code de commerce
/// L123-22), buyer's name included; they hold no address, phone or email (tested below).
async fn where_found(app: &TestApp, needle: &str) -> Vec<String> {
    let pattern = format!("%{}%", needle.to_lowercase());
    let mut found = vec![];
    for (table, column) in app.db().schema_columns().await.unwrap() {
        if table == "invoices"
            && (column == "buyer_name" || column == "buyer")
            && !needle.contains(['@', '+'])
        {
            continue;
        }
        let sql = format!(
            "SELECT COUNT(*) FROM \"{table}\" WHERE LOWER(CAST(\"{column}\" AS TEXT)) LIKE $1"
        );
        let (n,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as(&sql).bind(&pattern).fetch_one(pool).await).unwrap();
        if n > 0 {
            found.push(format!("{table}.{column} ({n})"));
        }
    }
    found
}

/// Logs in with a plain form post; answers where the login sends the browser.
async fn login_location(app: &TestApp, email: &str, next: &str) -> String {
    let res = app
        .new_client()
        .post(app.url("/api/login"))
        .header(reqwest::header::ACCEPT, "text/html")
        .form(&[("email", email), ("password", PW), ("next", next)])
        .send()
        .await
        .expect("login answered");
    assert!(
        res.status().is_redirection(),
        "[{}] login of {email}: {}",
        app.engine,
        res.status()
    );
    res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_export_holds_my_data_and_nothing_of_anyone_else() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let ana = person(
            &app,
            "ana.export@example.org",
            "Anaelle",
            "Exportine",
            "+33611111111",
            Role::User,
        )
        .await;
        let bob = person(
            &app,
            "bob.other@example.org",
            "Bobbin",
            "Otherson",
            "+33622222222",
            Role::User,
        )
        .await;
        let mine = buy(&app, ana, "Pass Jour 1", "2").await;
        let theirs = buy(&app, bob, "Pass 2 jours", "1").await;
        app.user("boss@example.org", PW, Role::Admin).await;
        assert_eq!(
            app.get("/me/data.json").await.status().as_u16(),
            401,
            "[{}] not without a session",
            app.engine
        );

        let c = app.logged_in("ana.export@example.org", PW).await;
        let res = c.get(app.url("/me/data.json")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "[{}]", app.engine);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment"),
            "a file to keep"
        );
        let text = res.text().await.unwrap();
        let data: serde_json::Value = serde_json::from_str(&text).expect("the file parses");
        assert_eq!(data["format"], "tessera-personal-data/1");
        assert_eq!(data["user_id"], ana.to_string());
        assert_eq!(data["profile"]["email"], "ana.export@example.org");
        assert_eq!(
            (
                data["profile"]["first_name"].as_str(),
                data["profile"]["phone"].as_str()
            ),
            (Some("Anaelle"), Some("+33611111111"))
        );
        let orders = data["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 1, "[{}] {orders:?}", app.engine);
        assert_eq!(orders[0]["id"], mine.to_string());
        assert_eq!(orders[0]["status"], "PAID");
        assert_eq!(orders[0]["items"][0]["pass"], "Pass Jour 1");
        assert_eq!(orders[0]["items"][0]["quantity"], 2);
        assert_eq!(
            orders[0]["total_cents"],
            orders[0]["items"][0]["line_total_cents"]
        );
        let tickets = data["tickets"].as_array().unwrap();
        assert_eq!(tickets.len(), 2);
        assert!(tickets
            .iter()
            .all(|t| t["order_id"] == mine.to_string() && t["status"] == "VALID"));
        let sessions = data["sessions"].as_array().unwrap();
        assert!(
            sessions.iter().any(|s| s["user_agent"]
                .as_str()
                .is_some_and(|ua| ua.contains("tessera-tests"))),
            "[{}] this session",
            app.engine
        );
        for key in ["consents", "programme", "mails", "audit"] {
            assert!(data[key].is_array(), "[{}] {key}", app.engine);
        }
        for other in [
            bob.to_string(),
            theirs.to_string(),
            "bob.other@example.org".into(),
            "Bobbin".into(),
            "Otherson".into(),
            "+33622222222".into(),
        ] {
            assert!(
                !text.contains(&other),
                "[{}] my export holds {other}",
                app.engine
            );
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'EXPORT_PERSONAL_DATA'")
                .await,
            1,
            "[{}] audited",
            app.engine
        );

        // Another site cannot start the download.
        let res = c
            .get(app.url("/me/data.json"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 403);
        // Rate-limited.
        for _ in 1..EXPORTS_PER_HOUR {
            assert_eq!(
                c.get(app.url("/me/data.json"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
                200
            );
        }
        assert_eq!(
            c.get(app.url("/me/data.json"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            429,
            "[{}] {EXPORTS_PER_HOUR} an hour",
            app.engine
        );

        // An admin downloads a person's data (audited as theirs); nobody else may.
        let path = format!("/admin/privacy/export/{bob}");
        assert_eq!(
            c.get(app.url(&path))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            403
        );
        let admin = app.logged_in("boss@example.org", PW).await;
        let res = admin.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "[{}]", app.engine);
        let theirs_data: serde_json::Value = res.json().await.unwrap();
        assert_eq!(theirs_data["orders"][0]["id"], theirs.to_string());
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'EXPORT_PERSONAL_DATA'")
                .await,
            EXPORTS_PER_HOUR as i64 + 1
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_an_account_leaves_nothing_personal_and_keeps_the_accounts() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let admin = app.user("boss@example.org", PW, Role::Admin).await;
        let email = "zephyrine.quuxley@example.org";
        let needles = [email, "Zephyrine", "Quuxley", "+33611223344"];
        let zed = person(&app, email, "Zephyrine", "Quuxley", "+33611223344", Role::User).await;
        let order = buy(&app, zed, "Pass 2 jours", "2").await;
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET holder_name = 'Zephyrine Quuxley', holder_email = $1 WHERE user_id = $2")
            .bind(email).bind(zed).execute(pool).await.map(|_| ())).unwrap();
        // A saved talk, a calendar feed, a marketing consent, and audit entries naming her.
        let c = app.logged_in(email, PW).await;
        let talk = crate::personal_programme::talk(&app, "Rust en production").await;
        assert_eq!(crate::personal_programme::toggle(&app, &c, &talk, true).await.0, 200);
        let (_, programme) = app.call_as(&c, "my_programme", &[]).await;
        assert!(programme["feed_url"].is_string(), "[{}] {programme}", app.engine);
        assert_eq!(app.call_as(&c, "set_marketing_consent", &[("granted", "true")]).await.0, 200);
        {
            let mut tx = app.db().begin().await.unwrap();
            tessera::server::audit::audit(&mut tx, admin, "SCAN_SEARCH", "ticket", "search", serde_json::json!({ "query": "quuxley", "found": 1 })).await.unwrap();
            tessera::server::audit::audit(&mut tx, admin, "RESEND_TICKETS", "order", &order.to_string(), serde_json::json!({ "to": email })).await.unwrap();
            tx.commit().await.unwrap();
        }
        mails_sent(&app).await;
        for needle in needles {
            assert!(!where_found(&app, needle).await.is_empty(), "[{}] the search finds {needle} before", app.engine);
        }
        let total_before = count_for(&app, "SELECT total_cents FROM orders WHERE id = $1", order).await;
        let (sold_before,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT sold_count FROM ticket_types WHERE name = 'Pass 2 jours'").fetch_one(pool).await).unwrap();

        // The password first; then, holding valid tickets for the event to come, a confirmation.
        let (s, body) = app.call_as(&c, "delete_my_account", &[("password", "not my password at all")]).await;
        assert_eq!((s, field_error(&body).1.as_str()), (422, "accounts.error.password_wrong"), "[{}]", app.engine);
        let (_, status) = app.call_as(&c, "my_privacy", &[]).await;
        assert_eq!(status["tickets_at_risk"].as_i64(), Some(2), "[{}] {status}", app.engine);
        assert_eq!(status["marketing"], true);
        let (s, body) = app.call_as(&c, "delete_my_account", &[("password", PW)]).await;
        assert_eq!((s, field_error(&body)), (422, ("cancel_tickets".to_string(), "privacy.error.tickets_confirm".to_string())), "[{}] warned first", app.engine);
        let (s, body) = app.call_as(&c, "delete_my_account", &[("password", PW), ("cancel_tickets", "on")]).await;
        assert!(s < 400, "[{}] deletion answered {s} {body}", app.engine);

        // A last mail to the old address; once sent, its address goes too.
        mails_sent(&app).await;
        let (kind, text) = app.last_mail_to(email).await.expect("a last mail");
        assert_eq!(kind, "ACCOUNT_DELETED", "[{}]", app.engine);
        assert!(!text.contains("Zephyrine"));
        scrub_erased_mail(app.db(), tessera::server::now()).await.unwrap();

        // No personal value of hers in any column of any table.
        for needle in needles {
            let found = where_found(&app, needle).await;
            assert!(found.is_empty(), "[{}] {needle} survives in {found:?}", app.engine);
        }

        // She cannot log in, and her session is gone.
        let (s, body) = app.call("login", &[("email", email), ("password", PW)]).await;
        assert_eq!((s, field_error(&body).1.as_str()), (422, "accounts.error.bad_credentials"), "[{}]", app.engine);
        assert_eq!(c.get(app.url("/me/data.json")).send().await.unwrap().status().as_u16(), 401);

        // The paid order and its total unchanged, linked to the anonymised account; her tickets
        // canceled (no refund: the seats stay sold); consents and audit entries kept.
        let (user_id, status, total): (Uuid, String, i64) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT user_id, status, total_cents FROM orders WHERE id = $1").bind(order).fetch_one(pool).await).unwrap();
        assert_eq!((user_id, status.as_str(), total), (zed, "PAID", total_before), "[{}]", app.engine);
        assert_eq!(count_for(&app, "SELECT COUNT(*) FROM tickets WHERE user_id = $1 AND status = 'CANCELED'", zed).await, 2);
        let (sold_after,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT sold_count FROM ticket_types WHERE name = 'Pass 2 jours'").fetch_one(pool).await).unwrap();
        assert_eq!(sold_after, sold_before);
        assert_eq!(count_for(&app, "SELECT COUNT(*) FROM user_consents WHERE user_id = $1 AND user_agent IS NULL AND ip_hash IS NULL", zed).await, 1, "[{}] the proof, with the id only", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action IN ('SCAN_SEARCH', 'RESEND_TICKETS')").await, 2, "redacted, not deleted");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'DELETE_ACCOUNT'").await, 1);
        let (gone_email, deleted_at, anonymized_at): (String, Option<DateTime<Utc>>, Option<DateTime<Utc>>) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT email, deleted_at, anonymized_at FROM users WHERE id = $1").bind(zed).fetch_one(pool).await).unwrap();
        assert!(gone_email.ends_with("@invalid") && deleted_at.is_some() && anonymized_at.is_some(), "[{}] {gone_email}", app.engine);

        // The address signs up again, as a new account.
        let (s, _) = app.call("signup", &[("email", email), ("password", PW), ("terms", "on"), ("privacy", "on")]).await;
        assert!(s < 400, "[{}] signup answered {s}", app.engine);
        assert_eq!(count_for(&app, "SELECT COUNT(*) FROM users WHERE email = 'zephyrine.quuxley@example.org' AND id <> $1", zed).await, 1);

        // An admin erases an account on request (the same erasure), never an admin's.
        let vic = app.user("vic@example.org", PW, Role::User).await;
        let other_admin = app.user("other.boss@example.org", PW, Role::Admin).await;
        let boss = app.logged_in("boss@example.org", PW).await;
        let (s, body) = app.call_as(&boss, "erase_account", &[("user_id", &other_admin.to_string())]).await;
        assert_eq!((s, field_error(&body).1.as_str()), (422, "privacy.error.demote_first"), "[{}]", app.engine);
        let (s, body) = app.call_as(&boss, "delete_my_account", &[("password", PW)]).await;
        assert_eq!((s, field_error(&body).1.as_str()), (422, "privacy.error.demote_first"));
        let user = app.logged_in("vic@example.org", PW).await;
        assert_eq!(app.call_as(&user, "erase_account", &[("user_id", &admin.to_string())]).await.0, 403);
        assert_eq!(app.call_as(&boss, "erase_account", &[("user_id", &vic.to_string())]).await.0, 200);
        assert_eq!(app.call_as(&boss, "erase_account", &[("user_id", &vic.to_string())]).await.0, 404, "erased once");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'ERASE_ACCOUNT'").await, 1);
        assert_eq!(count_for(&app, "SELECT COUNT(*) FROM users WHERE id = $1 AND anonymized_at IS NOT NULL", vic).await, 1);
    })
    .await;
}

#[tokio::test]
async fn new_terms_are_accepted_at_login_and_marketing_consent_keeps_its_history() {
    on_each_engine(&[], |app| async move {
        let id = app.user("cleo@example.org", PW, Role::User).await;
        assert_eq!(login_location(&app, "cleo@example.org", "/me/tickets").await, "/me/tickets", "[{}] an account that never consented is not asked", app.engine);
        for kind in ["TERMS_ACCEPTED", "PRIVACY_ACCEPTED"] {
            tessera::db_run!(app.db(), pool => sqlx::query(
                "INSERT INTO user_consents (id, user_id, type, version, accepted_at) VALUES ($1, $2, $3, '2025-01', $4)")
                .bind(Uuid::new_v4()).bind(id).bind(kind).bind(tessera::server::now() - Duration::days(1)).execute(pool).await.map(|_| ())).unwrap();
        }
        assert_eq!(
            login_location(&app, "cleo@example.org", "/me/tickets").await,
            "/account/consent?next=/me/tickets",
            "[{}] accepted 2025-01, the current version is 2026-01",
            app.engine
        );
        let c = app.logged_in("cleo@example.org", PW).await;
        let (_, status) = app.call_as(&c, "my_privacy", &[]).await;
        assert_eq!((status["consent_required"].as_bool(), status["consent_version"].as_str()), (Some(true), Some("2026-01")), "[{}] {status}", app.engine);
        assert_eq!(app.call_as(&c, "accept_current_terms", &[]).await.0, 200);
        assert_eq!(app.call_as(&c, "accept_current_terms", &[]).await.0, 200);
        assert_eq!(count_for(&app, "SELECT COUNT(*) FROM user_consents WHERE user_id = $1 AND version = '2026-01'", id).await, 2, "[{}] accepted once", app.engine);
        assert_eq!(login_location(&app, "cleo@example.org", "/me/tickets").await, "/me/tickets");
        assert_eq!(app.call_as(&app.new_client(), "accept_current_terms", &[]).await.0, 401);

        // Marketing: given, given again (nothing new), withdrawn: two rows, the latest a withdrawal.
        for granted in ["true", "true", "false"] {
            assert_eq!(app.call_as(&c, "set_marketing_consent", &[("granted", granted)]).await.0, 200);
        }
        assert_eq!(count_for(&app, "SELECT COUNT(*) FROM user_consents WHERE user_id = $1 AND type = 'MARKETING_OPTIN'", id).await, 2, "[{}]", app.engine);
        let (_, status) = app.call_as(&c, "my_privacy", &[]).await;
        assert_eq!(status["marketing"], false);
        assert_eq!((status["consents"][0]["kind"].as_str(), status["consents"][0]["granted"].as_bool()), (Some("Marketing"), Some(false)), "[{}] newest first: {status}", app.engine);
    })
    .await;
}

#[tokio::test]
async fn retention_past_the_window_anonymises_exactly_the_inactive_attendees_once() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let admin = app.user("boss@example.org", PW, Role::Admin).await;
        let staff = app.user("door@example.org", PW, Role::StaffScan).await;
        let gone = person(&app, "gone@example.org", "Gaspard", "Oubliet", "+33633333333", Role::User).await;
        let back = app.user("back@example.org", PW, Role::User).await;
        let fresh = app.user("fresh@example.org", PW, Role::User).await;
        let (demo_attendee,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT id FROM users WHERE email = 'attendee@tessera.localhost'").fetch_one(pool).await).unwrap();
        let end = event_end(&app).await;
        let order = buy(&app, gone, "Pass Jour 1", "1").await;
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET holder_name = 'Gaspard Oubliet', holder_email = 'gone@example.org' WHERE user_id = $1")
            .bind(gone).execute(pool).await.map(|_| ())).unwrap();
        // One came back after the event, one signed up after it.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(end + Duration::days(1)).bind(back).execute(pool).await.map(|_| ())).unwrap();
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE users SET created_at = $1 WHERE id = $2")
            .bind(end + Duration::days(2)).bind(fresh).execute(pool).await.map(|_| ())).unwrap();
        // An order of 2016 with its Stripe references: its financial year ended over ten years ago.
        let old = Uuid::new_v4();
        let in_2016 = DateTime::parse_from_rfc3339("2016-03-01T10:00:00+01:00").unwrap().with_timezone(&Utc);
        tessera::db_run!(app.db(), pool => async {
            sqlx::query("INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at) VALUES ($1, $2, 'PAID', 5000, 'eur', $3, $3)")
                .bind(old).bind(back).bind(in_2016).execute(pool).await?;
            sqlx::query("INSERT INTO payments (id, order_id, provider, status, stripe_checkout_session_id, stripe_payment_intent_id, created_at, updated_at) \
                         VALUES ($1, $2, 'stripe', 'SUCCEEDED', 'cs_test_old', 'pi_test_old', $3, $3)")
                .bind(Uuid::new_v4()).bind(old).bind(in_2016).execute(pool).await.map(|_| ())
        }.await).unwrap();
        let boss = app.logged_in("boss@example.org", PW).await;
        let (_, before) = app.call_as(&boss, "admin_dashboard", &[]).await;
        mails_sent(&app).await;

        // Before the window has passed, nothing of the event is due.
        let early = retention_plan(app.db(), &app.state.config, end + Duration::days(89)).await.unwrap();
        assert_eq!((early.counts.accounts, early.counts.ticket_holders), (0, 0), "[{}]", app.engine);

        // Past it: the dry run says what the run then does.
        let t = end + Duration::days(91);
        let plan = retention_plan(app.db(), &app.state.config, t).await.unwrap();
        assert_eq!(plan.counts.accounts, 2, "[{}] gone and the demo attendee: {:?}", app.engine, plan.counts);
        assert_eq!(plan.counts.orders_reduced, 1);
        assert!(plan.counts.ticket_holders >= 1);
        let ran = run_retention(&app.state, t, false, Trigger::Admin(admin)).await.unwrap();
        assert_eq!(ran, RetentionOutcome::Ran(plan.counts.clone()), "[{}]", app.engine);

        let anonymised: Vec<(Uuid,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT id FROM users WHERE anonymized_at IS NOT NULL AND id <> $1").bind(SYSTEM_ACTOR).fetch_all(pool).await).unwrap();
        let mut anonymised: Vec<Uuid> = anonymised.into_iter().map(|r| r.0).collect();
        let mut expected = vec![gone, demo_attendee];
        anonymised.sort();
        expected.sort();
        assert_eq!(anonymised, expected, "[{}] exactly the inactive attendees", app.engine);
        for kept in [admin, staff, back, fresh] {
            assert_eq!(count_for(&app, "SELECT COUNT(*) FROM users WHERE id = $1 AND anonymized_at IS NULL AND deleted_at IS NULL", kept).await, 1);
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE holder_name IS NOT NULL OR holder_email IS NOT NULL").await, 0);
        for needle in ["gone@example.org", "Gaspard", "Oubliet", "+33633333333"] {
            let found = where_found(&app, needle).await;
            assert!(found.is_empty(), "[{}] {needle} survives in {found:?}", app.engine);
        }
        let (status, total, buyer): (String, i64, Uuid) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT status, total_cents, user_id FROM orders WHERE id = $1").bind(order).fetch_one(pool).await).unwrap();
        assert_eq!((status.as_str(), buyer), ("PAID", gone), "[{}] accounting kept, total {total}", app.engine);
        // The 2016 order: amounts, dates and ids only.
        let (owner, old_total): (Uuid, i64) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT user_id, total_cents FROM orders WHERE id = $1").bind(old).fetch_one(pool).await).unwrap();
        assert_eq!((owner, old_total), (SYSTEM_ACTOR, 5000), "[{}]", app.engine);
        assert_eq!(count_for(&app, "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND stripe_payment_intent_id IS NULL AND stripe_checkout_session_id IS NULL", old).await, 1);

        // Idempotent: a second run finds nothing left; each run is audited.
        let again = run_retention(&app.state, t, false, Trigger::Admin(admin)).await.unwrap();
        assert_eq!(again, RetentionOutcome::Ran(Default::default()), "[{}]", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'RETENTION_RUN'").await, 2);

        // The dashboard's figures are unchanged (the run ended the sessions it outlived: log in again).
        let boss = app.logged_in("boss@example.org", PW).await;
        let (_, after) = app.call_as(&boss, "admin_dashboard", &[]).await;
        for key in ["tickets", "revenue_cents", "checked_in", "sales", "passes"] {
            assert_eq!(after[key], before[key], "[{}] dashboard {key}", app.engine);
        }
        // The admin page's functions: admins only.
        let (s, history) = app.call_as(&boss, "retention_history", &[]).await;
        assert_eq!(s, 200);
        assert_eq!(history.as_array().unwrap().len(), 2);
        assert_eq!(history[1]["counts"]["accounts"].as_i64(), Some(2), "[{}] oldest last: {history}", app.engine);
        assert_eq!(history[1]["trigger"], "admin");
        let (s, overview) = app.call_as(&boss, "privacy_overview", &[]).await;
        assert_eq!(s, 200, "{overview}");
        assert_eq!(overview["retention_days_after_event"].as_i64(), Some(90));
        assert!(overview["last_run_at"].is_string());
        assert_eq!(app.call_as(&boss, "retention_dry_run", &[]).await.0, 200);
        let (s, body) = app.call_as(&boss, "retention_run_now", &[("confirm", "false")]).await;
        assert_eq!((s, field_error(&body).1.as_str()), (422, "privacy.error.confirm_required"));
        let user = app.logged_in("fresh@example.org", PW).await;
        for f in ["privacy_overview", "retention_dry_run", "retention_history"] {
            assert_eq!(app.call_as(&user, f, &[]).await.0, 403, "[{}] {f}", app.engine);
        }
        assert_eq!(app.call_as(&user, "retention_run_now", &[("confirm", "true")]).await.0, 403);
    })
    .await;
}

#[tokio::test]
async fn two_instances_running_the_job_at_once_do_it_once() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        for i in 0..3 {
            app.user(&format!("old{i}@example.org"), PW, Role::User).await;
        }
        // A second instance of the app on the same database.
        let other = tessera::server::prepare((*app.state.config).clone())
            .await
            .expect("a second instance");
        let t = event_end(&app).await + Duration::days(91);
        let (a, b) = tokio::join!(
            run_retention(&app.state, t, false, Trigger::Schedule),
            run_retention(&other, t, false, Trigger::Schedule),
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        let ran: Vec<_> = outcomes
            .iter()
            .filter_map(|o| match o {
                RetentionOutcome::Ran(counts) => Some(counts.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(ran.len(), 1, "[{}] one instance ran it: {outcomes:?}", app.engine);
        assert!(outcomes.contains(&RetentionOutcome::Skipped));
        assert_eq!(ran[0].accounts, 4, "[{}] three accounts and the demo attendee", app.engine);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE anonymized_at IS NOT NULL AND email <> 'system@invalid'").await,
            4
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'RETENTION_RUN'").await,
            1,
            "[{}] one run, one trace",
            app.engine
        );
        // The scheduled run is done for the day, whichever instance asks.
        for state in [&app.state, &other] {
            assert_eq!(
                run_retention(state, t + Duration::hours(1), false, Trigger::Schedule).await.unwrap(),
                RetentionOutcome::Skipped
            );
        }
    })
    .await;
}
