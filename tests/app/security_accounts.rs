//! Account takeover paths (issue 13, section 3), over real HTTP on SQLite and PostgreSQL: a reset
//! cancels every link still out for the account, a change-of-address link logs no one in and tells
//! the old address, a verification link never switches the browser's account, `next` never leads
//! to another site, and the dev mailbox is for admins only.
use crate::common::{field_error, on_each_engine, token_in, TestApp};
use reqwest::{header, Url};
use serde_json::Value;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";
const NEW_PW: &str = "a brand new passphrase";

async fn me(app: &TestApp, client: &reqwest::Client) -> Value {
    let (status, body) = app.call_as(client, "me", &[]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Posts a form as a browser without JavaScript does: `body` is sent as given (already
/// form-encoded), and the answer is the real redirect.
async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    endpoint: &str,
    body: String,
) -> reqwest::Response {
    client
        .post(app.url(&format!("/api/{endpoint}")))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .body(body)
        .send()
        .await
        .expect("form post")
}

/// The `Location` of a redirect, checked the way a browser reads it: resolved against the page it
/// came from (the WHATWG parser drops tabs and newlines, and reads `\` as `/`), it stays on this
/// site.
fn location(app: &TestApp, res: &reqwest::Response, what: &str) -> String {
    let status = res.status().as_u16();
    let value = res
        .headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("[{}] {what}: no Location (status {status})", app.engine));
    let value = value
        .to_str()
        .unwrap_or_else(|_| panic!("[{}] {what}: Location is not visible ASCII", app.engine))
        .to_string();
    let here = Url::parse(&app.url("/api/login")).unwrap();
    let there = here.join(&value).unwrap_or_else(|e| {
        panic!(
            "[{}] {what}: Location {value:?} unreadable: {e}",
            app.engine
        )
    });
    assert_eq!(
        there.origin(),
        here.origin(),
        "[{}] {what}: Location {value:?} leads to {there}",
        app.engine
    );
    value
}

/// `next` values that lead elsewhere, as they appear in a URL or a form body (one decoding by the
/// server gives the value the app sees).
const FOREIGN_NEXTS: &[&str] = &[
    "/%09/example.org/phish",
    "/%0A/example.org",
    "/%0D%0A/example.org",
    "/%00/example.org",
    "/%7F/example.org",
    "//example.org",
    "%2F%2Fexample.org",
    "/%5Cexample.org",
    "/%2F/example.org",
    "/%2509/example.org",
    "/%252F%252Fexample.org",
    "https://example.org/phish",
];

#[tokio::test]
async fn a_password_reset_cancels_a_pending_change_of_address_and_verification() {
    on_each_engine(&[], |app| async move {
        // The owner signs up (a verification link is out) ...
        let owner = app.new_client();
        let (status, _) = app
            .call_as(
                &owner,
                "signup",
                &[
                    ("email", "ann@example.org"),
                    ("password", PW),
                    ("terms", "on"),
                    ("privacy", "on"),
                ],
            )
            .await;
        assert!(status < 300, "[{}] signup answered {status}", app.engine);
        let verify = token_in(
            &app.last_mail_to("ann@example.org")
                .await
                .expect("verification mail")
                .1,
            "/verify-email",
        );
        // ... someone who knows the password asks to move the account to their own address ...
        let thief = app.logged_in("ann@example.org", PW).await;
        let (status, body) = app
            .call_as(
                &thief,
                "change_email",
                &[("new_email", "thief@evil.example"), ("password", PW)],
            )
            .await;
        assert_eq!(status, 200, "[{}] {body}", app.engine);
        let change = token_in(
            &app.last_mail_to("thief@evil.example")
                .await
                .expect("change mail")
                .1,
            "/verify-email",
        );
        // ... and the owner resets the password.
        app.call_as(&owner, "forgot_password", &[("email", "ann@example.org")])
            .await;
        let reset = token_in(
            &app.last_mail_to("ann@example.org").await.unwrap().1,
            "/reset-password",
        );
        let (status, _) = app
            .call_as(
                &owner,
                "reset_password",
                &[("token", &reset), ("password", NEW_PW)],
            )
            .await;
        assert!(status < 300, "[{}] reset answered {status}", app.engine);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM verification_tokens WHERE used_at IS NULL")
                .await,
            0,
            "[{}] no link of the account works any more",
            app.engine
        );

        // The thief's change link is dead: no new address, nobody logged in by it.
        let thief_browser = app.new_client();
        let (status, body) = app
            .call_as(&thief_browser, "verify_email", &[("token", &change)])
            .await;
        assert_eq!(
            (status, field_error(&body).1.as_str()),
            (422, "accounts.error.token_invalid"),
            "[{}] the change link died with the reset",
            app.engine
        );
        assert!(me(&app, &thief_browser).await.is_null(), "[{}]", app.engine);
        assert!(
            me(&app, &thief).await.is_null(),
            "[{}] the thief's session ended",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'thief@evil.example'")
                .await,
            0
        );
        // The old verification link is dead too.
        let (status, body) = app
            .call_as(&app.new_client(), "verify_email", &[("token", &verify)])
            .await;
        assert_eq!(
            (status, field_error(&body).1.as_str()),
            (422, "accounts.error.token_invalid"),
            "[{}]",
            app.engine
        );
        assert_eq!(me(&app, &owner).await["email"], "ann@example.org");
        app.logged_in("ann@example.org", NEW_PW).await;
    })
    .await;
}

