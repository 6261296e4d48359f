//! Accounts over real HTTP on SQLite and PostgreSQL: sign-up and consents, verification, login,
//! sessions, reset, roles, disabling, rate limits, CSRF, headers, and mail over real SMTP.
use crate::common::{field_error, on_each_engine, smtp::SmtpSink, token_in, TestApp};
use serde_json::Value;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";

async fn signup(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("email", email),
        ("password", PW),
        ("first_name", "Zoé"),
        ("terms", "on"),
        ("privacy", "on"),
    ];
    form.extend_from_slice(extra);
    app.call_as(client, "signup", &form).await
}

async fn me(app: &TestApp, client: &reqwest::Client) -> Value {
    let (status, body) = app.call_as(client, "me", &[]).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn signup_records_consents_and_verification_confirms_the_address() {
    on_each_engine(&[], |app| async move {
        let client = app.new_client();
        let (status, _) = signup(&app, &client, "  Zoe@Example.ORG ", &[]).await;
        assert!(status < 400, "[{}] signup answered {status}", app.engine);
        assert!(me(&app, &client).await.is_null(), "not logged in before verifying");

        // Consents: terms and privacy, with the policy version, a keyed hash of the IP, the user agent.
        let rows: Vec<(String, String, Option<String>, Option<String>)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT c.type, c.version, c.ip_hash, c.user_agent FROM user_consents c JOIN users u ON u.id = c.user_id WHERE u.email = 'zoe@example.org' ORDER BY c.type")
            .fetch_all(pool).await).unwrap();
        let kinds: Vec<_> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(kinds, ["PRIVACY_ACCEPTED", "TERMS_ACCEPTED"], "[{}] marketing is opt-in", app.engine);
        for (_, version, ip_hash, ua) in &rows {
            assert_eq!(version, "2026-01");
            let h = ip_hash.as_deref().expect("ip hash");
            assert_eq!(h.len(), 64);
            assert!(!h.contains("127.0.0.1"));
            assert!(ua.is_some());
        }

        let (kind, body) = app.last_mail_to("zoe@example.org").await.expect("verification mail");
        assert_eq!(kind, "VERIFY_EMAIL");
        let token = token_in(&body, "/verify-email");
        let (status, _) = app.call_as(&client, "verify_email", &[("token", &token)]).await;
        assert!(status < 300, "[{}] verify answered {status}", app.engine);
        // The link proves the mailbox, not the password (someone else may have signed up with this
        // address): it logs no one in, and the reader logs in as usual.
        assert!(me(&app, &client).await.is_null(), "[{}] a verification link logs no one in", app.engine);
        let client = app.logged_in("zoe@example.org", PW).await;
        let user = me(&app, &client).await;
        assert_eq!(user["email"], "zoe@example.org");
        assert_eq!(user["verified"], true);
        // The link works once.
        let (status, body) = app.call_as(&app.new_client(), "verify_email", &[("token", &token)]).await;
        assert_eq!(status, 422);
        assert_eq!(field_error(&body).1, "accounts.error.token_invalid");
    })
    .await;
}

#[tokio::test]
async fn signup_never_tells_whether_an_address_is_taken() {
    on_each_engine(&[], |app| async move {
        let first = signup(
            &app,
            &app.new_client(),
            "alice@example.org",
            &[("marketing", "on")],
        )
        .await;
        let again = signup(&app, &app.new_client(), "ALICE@Example.org", &[]).await;
        assert_eq!(
            first, again,
            "[{}] same answer for a new and a taken address",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users").await,
            1,
            "[{}] one account, case-insensitively",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM user_consents WHERE type = 'MARKETING_OPTIN'")
                .await,
            1
        );
        let (kind, _) = app.last_mail_to("alice@example.org").await.unwrap();
        assert_eq!(kind, "ACCOUNT_EXISTS", "the owner is told instead");
    })
    .await;
}

