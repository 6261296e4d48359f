//! Door scanning on SQLite and PostgreSQL: one entry per ticket under 50 parallel scans, the
//! validity window at its edges, every refusal with its reason, undo rules, the role guard, and an
//! audit line for every attempt.
use crate::common::{on_each_engine, TestApp};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::sync::Arc;
use tessera::{
    accounts::{AuthUser, Role},
    i18n::Locale,
    scanning::{
        service::{redeem, Key},
        Outcome,
    },
    ticketing::{
        service::{create_pending_order, mark_paid, ticket_token},
        CartLine,
    },
};
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// A pass valid from `from` to `until`; returns its id.
async fn pass(app: &TestApp, name: &str, from: DateTime<Utc>, until: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    let now = tessera::server::now();
    tessera::db_run!(app.db(), pool => sqlx::query(
        "INSERT INTO ticket_types (id, name, price_cents, currency, capacity, is_active, valid_from, valid_until, created_at, updated_at) \
         VALUES ($1, $2, 5000, 'eur', 500, $3, $4, $5, $6, $6)")
        .bind(id).bind(name).bind(true).bind(from).bind(until).bind(now).execute(pool).await.map(|_| ())).unwrap();
    id
}

/// A pass valid all of today and tomorrow (around the real clock).
async fn todays_pass(app: &TestApp) -> Uuid {
    let now = tessera::server::now();
    pass(
        app,
        "Pass du jour",
        now - Duration::hours(2),
        now + Duration::hours(20),
    )
    .await
}

/// `user` buys `n` tickets of `pass` through the ordinary order functions; returns their QR tokens.
async fn buy(app: &TestApp, user: Uuid, pass: Uuid, n: usize) -> Vec<String> {
    let config = &app.state.config;
    let line = [CartLine {
        ticket_type_id: pass,
        quantity: n.to_string(),
    }];
    let order = create_pending_order(app.db(), config, user, &line)
        .await
        .unwrap();
    let mut tx = app.db().begin().await.unwrap();
    mark_paid(&mut tx, config, order).await.unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<(Uuid,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT k.id FROM ticket_tokens k JOIN tickets t ON t.id = k.ticket_id WHERE t.order_id = $1 AND k.revoked_at IS NULL ORDER BY t.id")
        .bind(order).fetch_all(pool).await).unwrap();
    ids.iter().map(|(id,)| ticket_token(config, *id)).collect()
}

async fn scan(app: &TestApp, c: &reqwest::Client, token: &str) -> (u16, Value) {
    app.call_as(
        c,
        "scan_redeem",
        &[("token", token), ("scan_id", &Uuid::new_v4().to_string())],
    )
    .await
}

async fn staff_user(app: &TestApp, id: Uuid) -> AuthUser {
    let (email, role): (String, String) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT email, role FROM users WHERE id = $1").bind(id).fetch_one(pool).await).unwrap();
    AuthUser {
        id,
        email,
        role: role.parse().unwrap(),
        first_name: None,
        last_name: None,
        verified: true,
        locale: Locale::Fr,
    }
}

#[tokio::test]
async fn fifty_parallel_scans_of_one_ticket_let_exactly_one_person_in() {
    on_each_engine(&[], |app| async move {
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        let today = todays_pass(&app).await;
        let token = buy(&app, buyer, today, 1).await.remove(0);
        let mut doors = vec![];
        for i in 0..5 {
            let email = format!("door{i}@example.org");
            app.user(&email, PW, Role::StaffScan).await;
            doors.push(app.logged_in(&email, PW).await);
        }
        let app = Arc::new(app);
        let mut tasks = vec![];
        for i in 0..50 {
            let (app, c, token) = (app.clone(), doors[i % 5].clone(), token.clone());
            tasks.push(tokio::spawn(async move { scan(&app, &c, &token).await }));
        }
        let mut outcomes = vec![];
        for t in tasks {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, 200, "{body}");
            outcomes.push(body["outcome"].as_str().unwrap().to_string());
        }
        let ok = outcomes.iter().filter(|o| *o == "Ok").count();
        let used = outcomes.iter().filter(|o| *o == "AlreadyUsed").count();
        assert_eq!((ok, used), (1, 49), "[{}] {outcomes:?}", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'USED' AND used_at IS NOT NULL AND used_by_user_id IS NOT NULL").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'SCAN_TICKET'").await, 50, "every attempt is audited");
        let metas: Vec<(String,)> = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT CAST(meta AS TEXT) FROM audit_logs WHERE action = 'SCAN_TICKET'").fetch_all(pool).await).unwrap();
        let ok_in_log = metas.iter().filter(|(m,)| serde_json::from_str::<Value>(m).unwrap()["outcome"] == "OK").count();
        assert_eq!(ok_in_log, 1, "[{}] the outcome is in the audit meta", app.engine);
    })
    .await;
}