#[tokio::test]
async fn a_change_of_address_link_confirms_without_logging_in_and_tells_the_old_address() {
    on_each_engine(&[], |app| async move {
        app.user("bob@example.org", PW, Role::User).await;
        let laptop = app.logged_in("bob@example.org", PW).await;
        let (status, _) = app
            .call_as(
                &laptop,
                "change_email",
                &[("new_email", "bob@new.example"), ("password", PW)],
            )
            .await;
        assert_eq!(status, 200);
        let token = token_in(
            &app.last_mail_to("bob@new.example").await.unwrap().1,
            "/verify-email",
        );
        // A reset link mailed to the old address before the change.
        app.call("forgot_password", &[("email", "bob@example.org")])
            .await;
        let old_reset = token_in(
            &app.last_mail_to("bob@example.org").await.unwrap().1,
            "/reset-password",
        );
        let sessions = app.count("SELECT COUNT(*) FROM sessions").await;

        // The link opened in a browser without a session: confirmed, then asked to log in.
        let phone = app.new_client();
        let res = post_form(&app, &phone, "verify_email", format!("token={token}")).await;
        assert!(
            res.status().is_redirection(),
            "[{}] {}",
            app.engine,
            res.status()
        );
        assert_eq!(
            location(&app, &res, "change link").as_str(),
            "/login?verified=1",
            "[{}]",
            app.engine
        );
        assert!(
            me(&app, &phone).await.is_null(),
            "[{}] a change-of-address link logs no one in",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM sessions").await,
            sessions,
            "[{}] no session opened",
            app.engine
        );
        assert_eq!(
            me(&app, &laptop).await["email"],
            "bob@new.example",
            "[{}] changed",
            app.engine
        );

        // The old address is told, with the new one.
        let (kind, body) = app
            .last_mail_to("bob@example.org")
            .await
            .expect("a mail to the old address");
        assert_eq!(kind, "EMAIL_CHANGED", "[{}]", app.engine);
        assert!(body.contains("bob@new.example"), "{body}");

        // Whoever still reads the old mailbox holds nothing: its reset link died with the change.
        let (status, body) = app
            .call_as(
                &app.new_client(),
                "reset_password",
                &[("token", &old_reset), ("password", NEW_PW)],
            )
            .await;
        assert_eq!(
            (status, field_error(&body).1.as_str()),
            (422, "accounts.error.token_invalid"),
            "[{}] a reset link to the old address no longer works",
            app.engine
        );

        // The owner logs in as usual, with the new address only.
        app.logged_in("bob@new.example", PW).await;
        let (status, _) = app
            .call_as(
                &app.new_client(),
                "login",
                &[("email", "bob@example.org"), ("password", PW)],
            )
            .await;
        assert_eq!(status, 422);
    })
    .await;
}