#[tokio::test]
async fn bad_sign_up_input_is_refused_next_to_its_field() {
    on_each_engine(&[], |app| async move {
        let c = app.new_client();
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: [Case; 5] = [
            (
                &[
                    ("email", "nobody"),
                    ("password", PW),
                    ("terms", "on"),
                    ("privacy", "on"),
                ],
                "email",
                "accounts.error.email_invalid",
            ),
            (
                &[
                    ("email", "a@example.org"),
                    ("password", "short"),
                    ("terms", "on"),
                    ("privacy", "on"),
                ],
                "password",
                "accounts.error.password_short",
            ),
            (
                &[
                    ("email", "a@example.org"),
                    ("password", "azertyuiop"),
                    ("terms", "on"),
                    ("privacy", "on"),
                ],
                "password",
                "accounts.error.password_common",
            ),
            (
                &[
                    ("email", "a@example.org"),
                    ("password", PW),
                    ("privacy", "on"),
                ],
                "terms",
                "accounts.error.terms_required",
            ),
            (
                &[
                    ("email", "a@example.org"),
                    ("password", PW),
                    ("terms", "on"),
                ],
                "privacy",
                "accounts.error.privacy_required",
            ),
        ];
        for (form, field, key) in cases {
            let (status, body) = app.call_as(&c, "signup", form).await;
            assert_eq!(status, 422, "[{}] {form:?}", app.engine);
            assert_eq!(field_error(&body), (field.to_string(), key.to_string()));
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users").await,
            0,
            "nothing half-created"
        );
    })
    .await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    on_each_engine(&[], |app| async move {
        app.user("bob@example.org", PW, Role::User).await;
        let wrong = app
            .call_as(
                &app.new_client(),
                "login",
                &[
                    ("email", "bob@example.org"),
                    ("password", "not the password"),
                ],
            )
            .await;
        let unknown = app
            .call_as(
                &app.new_client(),
                "login",
                &[
                    ("email", "nobody@example.org"),
                    ("password", "not the password"),
                ],
            )
            .await;
        assert_eq!(wrong, unknown, "[{}]", app.engine);
        assert_eq!(wrong.0, 422);
        let client = app.logged_in("BOB@example.org", PW).await;
        assert_eq!(me(&app, &client).await["email"], "bob@example.org");
        // Logout ends the session on the server, not only in the cookie jar.
        let session_rows = app.count("SELECT COUNT(*) FROM sessions").await;
        app.call_as(&client, "logout", &[]).await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM sessions").await,
            session_rows - 1
        );
        assert!(me(&app, &client).await.is_null());
    })
    .await;
}

#[tokio::test]
async fn a_reset_link_works_once_ends_other_sessions_and_expires() {
    on_each_engine(&[], |app| async move {
        app.user("carol@example.org", PW, Role::User).await;
        let laptop = app.logged_in("carol@example.org", PW).await;
        let (status, _) = app.call("forgot_password", &[("email", "carol@example.org")]).await;
        assert!(status < 300);
        let (status_unknown, _) = app.call("forgot_password", &[("email", "nobody@example.org")]).await;
        assert_eq!(status, status_unknown, "[{}] reset does not reveal accounts", app.engine);
        let (kind, body) = app.last_mail_to("carol@example.org").await.unwrap();
        assert_eq!(kind, "RESET_PASSWORD");
        let token = token_in(&body, "/reset-password");

        let phone = app.new_client();
        let (status, body) = app.call_as(&phone, "reset_password", &[("token", &token), ("password", "short")]).await;
        assert_eq!((status, field_error(&body).0.as_str()), (422, "password"), "policy applies");
        let (status, _) = app.call_as(&phone, "reset_password", &[("token", &token), ("password", "a brand new passphrase")]).await;
        assert!(status < 300, "[{}] reset answered {status}", app.engine);
        assert_eq!(me(&app, &phone).await["email"], "carol@example.org", "logged in afresh");
        assert!(me(&app, &laptop).await.is_null(), "[{}] the other session ended", app.engine);
        let (status, body) = app.call_as(&app.new_client(), "reset_password", &[("token", &token), ("password", "yet another passphrase")]).await;
        assert_eq!((status, field_error(&body).1.as_str()), (422, "accounts.error.token_invalid"), "once only");
        app.logged_in("carol@example.org", "a brand new passphrase").await;

        // An expired link is refused.
        app.call("forgot_password", &[("email", "carol@example.org")]).await;
        let token = token_in(&app.last_mail_to("carol@example.org").await.unwrap().1, "/reset-password");
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE verification_tokens SET expires_at = $1 WHERE used_at IS NULL")
            .bind(tessera::server::now() - chrono::Duration::seconds(1)).execute(pool).await.map(|_| ())).unwrap();
        let (status, body) = app.call("reset_password", &[("token", &token), ("password", "yet another passphrase")]).await;
        assert_eq!((status, field_error(&body).1.as_str()), (422, "accounts.error.token_invalid"), "[{}] expired", app.engine);
    })
    .await;
}