#[tokio::test]
async fn the_validity_window_holds_at_its_edges_with_the_grace_before_doors_open() {
    on_each_engine(&[("SCAN_GRACE_MINUTES", "30")], |app| async move {
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        let staff = staff_user(
            &app,
            app.user("door@example.org", PW, Role::StaffScan).await,
        )
        .await;
        let opens = "2027-06-10T07:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let closes = "2027-06-10T21:59:00Z".parse::<DateTime<Utc>>().unwrap();
        let day = pass(&app, "Jour 1", opens, closes).await;
        let tokens = buy(&app, buyer, day, 5).await;
        let (config, db, staff) = (&app.state.config, app.db(), &staff);
        let at = |t: &str, when: DateTime<Utc>| {
            let t = t.to_string();
            async move {
                redeem(db, config, staff, Key::Token(&t), Uuid::new_v4(), when)
                    .await
                    .unwrap()
            }
        };
        let early = at(&tokens[0], opens - Duration::minutes(31)).await;
        assert_eq!(
            early.outcome,
            Outcome::NotValidToday,
            "[{}] 31 min before doors",
            app.engine
        );
        let days = early.valid_days.unwrap();
        assert_eq!(
            days.0.to_string(),
            "2027-06-10",
            "the answer says which day"
        );
        assert_eq!(
            at(&tokens[0], opens - Duration::minutes(30)).await.outcome,
            Outcome::Ok,
            "[{}] exactly at the grace",
            app.engine
        );
        assert_eq!(
            at(&tokens[1], closes - Duration::seconds(1)).await.outcome,
            Outcome::Ok,
            "[{}] last second",
            app.engine
        );
        assert_eq!(
            at(&tokens[2], closes).await.outcome,
            Outcome::NotValidToday,
            "[{}] at validUntil",
            app.engine
        );
        assert_eq!(
            at(&tokens[3], closes + Duration::days(1)).await.outcome,
            Outcome::NotValidToday,
            "[{}] next day",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM tickets WHERE status = 'USED'")
                .await,
            2,
            "refusals change nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn replaced_expired_canceled_refunded_and_unknown_tickets_are_refused_with_their_reason() {
    on_each_engine(&[], |app| async move {
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        app.user("door@example.org", PW, Role::StaffScan).await;
        let door = app.logged_in("door@example.org", PW).await;
        let today = todays_pass(&app).await;
        let tokens = buy(&app, buyer, today, 3).await;
        let config = app.state.config.clone();

        // Replaced: the old QR code is unknown, the new one gets in.
        let (ticket,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT ticket_id FROM ticket_tokens WHERE token_hash = $1")
            .bind(tessera::accounts::session::hash_token(&tokens[0])).fetch_one(pool).await).unwrap();
        let mut tx = app.db().begin().await.unwrap();
        tessera::ticketing::service::reissue_token(&mut tx, &config, ticket, None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(scan(&app, &door, &tokens[0]).await.1["outcome"], "Unknown", "[{}] replaced token", app.engine);
        let (new_id,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_tokens WHERE ticket_id = $1 AND revoked_at IS NULL").bind(ticket).fetch_one(pool).await).unwrap();
        let answer = scan(&app, &door, &ticket_token(&config, new_id)).await.1;
        assert_eq!((answer["outcome"].as_str(), answer["holder"].as_str(), answer["pass"].as_str()), (Some("Ok"), Some("Test User"), Some("Pass du jour")));

        // Expired token.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_tokens SET expires_at = $1 WHERE token_hash = $2")
            .bind(tessera::server::now() - Duration::minutes(1)).bind(tessera::accounts::session::hash_token(&tokens[1])).execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(scan(&app, &door, &tokens[1]).await.1["outcome"], "Unknown", "[{}] expired token", app.engine);

        // Canceled ticket, then the whole order refunded.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET status = 'CANCELED' WHERE id = (SELECT ticket_id FROM ticket_tokens WHERE token_hash = $1)")
            .bind(tessera::accounts::session::hash_token(&tokens[2])).execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(scan(&app, &door, &tokens[2]).await.1["outcome"], "Canceled", "[{}]", app.engine);
        let refunded_token = buy(&app, buyer, today, 1).await.remove(0);
        let (order,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT t.order_id FROM tickets t JOIN ticket_tokens k ON k.ticket_id = t.id WHERE k.token_hash = $1")
            .bind(tessera::accounts::session::hash_token(&refunded_token)).fetch_one(pool).await).unwrap();
        let mut tx = app.db().begin().await.unwrap();
        assert!(tessera::ticketing::service::refund_locally(&mut tx, &config, order).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(scan(&app, &door, &refunded_token).await.1["outcome"], "Refunded", "[{}]", app.engine);

        // Garbage and nothing.
        assert_eq!(scan(&app, &door, "https://example.org/not-a-ticket").await.1["outcome"], "Unknown");
        let (status, body) = scan(&app, &door, "   ").await;
        assert_eq!(status, 422);
        assert_eq!(body["Invalid"]["field"], "token");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'SCAN_TICKET'").await, 6, "[{}] every attempt with a code is audited", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'SCAN_TICKET' AND entity_id = 'unknown'").await, 3);
    })
    .await;
}

#[tokio::test]
async fn a_retried_scan_is_ok_again_but_a_second_scan_says_when_and_by_whom() {
    on_each_engine(&[], |app| async move {
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        app.user("door@example.org", PW, Role::StaffScan).await;
        app.user("door2@example.org", PW, Role::StaffScan).await;
        let (door, door2) = (
            app.logged_in("door@example.org", PW).await,
            app.logged_in("door2@example.org", PW).await,
        );
        let token = buy(&app, buyer, todays_pass(&app).await, 1).await.remove(0);
        let scan_id = Uuid::new_v4().to_string();
        let first = app
            .call_as(
                &door,
                "scan_redeem",
                &[("token", &token), ("scan_id", &scan_id)],
            )
            .await
            .1;
        assert_eq!(
            (first["outcome"].as_str(), first["repeated"].as_bool()),
            (Some("Ok"), Some(false))
        );
        assert!(
            first["undo_until"].is_string(),
            "staff may undo for a while"
        );
        // The answer was lost on a flaky network: the same attempt is retried.
        let retry = app
            .call_as(
                &door,
                "scan_redeem",
                &[("token", &token), ("scan_id", &scan_id)],
            )
            .await
            .1;
        assert_eq!(
            (retry["outcome"].as_str(), retry["repeated"].as_bool()),
            (Some("Ok"), Some(true)),
            "[{}]",
            app.engine
        );
        // A new scan, by the same staff member or anyone, is refused and says when and by whom.
        for c in [&door, &door2] {
            let again = scan(&app, c, &token).await.1;
            assert_eq!(again["outcome"], "AlreadyUsed", "[{}]", app.engine);
            assert_eq!(again["used_by"], "Test User");
            assert!(again["used_at_local"]
                .as_str()
                .is_some_and(|s| s.contains(':')));
        }
        // A stolen scan id does not turn someone else's refusal into an OK.
        let other = app
            .call_as(
                &door2,
                "scan_redeem",
                &[("token", &token), ("scan_id", &scan_id)],
            )
            .await
            .1;
        assert_eq!(other["outcome"], "AlreadyUsed");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM tickets WHERE status = 'USED'")
                .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_scan_is_undone_by_its_scanner_in_time_or_by_an_admin_any_time() {
    on_each_engine(&[("SCAN_UNDO_SECONDS", "120")], |app| async move {
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        app.user("door@example.org", PW, Role::StaffScan).await;
        app.user("door2@example.org", PW, Role::StaffScan).await;
        let admin_id = app.user("admin@example.org", PW, Role::Admin).await;
        let (door, door2, admin) = (
            app.logged_in("door@example.org", PW).await,
            app.logged_in("door2@example.org", PW).await,
            app.logged_in("admin@example.org", PW).await,
        );
        let token = buy(&app, buyer, todays_pass(&app).await, 1).await.remove(0);
        let ticket = scan(&app, &door, &token).await.1["ticket_id"].as_str().unwrap().to_string();
        assert_eq!(app.call_as(&door2, "scan_undo", &[("ticket_id", &ticket)]).await.0, 403, "[{}] not yours", app.engine);
        assert_eq!(app.call_as(&door, "scan_undo", &[("ticket_id", &ticket)]).await.0, 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets WHERE status = 'VALID' AND used_at IS NULL AND used_by_user_id IS NULL").await, 1);
        let (status, body) = app.call_as(&door, "scan_undo", &[("ticket_id", &ticket)]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("scan.error.not_used")));

        // In again; ten minutes later, too late for the scanner, not for an admin.
        assert_eq!(scan(&app, &door, &token).await.1["outcome"], "Ok", "[{}] in again after the undo", app.engine);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET used_at = $1").bind(tessera::server::now() - Duration::minutes(10)).execute(pool).await.map(|_| ())).unwrap();
        // (Each entry is a row of `checkins` since check-in lists: its time is what undo reads.)
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE checkins SET at = $1").bind(tessera::server::now() - Duration::minutes(10)).execute(pool).await.map(|_| ())).unwrap();
        let (status, body) = app.call_as(&door, "scan_undo", &[("ticket_id", &ticket)]).await;
        assert_eq!((status, body["Invalid"]["key"].as_str()), (422, Some("scan.error.undo_too_late")), "[{}]", app.engine);
        assert_eq!(app.call_as(&admin, "scan_undo", &[("ticket_id", &ticket)]).await.0, 200);
        let undos: Vec<(Uuid, String)> = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT actor_user_id, entity_id FROM audit_logs WHERE action = 'UNDO_SCAN' ORDER BY created_at").fetch_all(pool).await).unwrap();
        assert_eq!(undos.len(), 2);
        assert_eq!(undos[1], (admin_id, ticket.clone()));
    })
    .await;
}

#[tokio::test]
async fn the_door_is_for_staff_and_admins_only() {
    on_each_engine(&[], |app| async move {
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        app.user("door@example.org", PW, Role::StaffScan).await;
        app.user("admin@example.org", PW, Role::Admin).await;
        let token = buy(&app, buyer, todays_pass(&app).await, 1).await.remove(0);
        let id = Uuid::new_v4().to_string();
        let calls: [(&str, Vec<(&str, &str)>); 5] = [
            ("scan_redeem", vec![("token", &token), ("scan_id", &id)]),
            (
                "scan_redeem_ticket",
                vec![("ticket_id", &id), ("scan_id", &id)],
            ),
            ("scan_undo", vec![("ticket_id", &id)]),
            ("scan_counters", vec![]),
            ("scan_search", vec![("query", "buyer")]),
        ];
        let user = app.logged_in("buyer@example.org", PW).await;
        for (endpoint, form) in &calls {
            assert_eq!(
                app.call_as(&app.new_client(), endpoint, form).await.0,
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
        assert_eq!(
            app.count("SELECT COUNT(*) FROM tickets WHERE status = 'USED'")
                .await,
            0,
            "the refused calls let nobody in"
        );
        // (Only the demo order's invoice was recorded.)
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action <> 'ISSUE_INVOICE'")
                .await,
            0
        );
        for email in ["door@example.org", "admin@example.org"] {
            let c = app.logged_in(email, PW).await;
            assert_eq!(
                app.call_as(&c, "scan_counters", &[]).await.0,
                200,
                "[{}] {email}",
                app.engine
            );
        }
        let (status, page) = app.get_text("/scan").await;
        assert_eq!(status, 200);
        assert!(
            page.contains("login-required"),
            "an anonymous visitor is asked to log in"
        );
    })
    .await;
}

#[tokio::test]
async fn counters_and_the_search_by_name_follow_the_door() {
    on_each_engine(&[], |app| async move {
        let buyer = app.user("buyer@example.org", PW, Role::User).await;
        app.user("door@example.org", PW, Role::StaffScan).await;
        let door = app.logged_in("door@example.org", PW).await;
        let today = todays_pass(&app).await;
        let tokens = buy(&app, buyer, today, 3).await;
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET holder_name = 'Zoé Lefèvre-Dupont', holder_email = 'zoe@example.org' WHERE id = (SELECT ticket_id FROM ticket_tokens WHERE token_hash = $1)")
            .bind(tessera::accounts::session::hash_token(&tokens[2])).execute(pool).await.map(|_| ())).unwrap();
        scan(&app, &door, &tokens[0]).await;
        let counts = app.call_as(&door, "scan_counters", &[]).await.1;
        let row = counts.as_array().unwrap().iter().find(|c| c["pass"] == "Pass du jour").unwrap().clone();
        assert_eq!((row["checked_in"].as_i64(), row["expected"].as_i64()), (Some(1), Some(3)), "[{}]", app.engine);

        let (status, body) = app.call_as(&door, "scan_search", &[("query", "z")]).await;
        assert_eq!((status, body["Invalid"]["field"].as_str()), (422, Some("query")));
        let found = app.call_as(&door, "scan_search", &[("query", "LEFÈVRE")]).await.1;
        let found = found.as_array().unwrap();
        let found_lower = app.call_as(&door, "scan_search", &[("query", "zoé")]).await.1;
        assert_eq!(found_lower.as_array().unwrap().len(), 1, "[{}] by first name", app.engine);
        assert!(found.len() <= 1);
        let zoe = found_lower[0].clone();
        assert_eq!((zoe["holder"].as_str(), zoe["status"].as_str()), (Some("Zoé Lefèvre-Dupont"), Some("Valid")));
        let by_email = app.call_as(&door, "scan_search", &[("query", "buyer@")]).await.1;
        assert_eq!(by_email.as_array().unwrap().len(), 3, "[{}] every ticket the buyer bought", app.engine);

        let ticket = zoe["ticket_id"].as_str().unwrap();
        let answer = app.call_as(&door, "scan_redeem_ticket", &[("ticket_id", ticket), ("scan_id", &Uuid::new_v4().to_string())]).await.1;
        assert_eq!((answer["outcome"].as_str(), answer["holder"].as_str()), (Some("Ok"), Some("Zoé Lefèvre-Dupont")));
        let metas: Vec<(String,)> = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT CAST(meta AS TEXT) FROM audit_logs WHERE action = 'SCAN_TICKET'").fetch_all(pool).await).unwrap();
        let manual = metas.iter().filter(|(m,)| serde_json::from_str::<Value>(m).unwrap()["manual"] == true).count();
        assert_eq!(manual, 1, "[{}] the hand entry is audited as manual", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'SCAN_SEARCH'").await, 3);
        let counts = app.call_as(&door, "scan_counters", &[]).await.1;
        let row = counts.as_array().unwrap().iter().find(|c| c["pass"] == "Pass du jour").unwrap().clone();
        assert_eq!(row["checked_in"].as_i64(), Some(2));
    })
    .await;
}