#[tokio::test]
async fn a_verification_link_never_switches_the_logged_in_account() {
    on_each_engine(&[], |app| async move {
        app.user("vic@example.org", PW, Role::User).await;
        let victim = app.logged_in("vic@example.org", PW).await;

        // An attacker signs up and gets the victim's browser to use the verification link.
        let (status, _) = app
            .call_as(
                &app.new_client(),
                "signup",
                &[
                    ("email", "mallory@example.org"),
                    ("password", PW),
                    ("terms", "on"),
                    ("privacy", "on"),
                ],
            )
            .await;
        assert!(status < 300);
        let token = token_in(
            &app.last_mail_to("mallory@example.org").await.unwrap().1,
            "/verify-email",
        );
        let res = post_form(&app, &victim, "verify_email", format!("token={token}")).await;
        assert!(
            res.status().is_redirection(),
            "[{}] {}",
            app.engine,
            res.status()
        );
        assert_eq!(
            location(&app, &res, "verification link").as_str(),
            "/login?verified=1"
        );
        assert_eq!(
            me(&app, &victim).await["email"],
            "vic@example.org",
            "[{}] the browser stays logged in as its own account",
            app.engine
        );
        // The address is verified all the same, and the link's account got no session.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM users WHERE email = 'mallory@example.org' AND email_verified_at IS NOT NULL")
                .await,
            1,
            "[{}] verified",
            app.engine
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'mallory@example.org'")
                .await,
            0,
            "[{}]",
            app.engine
        );

        // Same for a change-of-address link of another account.
        app.user("zed@example.org", PW, Role::User).await;
        let zed = app.logged_in("zed@example.org", PW).await;
        app.call_as(
            &zed,
            "change_email",
            &[("new_email", "zed@new.example"), ("password", PW)],
        )
        .await;
        let token = token_in(
            &app.last_mail_to("zed@new.example").await.unwrap().1,
            "/verify-email",
        );
        let (status, _) = app
            .call_as(&victim, "verify_email", &[("token", &token)])
            .await;
        assert!(status < 300, "[{}] {status}", app.engine);
        assert_eq!(me(&app, &victim).await["email"], "vic@example.org");
        assert_eq!(me(&app, &zed).await["email"], "zed@new.example");
    })
    .await;
}

/// A foreign `next` sends the reader home; a NUL in it is refused (400) before anything reads it.
/// Answers whether it was refused.
fn goes_home(app: &TestApp, res: &reqwest::Response, what: &str) -> bool {
    if what.contains("%00") {
        assert_eq!(res.status().as_u16(), 400, "[{}] {what}", app.engine);
        return true;
    }
    assert!(
        res.status().is_redirection(),
        "[{}] {what}: {}",
        app.engine,
        res.status()
    );
    assert_eq!(location(app, res, what), "/", "[{}] {what}", app.engine);
    false
}

#[tokio::test]
async fn login_next_never_redirects_to_another_site() {
    on_each_engine(&[], |app| async move {
        app.user("nat@example.org", PW, Role::User).await;
        let credentials = "email=nat%40example.org&password=a+long+enough+passphrase";
        for next in FOREIGN_NEXTS {
            let res = post_form(
                &app,
                &app.new_client(),
                "login",
                format!("{credentials}&next={next}"),
            )
            .await;
            goes_home(&app, &res, &format!("login next={next}"));
        }
        // A path of this site is kept, its query included.
        let res = post_form(
            &app,
            &app.new_client(),
            "login",
            format!("{credentials}&next=%2Fme%2Fprogramme%3Fday%3D2"),
        )
        .await;
        assert_eq!(location(&app, &res, "good next"), "/me/programme?day=2");
    })
    .await;
}