#[tokio::test]
async fn roles_are_enforced_by_the_server() {
    on_each_engine(&[], |app| async move {
        let admin_id = app.user("admin@example.org", PW, Role::Admin).await;
        let user_id = app.user("user@example.org", PW, Role::User).await;
        app.user("staff@example.org", PW, Role::StaffScan).await;
        let id = user_id.to_string();
        let calls: [(&str, Vec<(&str, &str)>); 58] = [
            ("admin_users", vec![]),
            ("admin_set_role", vec![("user_id", &id), ("role", "ADMIN")]),
            ("admin_set_status", vec![("user_id", &id), ("status", "DISABLED")]),
            ("admin_audit_log", vec![]),
            ("admin_audit_actions", vec![]),
            ("admin_mail_log", vec![]),
            ("admin_retry_mail", vec![("id", &id)]),
            ("admin_orders", vec![]),
            ("admin_refund_order", vec![("order_id", &id)]),
            ("admin_passes", vec![]),
            ("admin_update_pass", vec![("id", &id), ("field", "capacity"), ("value", "0"), ("version", "1")]),
            ("admin_create_pass", vec![]),
            ("admin_attendees", vec![]),
            ("admin_talks", vec![]),
            ("admin_update_talk", vec![("id", &id), ("field", "title"), ("value", "x"), ("version", "1")]),
            ("admin_create_talk", vec![]),
            ("admin_delete_talk", vec![("id", &id), ("version", "1")]),
            ("admin_order_detail", vec![("order_id", &id)]),
            ("admin_resend_tickets", vec![("order_id", &id)]),
            ("admin_reissue_ticket", vec![("ticket_id", &id)]),
            ("admin_dashboard", vec![]),
            ("admin_duplicate_talk", vec![("id", &id)]),
            ("admin_vouchers", vec![]),
            ("admin_create_vouchers", vec![("count", "1"), ("code", ""), ("tag", "")]),
            ("admin_update_voucher", vec![("id", &id), ("field", "value"), ("value", "10"), ("version", "1")]),
            ("admin_delete_voucher", vec![("id", &id), ("version", "1")]),
            ("admin_voucher_passes", vec![]),
            ("admin_waitlists", vec![]),
            ("admin_waitlist_move_up", vec![("entry_id", &id)]),
            ("admin_waitlist_offer", vec![("entry_id", &id)]),
            ("admin_waitlist_auto", vec![("ticket_type_id", &id), ("auto", "false")]),
            ("admin_invoices", vec![]),
            ("admin_door", vec![]),
            ("admin_door_rotate_key", vec![]),
            ("admin_door_revoke_key", vec![("key_id", "1")]),
            ("admin_checkin_lists", vec![]),
            ("admin_checkin_list_save", vec![("name", "x"), ("rule", "DAILY"), ("passes", "all")]),
            ("admin_checkin_list_archive", vec![("list_id", &id), ("archived", "true")]),
            ("admin_checkin_arrivals", vec![("day", "")]),
            ("admin_talk_workshop", vec![("talk_id", &id), ("capacity", "12")]),
            ("admin_questions", vec![]),
            ("admin_question_save", vec![("kind", "TEXT"), ("label_fr", "x")]),
            ("admin_question_archive", vec![("id", &id), ("archived", "true")]),
            ("admin_refund_ticket", vec![("ticket_id", &id)]),
            ("admin_messages", vec![]),
            ("admin_message_preview", vec![("kind", "PRACTICAL"), ("subject_fr", "x"), ("body_fr", "x")]),
            ("admin_message_test", vec![("kind", "PRACTICAL"), ("subject_fr", "x"), ("body_fr", "x")]),
            ("admin_message_send", vec![("kind", "PRACTICAL"), ("subject_fr", "x"), ("body_fr", "x")]),
            ("admin_message_cancel", vec![("message_id", &id)]),
            ("admin_schedule", vec![]),
            ("admin_schedule_import", vec![("content", "{}")]),
            ("admin_api_tokens", vec![]),
            ("admin_api_token_create", vec![("name", "x"), ("scopes", "orders:read")]),
            ("admin_api_token_revoke", vec![("id", &id)]),
            ("admin_webhooks", vec![]),
            ("admin_webhook_create", vec![("url", "http://127.0.0.1:9/"), ("events", "order.paid")]),
            ("admin_webhook_disable", vec![("id", &id)]),
            ("admin_webhook_replay", vec![("delivery_id", &id)]),
        ];
        // Every admin server function the app registers is in the table: none can be forgotten.
        for (path, _) in leptos::server_fn::axum::server_fn_paths() {
            if let Some(name) = path.strip_prefix("/api/").filter(|n| n.starts_with("admin_")) {
                assert!(calls.iter().any(|(e, _)| *e == name), "{name} is missing from this table");
            }
        }
        let user = app.logged_in("user@example.org", PW).await;
        let staff = app.logged_in("staff@example.org", PW).await;
        for (endpoint, form) in &calls {
            assert_eq!(app.call_as(&app.new_client(), endpoint, form).await.0, 401, "[{}] anonymous {endpoint}", app.engine);
            assert_eq!(app.call_as(&user, endpoint, form).await.0, 403, "[{}] USER {endpoint}", app.engine);
            assert_eq!(app.call_as(&staff, endpoint, form).await.0, 403, "[{}] STAFF_SCAN {endpoint}", app.engine);
        }
        assert_eq!(me(&app, &user).await["role"], "User", "nothing changed");

        let admin = app.logged_in("admin@example.org", PW).await;
        let (status, list) = app.call_as(&admin, "admin_users", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), 3);
        let (status, _) = app.call_as(&admin, "admin_set_role", &[("user_id", &id), ("role", "STAFF_SCAN")]).await;
        assert_eq!(status, 200);
        let audit: Vec<(String, String, String)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT action, entity_id, CAST(meta AS TEXT) FROM audit_logs WHERE actor_user_id = $1").bind(admin_id).fetch_all(pool).await).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!((audit[0].0.as_str(), audit[0].1.as_str()), ("CHANGE_ROLE", id.as_str()));
        let meta: Value = serde_json::from_str(&audit[0].2).unwrap();
        assert_eq!((meta["before"].as_str(), meta["after"].as_str()), (Some("USER"), Some("STAFF_SCAN")));

        // The last admin cannot demote themself.
        let (status, body) = app.call_as(&admin, "admin_set_role", &[("user_id", &admin_id.to_string()), ("role", "USER")]).await;
        assert_eq!((status, field_error(&body).1.as_str()), (422, "admin.error.last_admin"), "[{}]", app.engine);
    })
    .await;
}

#[tokio::test]
async fn a_disabled_account_loses_its_sessions_and_cannot_log_in() {
    on_each_engine(&[], |app| async move {
        app.user("admin@example.org", PW, Role::Admin).await;
        let uid = app.user("dan@example.org", PW, Role::User).await;
        let dan = app.logged_in("dan@example.org", PW).await;
        let admin = app.logged_in("admin@example.org", PW).await;
        let (status, _) = app
            .call_as(
                &admin,
                "admin_set_status",
                &[("user_id", &uid.to_string()), ("status", "DISABLED")],
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            me(&app, &dan).await.is_null(),
            "[{}] the existing session stopped working",
            app.engine
        );
        let (status, body) = app
            .call_as(
                &app.new_client(),
                "login",
                &[("email", "dan@example.org"), ("password", PW)],
            )
            .await;
        assert_eq!(
            (status, field_error(&body).1.as_str()),
            (422, "accounts.error.bad_credentials")
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'DISABLE_USER'")
                .await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_can_be_listed_and_revoked() {
    on_each_engine(&[], |app| async move {
        app.user("eve@example.org", PW, Role::User).await;
        let a = app.logged_in("eve@example.org", PW).await;
        let b = app.logged_in("eve@example.org", PW).await;
        let (_, list) = app.call_as(&a, "my_sessions", &[]).await;
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), 2, "[{}]", app.engine);
        let other = list.iter().find(|s| s["current"] == false).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, _) = app.call_as(&a, "revoke_session", &[("id", &other)]).await;
        assert_eq!(status, 200);
        assert!(me(&app, &b).await.is_null());
        assert!(!me(&app, &a).await.is_null());
        let (status, _) = app.call_as(&a, "logout_everywhere", &[]).await;
        assert!(status < 400);
        assert!(me(&app, &a).await.is_null());
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    })
    .await;
}

#[tokio::test]
async fn profile_phone_is_normalised_and_bad_input_is_refused() {
    on_each_engine(&[], |app| async move {
        app.user("fay@example.org", PW, Role::User).await;
        let c = app.logged_in("fay@example.org", PW).await;
        let (status, _) = app
            .call_as(
                &c,
                "update_profile",
                &[
                    ("first_name", "Fay"),
                    ("last_name", "Éluard"),
                    ("phone", "06 12 34 56 78"),
                    ("locale", "en"),
                ],
            )
            .await;
        assert_eq!(status, 200);
        let (_, p) = app.call_as(&c, "my_profile", &[]).await;
        assert_eq!(
            (
                p["phone"].as_str(),
                p["locale"].as_str(),
                p["last_name"].as_str()
            ),
            (Some("+33612345678"), Some("En"), Some("Éluard"))
        );
        let (status, body) = app
            .call_as(
                &c,
                "update_profile",
                &[("phone", "call me"), ("locale", "en")],
            )
            .await;
        assert_eq!(
            (status, field_error(&body).0.as_str()),
            (422, "phone"),
            "[{}]",
            app.engine
        );
        let (_, p) = app.call_as(&c, "my_profile", &[]).await;
        assert_eq!(p["phone"].as_str(), Some("+33612345678"), "nothing lost");
        assert_eq!(
            app.call_as(&app.new_client(), "my_profile", &[]).await.0,
            401
        );

        // Email change goes through the new address.
        let (status, _) = app
            .call_as(
                &c,
                "change_email",
                &[("new_email", "fay@new.example"), ("password", PW)],
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            me(&app, &c).await["email"],
            "fay@example.org",
            "not changed before the link"
        );
        let token = token_in(
            &app.last_mail_to("fay@new.example").await.unwrap().1,
            "/verify-email",
        );
        app.call_as(&c, "verify_email", &[("token", &token)]).await;
        assert_eq!(me(&app, &c).await["email"], "fay@new.example");
    })
    .await;
}

/// One address (a venue's Wi-Fi, the Chromium suite) may log in successfully as often as it
/// likes; its failed attempts are what the address's budget counts (30 per 15 minutes).
#[tokio::test]
async fn an_address_is_limited_by_its_failed_logins_not_its_successful_ones() {
    on_each_engine(&[], |app| async move {
        app.user("venue@example.org", PW, Role::User).await;
        for i in 0..40 {
            let (status, body) = app
                .call_as(
                    &app.new_client(),
                    "login",
                    &[("email", "venue@example.org"), ("password", PW)],
                )
                .await;
            assert!(status < 300, "[{}] login {i}: {status} {body}", app.engine);
        }
        for i in 0..30 {
            let email = format!("nobody{i}@example.org");
            let (status, _) = app
                .call_as(
                    &app.new_client(),
                    "login",
                    &[("email", email.as_str()), ("password", "wrong wrong wrong")],
                )
                .await;
            assert_eq!(status, 422, "[{}] failed login {i}", app.engine);
        }
        let (status, _) = app
            .call_as(
                &app.new_client(),
                "login",
                &[("email", "venue@example.org"), ("password", PW)],
            )
            .await;
        assert_eq!(status, 429, "[{}] 30 failures from one address", app.engine);
    })
    .await;
}

#[tokio::test]
async fn logins_are_rate_limited_per_account_with_a_clear_wait() {
    on_each_engine(&[], |app| async move {
        app.user("gus@example.org", PW, Role::User).await;
        let c = app.new_client();
        for _ in 0..8 {
            assert_eq!(
                app.call_as(
                    &c,
                    "login",
                    &[
                        ("email", "gus@example.org"),
                        ("password", "wrong wrong wrong")
                    ]
                )
                .await
                .0,
                422
            );
        }
        let (status, body) = app
            .call_as(
                &c,
                "login",
                &[("email", "gus@example.org"), ("password", PW)],
            )
            .await;
        assert_eq!(status, 429, "[{}] {body}", app.engine);
        let minutes = body["RateLimited"]["minutes"].as_u64().unwrap();
        assert!((1..=15).contains(&minutes));
        let msg =
            tessera::error::AppError::RateLimited { minutes }.message(tessera::i18n::Locale::Fr);
        assert!(msg.contains(&format!("{minutes} minute")), "{msg}");
    })
    .await;
}

#[tokio::test]
async fn server_functions_refuse_cross_site_calls_and_pages_carry_security_headers() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let res = app
            .client
            .post(app.url("/api/login"))
            .header("origin", "https://evil.example")
            .form(&[("email", "admin@tessera.localhost"), ("password", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 403, "[{}]", app.engine);
        let res = app
            .client
            .post(app.url("/api/me"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 403);
        let res = app.client.get(app.url("/api/me")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 405);
        let res = app
            .client
            .post(app.url("/api/me"))
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);

        // A page rendered for its request (the anonymous programme, served from the page cache,
        // lists its scripts by hash instead: tests/app/page_cache.rs).
        let res = app.get("/tickets").await;
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(
            res.headers().get("x-tessera-nonce").is_none(),
            "the nonce hand-over header is not sent out"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        let html = res.text().await.unwrap();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .expect("a nonce in the CSP");
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "[{}] the page's scripts carry the CSP nonce",
            app.engine
        );
    })
    .await;
}