#[tokio::test]
async fn language_switch_next_never_redirects_to_another_site_nor_fails() {
    on_each_engine(&[], |app| async move {
        for next in FOREIGN_NEXTS.iter().chain(&["/%0A", "/%0D", "/%09"]) {
            let res = app.get(&format!("/lang/en?next={next}")).await;
            if goes_home(&app, &res, &format!("/lang next={next}")) {
                continue;
            }
            assert!(
                res.headers().get(header::SET_COOKIE).is_some(),
                "the language is still remembered"
            );
        }
        for (next, expected) in [
            ("%2Ftalks%3Fday%3D2", "/talks?day=2"),
            (
                "%2Flogin%3Fnext%3D%252Fme%252Ftickets",
                "/login?next=%2Fme%2Ftickets",
            ),
            ("/programme/caf%C3%A9", "/programme/caf%C3%A9"),
        ] {
            let res = app.get(&format!("/lang/fr?next={next}")).await;
            assert_eq!(
                location(&app, &res, next),
                expected,
                "[{}] next={next}",
                app.engine
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_dev_mailbox_is_for_admins_only() {
    on_each_engine(&[], |app| async move {
        app.user("ann@example.org", PW, Role::User).await;
        app.user("staff@example.org", PW, Role::StaffScan).await;
        app.user("admin@example.org", PW, Role::Admin).await;
        app.call("forgot_password", &[("email", "ann@example.org")])
            .await;
        let user = app.logged_in("ann@example.org", PW).await;
        let staff = app.logged_in("staff@example.org", PW).await;
        let admin = app.logged_in("admin@example.org", PW).await;

        // The server function.
        let anonymous = app.new_client();
        let (status, body) = app.call_as(&anonymous, "dev_mailbox", &[]).await;
        assert_eq!(status, 401, "[{}] anonymous: {body}", app.engine);
        assert!(!body.to_string().contains("token="));
        for (who, client) in [("USER", &user), ("STAFF_SCAN", &staff)] {
            let (status, body) = app.call_as(client, "dev_mailbox", &[]).await;
            assert_eq!(status, 403, "[{}] {who}: {body}", app.engine);
            assert!(!body.to_string().contains("token="));
        }
        let (status, mails) = app.call_as(&admin, "dev_mailbox", &[]).await;
        assert_eq!(status, 200, "[{}] admin: {mails}", app.engine);
        assert!(
            mails.as_array().unwrap().iter().any(|m| m["body_text"]
                .as_str()
                .is_some_and(|t| t.contains("/reset-password?token="))),
            "[{}] the admin reads the mails: {mails}",
            app.engine
        );

        // The page.
        let page = |client: reqwest::Client| {
            let url = app.url("/dev/mailbox");
            async move {
                let res = client.get(url).send().await.expect("GET /dev/mailbox");
                let status = res.status().as_u16();
                (status, res.text().await.unwrap())
            }
        };
        let (status, html) = page(app.new_client()).await;
        assert_eq!(status, 401, "[{}] anonymous page", app.engine);
        assert!(
            html.contains("login-required"),
            "[{}] asked to log in",
            app.engine
        );
        assert!(!html.contains("token="), "[{}] no link shown", app.engine);
        let (status, html) = page(user.clone()).await;
        assert_eq!(status, 403, "[{}] USER page", app.engine);
        assert!(
            html.contains("notice-error"),
            "[{}] told it is forbidden",
            app.engine
        );
        assert!(!html.contains("token="), "[{}] no link shown", app.engine);
        let (status, html) = page(admin.clone()).await;
        assert_eq!(status, 200, "[{}] admin page", app.engine);
        assert!(html.contains("/reset-password?token="), "[{}]", app.engine);
    })
    .await;
}