#[tokio::test]
async fn mail_goes_out_over_smtp_and_survives_an_smtp_outage() {
    // A real SMTP round trip: the reset mail arrives with a working link.
    let sink = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    on_each_engine(&[("SMTP_URL", &url), ("MAIL_POLL_MS", "100")], |app| {
        let sink = &sink;
        async move {
            let email = format!("{}@example.org", app.engine);
            app.user(&email, PW, Role::User).await;
            app.call("forgot_password", &[("email", &email)]).await;
            let mail = sink.wait_for(&email, 10).await;
            assert!(mail.data.contains("Subject: "), "{}", mail.data);
            let decoded = mail.data.replace("=\n", "").replace("=3D", "=");
            let token = token_in(&decoded, "/reset-password");
            let (status, _) = app.call("reset_password", &[("token", &token), ("password", "reset over smtp works")]).await;
            assert!(status < 300, "[{}] the mailed link works ({status})", app.engine);
            let (status, id): (String, Option<String>) = tessera::db_run!(app.db(), pool => sqlx::query_as(
                "SELECT status, provider_message_id FROM email_logs WHERE type = 'RESET_PASSWORD'").fetch_one(pool).await).unwrap();
            assert_eq!(status, "SENT");
            assert!(id.is_some_and(|i| i.contains("@tessera")));
        }
    })
    .await;

    // SMTP down: the mail is logged FAILED, retried with backoff, and delivered once it is back.
    let port = SmtpSink::reserve_port().await;
    let url = format!("smtp://127.0.0.1:{port}");
    on_each_engine(
        &[
            ("SMTP_URL", &url),
            ("MAIL_POLL_MS", "50"),
            ("MAIL_RETRY_BASE_MS", "200"),
        ],
        |app| async move {
            app.user("hal@example.org", PW, Role::User).await;
            let started = std::time::Instant::now();
            let (status, _) = app
                .call("forgot_password", &[("email", "hal@example.org")])
                .await;
            assert!(
                status < 300 && started.elapsed().as_secs() < 3,
                "the request does not wait for SMTP"
            );
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while app
                .count("SELECT COUNT(*) FROM email_logs WHERE status = 'FAILED'")
                .await
                < 2
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "[{}] no failed attempts logged",
                    app.engine
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(
                app.count("SELECT COUNT(*) FROM outbox_emails WHERE status = 'PENDING'")
                    .await,
                1,
                "kept for later"
            );
            let sink = SmtpSink::start_on(port).await;
            sink.wait_for("hal@example.org", 15).await;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while app
                .count("SELECT COUNT(*) FROM email_logs WHERE status = 'SENT'")
                .await
                < 1
            {
                assert!(std::time::Instant::now() < deadline);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(
                sink.messages().len(),
                1,
                "[{}] delivered exactly once",
                app.engine
            );
            assert_eq!(
                app.count("SELECT COUNT(*) FROM outbox_emails WHERE status = 'SENT'")
                    .await,
                1
            );
            drop(sink);
        },
    )
    .await;
}
