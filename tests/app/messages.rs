//! Issue 31, part 4, messages to attendees, on SQLite and PostgreSQL over real HTTP: a message to
//! "Pass Jour 2, not checked in" reaches exactly those holders, once per address, in their
//! language; a promotional one skips whoever did not opt in, and its unsubscribe link works without
//! logging in (a GET changes nothing, the button does); a scheduled one waits for its time or is
//! canceled; 1 000 recipients are spaced at the configured rate and none is lost through an SMTP
//! outage; bad input is refused next to its field (4xx, never 5xx), non-admins are refused.
use crate::common::{field_error, on_each_engine, pass, smtp::SmtpSink, TestApp};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;
use tessera::accounts::Role;
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// An account made directly (it never logs in here), reading `locale`.
async fn person(app: &TestApp, email: &str, locale: &str) -> Uuid {
    let id = Uuid::new_v4();
    let now = tessera::server::now();
    tessera::db_run!(app.db(), pool => sqlx::query(
        "INSERT INTO users (id, email, role, status, locale, created_at, updated_at) VALUES ($1, $2, 'USER', 'ACTIVE', $3, $4, $4)")
        .bind(id).bind(email).bind(locale).bind(now).execute(pool).await.map(|_| ())).unwrap();
    id
}

/// A paid order of `buyer` with one ticket of `pass`, held by `holder` (an address, and the account
/// that claimed it) or by the buyer; returns the ticket.
async fn ticket(
    app: &TestApp,
    buyer: Uuid,
    pass: Uuid,
    holder: Option<(&str, Option<Uuid>)>,
) -> Uuid {
    let now = tessera::server::now();
    let (order, ticket) = (Uuid::new_v4(), Uuid::new_v4());
    let email: Option<String> = holder.map(|(e, _)| e.to_string());
    let account: Option<Uuid> = holder.and_then(|(_, a)| a);
    tessera::db_run!(app.db(), pool => async {
        sqlx::query("INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at) VALUES ($1, $2, 'PAID', 0, 'eur', $3, $3)")
            .bind(order).bind(buyer).bind(now).execute(pool).await?;
        sqlx::query("INSERT INTO tickets (id, user_id, order_id, ticket_type_id, status, holder_email, holder_user_id, issued_at) VALUES ($1, $2, $3, $4, 'VALID', $5, $6, $7)")
            .bind(ticket).bind(buyer).bind(order).bind(pass).bind(email.clone()).bind(account).bind(now)
            .execute(pool).await.map(|_| ())
    }.await).unwrap();
    ticket
}

async fn exec(app: &TestApp, sql: &str, id: Uuid) {
    tessera::db_run!(app.db(), pool => sqlx::query(sql).bind(id).execute(pool).await.map(|_| ()))
        .unwrap();
}

/// An entry at the door (the default list).
async fn check_in(app: &TestApp, ticket: Uuid) {
    tessera::db_run!(app.db(), pool => sqlx::query(
        "INSERT INTO checkins (id, list_id, ticket_id, at, day, direction) VALUES ($1, $2, $3, $4, '2027-06-11', 'IN')")
        .bind(Uuid::new_v4()).bind(tessera::checkin::ENTRANCE).bind(ticket).bind(tessera::server::now())
        .execute(pool).await.map(|_| ())).unwrap();
}

/// A message's form: its kind and texts, then `extra` fields (filter, time).
fn form<'a>(kind: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("kind", kind),
        ("subject_fr", "Infos pratiques"),
        ("subject_en", "Practical information"),
        ("body_fr", "Les portes ouvrent à 8 h 30.\n\nÀ demain !"),
        ("body_en", "Doors open at 8:30.\n\nSee you tomorrow!"),
    ];
    f.extend_from_slice(extra);
    f
}

/// Sends a message as `admin`; returns its id.
async fn send(app: &TestApp, admin: &reqwest::Client, f: &[(&str, &str)]) -> Uuid {
    let (status, body) = app.call_as(admin, "admin_message_send", f).await;
    assert_eq!(status, 200, "[{}] {body}", app.engine);
    Uuid::parse_str(body.as_str().unwrap()).unwrap()
}

/// A message's mails: (address, subject, text body), by address.
async fn mailed(app: &TestApp, message: Uuid) -> Vec<(String, String, String)> {
    let rows: Vec<(String, String, Option<String>)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT e.to_address, e.subject, e.body_text FROM message_recipients r JOIN outbox_emails e ON e.id = r.outbox_id \
         WHERE r.message_id = $1 ORDER BY e.to_address")
        .bind(message).fetch_all(pool).await).unwrap();
    rows.into_iter()
        .map(|(to, s, b)| (to, s, b.unwrap_or_default()))
        .collect()
}

fn addresses(mails: &[(String, String, String)]) -> Vec<&str> {
    mails.iter().map(|m| m.0.as_str()).collect()
}

async fn admin(app: &TestApp) -> reqwest::Client {
    app.user("admin@example.org", PW, Role::Admin).await;
    app.logged_in("admin@example.org", PW).await
}

#[tokio::test]
async fn a_message_to_day_two_not_checked_in_reaches_exactly_those_holders_in_their_language() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        app.seed_demo().await;
        let (day1, day2) = (pass(&app, "Pass Jour 1").await, pass(&app, "Pass Jour 2").await);
        let admin = admin(&app).await;
        let ana = person(&app, "ana@example.org", "fr").await;
        let bob = person(&app, "bob@example.org", "en").await;
        let cid = person(&app, "cid@example.org", "en").await;
        let dan = person(&app, "dan@example.org", "fr").await;
        let eli = person(&app, "eli@example.org", "en").await;
        let fay = person(&app, "fay@example.org", "en").await;
        // Ana holds two day-2 tickets (one mail), and bought a third that Fay (English) claimed.
        let ana_ticket = ticket(&app, ana, day2, None).await;
        ticket(&app, ana, day2, None).await;
        ticket(&app, ana, day2, Some(("fay@example.org", Some(fay)))).await;
        // Bob (English) holds one and gave one to Gus, who has no account: Gus reads Bob's language.
        let bob_ticket = ticket(&app, bob, day2, None).await;
        ticket(&app, bob, day2, Some(("gus@example.org", None))).await;
        // Cid came in (an entry), Dan's ticket is used, Eli holds day 1 and a canceled day 2.
        let cid_ticket = ticket(&app, cid, day2, None).await;
        check_in(&app, cid_ticket).await;
        let dan_ticket = ticket(&app, dan, day2, None).await;
        exec(&app, "UPDATE tickets SET status = 'USED', used_at = issued_at WHERE id = $1", dan_ticket).await;
        ticket(&app, eli, day1, None).await;
        let canceled = ticket(&app, eli, day2, None).await;
        exec(&app, "UPDATE tickets SET status = 'CANCELED' WHERE id = $1", canceled).await;

        let day2_text = day2.to_string();
        let filter = [("passes", day2_text.as_str()), ("checked_in", "NO")];
        let (status, preview) = app.call_as(&admin, "admin_message_preview", &form("PRACTICAL", &filter)).await;
        assert_eq!(status, 200, "[{e}] {preview}");
        assert_eq!((preview["count"].as_i64(), preview["count_fr"].as_i64(), preview["count_en"].as_i64()), (Some(4), Some(1), Some(3)), "[{e}] {preview}");
        assert_eq!(preview["subject_en"], "Practical information");
        let sample: Vec<&str> = preview["sample"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
        assert_eq!(sample, ["a***@example.org", "f***@example.org", "b***@example.org", "g***@example.org"], "[{e}] masked, in the tickets' order");

        let message = send(&app, &admin, &form("PRACTICAL", &filter)).await;
        let mails = mailed(&app, message).await;
        assert_eq!(addresses(&mails), ["ana@example.org", "bob@example.org", "fay@example.org", "gus@example.org"], "[{e}]");
        for (to, subject, body) in &mails {
            let english = to != "ana@example.org";
            assert_eq!(subject, if english { "Practical information" } else { "Infos pratiques" }, "[{e}] {to}");
            assert!(body.contains(if english { "Doors open at 8:30." } else { "Les portes ouvrent" }), "[{e}] {to}: {body}");
            assert!(!body.contains("/unsubscribe/"), "[{e}] a practical message has no unsubscribe link");
        }
        let (status, recipients): (String, i64) = tessera::db_run!(app.db(), pool => sqlx::query_as(
            "SELECT status, recipients FROM messages WHERE id = $1").bind(message).fetch_one(pool).await).unwrap();
        assert_eq!((status.as_str(), recipients), ("SENT", 4), "[{e}]");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action IN ('CREATE_MESSAGE', 'SEND_MESSAGE')").await, 2, "[{e}]");
        // The job finds nothing more to do: nobody gets it twice.
        assert_eq!(tessera::messages::service::run_due(&app.state).await.unwrap(), 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ATTENDEE_MESSAGE'").await, 4);

        // The list shows it with its figures.
        let (status, list) = app.call_as(&admin, "admin_messages", &[]).await;
        assert_eq!(status, 200, "[{e}] {list}");
        assert_eq!(list["messages"][0]["id"], message.to_string());
        assert_eq!(list["messages"][0]["recipients"], 4);
        assert_eq!(list["messages"][0]["status"], "Sent");
        assert!(list["passes"].as_array().unwrap().iter().any(|p| p["name"] == "Pass Jour 2"));

        // An answer narrows it: day 2, not in, gluten-free (Bob only).
        let question = Uuid::new_v4();
        let now = tessera::server::now();
        tessera::db_run!(app.db(), pool => async {
            sqlx::query("INSERT INTO questions (id, kind, label_fr, label_en, options, created_at) VALUES ($1, 'CHOICE', 'Régime', 'Diet', $2, $3)")
                .bind(question).bind("Végétarien | Vegetarian\nSans gluten | Gluten-free").bind(now).execute(pool).await?;
            for (t, a) in [(ana_ticket, "Végétarien"), (bob_ticket, "Végétarien\nSans gluten")] {
                sqlx::query("INSERT INTO ticket_answers (ticket_id, question_id, answer, updated_at) VALUES ($1, $2, $3, $4)")
                    .bind(t).bind(question).bind(a).bind(now).execute(pool).await?;
            }
            Ok::<(), sqlx::Error>(())
        }.await).unwrap();
        let question_text = question.to_string();
        let narrowed = [("passes", day2_text.as_str()), ("checked_in", "NO"), ("question_id", question_text.as_str()), ("answer", "Sans gluten")];
        let (status, preview) = app.call_as(&admin, "admin_message_preview", &form("PRACTICAL", &narrowed)).await;
        assert_eq!((status, preview["count"].as_i64()), (200, Some(1)), "[{e}] {preview}");
        assert_eq!(preview["sample"][0], "b***@example.org");
        let (_, list) = app.call_as(&admin, "admin_messages", &[]).await;
        let offered = list["questions"].as_array().unwrap().iter().find(|q| q["id"] == question_text.as_str()).cloned().unwrap_or_default();
        assert_eq!(offered["options"], serde_json::json!(["Végétarien", "Sans gluten"]), "[{e}] the options the form offers");

        // A test goes to the admin alone, in their language.
        let (status, to) = app.call_as(&admin, "admin_message_test", &form("PRACTICAL", &filter)).await;
        assert_eq!((status, to.as_str()), (200, Some("admin@example.org")), "[{e}]");
        let (kind, body) = app.last_mail_to("admin@example.org").await.unwrap();
        assert_eq!(kind, "ATTENDEE_MESSAGE");
        assert!(body.contains("Les portes ouvrent"), "[{e}] {body}");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'SEND_TEST_MESSAGE'").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1, "[{e}] a test is not a message");
    })
    .await;
}

/// The latest marketing choice of an account.
async fn opted_in(app: &TestApp, user: Uuid) -> bool {
    let row: Option<(bool,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT granted FROM user_consents WHERE user_id = $1 AND type = 'MARKETING_OPTIN' ORDER BY accepted_at DESC LIMIT 1")
        .bind(user).fetch_optional(pool).await).unwrap();
    row.is_some_and(|r| r.0)
}

/// The unsubscribe link's token in a mail's text.
fn unsubscribe_token(body: &str) -> String {
    let at = body.find("/unsubscribe/").expect("an unsubscribe link") + "/unsubscribe/".len();
    body[at..]
        .split(char::is_whitespace)
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_promotional_message_skips_who_did_not_opt_in_and_its_link_unsubscribes_without_login() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        let admin = admin(&app).await;
        let market = |id| tessera::privacy::service::set_marketing(&app.state, id, true);
        let ann = person(&app, "ann@example.org", "fr").await;
        market(ann).await.unwrap();
        let ben = person(&app, "ben@example.org", "en").await;
        let cat = person(&app, "cat@example.org", "fr").await;
        market(cat).await.unwrap();
        tessera::privacy::service::set_marketing(&app.state, cat, false).await.unwrap();
        let dee = person(&app, "dee@example.org", "fr").await;
        market(dee).await.unwrap();
        let eve = person(&app, "eve@example.org", "en").await;
        market(eve).await.unwrap();
        ticket(&app, ann, day1, None).await;
        ticket(&app, ben, day1, None).await;
        ticket(&app, cat, day1, None).await;
        // Dee opted in, but the ticket she bought is Hal's (no account): Hal's address counts.
        ticket(&app, dee, day1, Some(("hal@example.org", None))).await;
        // Ben bought one for Eve, who claimed it and opted in.
        ticket(&app, ben, day1, Some(("eve@example.org", Some(eve)))).await;

        let (status, preview) = app.call_as(&admin, "admin_message_preview", &form("PROMOTIONAL", &[])).await;
        assert_eq!(status, 200, "[{e}] {preview}");
        assert_eq!((preview["count"].as_i64(), preview["without_consent"].as_i64()), (Some(2), Some(3)), "[{e}] {preview}");
        let message = send(&app, &admin, &form("PROMOTIONAL", &[])).await;
        let mails = mailed(&app, message).await;
        assert_eq!(addresses(&mails), ["ann@example.org", "eve@example.org"], "[{e}]");
        assert_eq!(mails[1].1, "Practical information", "[{e}] Eve reads English");
        let token = unsubscribe_token(&mails[0].2);

        // The link's page names the account and offers a button; opening it changes nothing.
        let (status, page) = app.get_text(&format!("/unsubscribe/{token}")).await;
        assert_eq!(status, 200, "[{e}]");
        assert!(page.contains("a***@example.org") && page.contains("Me désinscrire"), "[{e}] {page}");
        assert!(opted_in(&app, ann).await, "[{e}] a GET (a mail scanner) unsubscribes nobody");
        // A link that is not ours: a clear 4xx page, and a 422 from the button.
        let (status, page) = app.get_text("/unsubscribe/not-a-token").await;
        assert_eq!(status, 422, "[{e}]");
        assert!(page.contains("lien de désinscription"), "[{e}] {page}");
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        let (status, body) = app.call("unsubscribe", &[("token", &forged)]).await;
        assert_eq!((status, field_error(&body).1.as_str()), (422, "messages.unsubscribe.invalid"), "[{e}] {body}");
        let other = format!("{}{}", eve.simple(), &token[32..]);
        let (status, _) = app.call("unsubscribe", &[("token", &other)]).await;
        assert_eq!(status, 422, "[{e}] a link names one account only");
        assert!(opted_in(&app, eve).await);

        // The button, without JavaScript and without logging in: done, and said so.
        let res = app
            .new_client()
            .post(app.url("/api/unsubscribe"))
            .header(reqwest::header::ACCEPT, "text/html")
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "[{e}] {}", res.status());
        let location = res.headers()[reqwest::header::LOCATION].to_str().unwrap().to_string();
        assert!(location.ends_with("?done=1"), "[{e}] {location}");
        assert!(!opted_in(&app, ann).await, "[{e}] withdrawn");
        let (status, page) = app.get_text(&location).await;
        assert_eq!(status, 200);
        assert!(page.contains("vous ne recevrez plus"), "[{e}] {page}");
        // Again (a second click): still fine, one withdrawal recorded.
        let (status, _) = app.call("unsubscribe", &[("token", &token)]).await;
        assert!(status < 400, "[{e}] {status}");
        assert_eq!(app.count("SELECT COUNT(*) FROM user_consents WHERE type = 'MARKETING_OPTIN' AND granted = FALSE").await, 2, "[{e}] Cat's and Ann's");

        // The next promotional message skips Ann.
        let message = send(&app, &admin, &form("PROMOTIONAL", &[])).await;
        assert_eq!(addresses(&mailed(&app, message).await), ["eve@example.org"], "[{e}]");
    })
    .await;
}

#[tokio::test]
async fn a_scheduled_message_waits_for_its_time_and_can_be_canceled() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        let admin = admin(&app).await;
        let ann = person(&app, "ann@example.org", "fr").await;
        ticket(&app, ann, day1, None).await;
        let later = app.state.config.local_input(tessera::server::now() + Duration::hours(2));
        let first = send(&app, &admin, &form("PRACTICAL", &[("send_at", &later)])).await;
        let second = send(&app, &admin, &form("PRACTICAL", &[("send_at", &later)])).await;
        assert_eq!(tessera::messages::service::run_due(&app.state).await.unwrap(), 0, "[{e}] not yet");
        let (_, list) = app.call_as(&admin, "admin_messages", &[]).await;
        assert!(list["messages"].as_array().unwrap().iter().all(|m| m["status"] == "Scheduled"), "[{e}] {list}");

        // The second is canceled (once), then its time comes with the first's: only the first goes.
        let (status, body) = app.call_as(&admin, "admin_message_cancel", &[("message_id", &second.to_string())]).await;
        assert_eq!(status, 200, "[{e}] {body}");
        let (status, body) = app.call_as(&admin, "admin_message_cancel", &[("message_id", &second.to_string())]).await;
        assert_eq!((status, field_error(&body).1.as_str()), (422, "messages.error.not_scheduled"), "[{e}]");
        let (status, _) = app.call_as(&admin, "admin_message_cancel", &[("message_id", &Uuid::new_v4().to_string())]).await;
        assert_eq!(status, 404);
        let past = tessera::server::now() - Duration::minutes(1);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE messages SET send_at = $1").bind(past).execute(pool).await.map(|_| ())).unwrap();
        assert_eq!(tessera::messages::service::run_due(&app.state).await.unwrap(), 1, "[{e}]");
        assert_eq!(addresses(&mailed(&app, first).await), ["ann@example.org"]);
        assert!(mailed(&app, second).await.is_empty(), "[{e}] canceled");
        let (status, _) = app.call_as(&admin, "admin_message_cancel", &[("message_id", &first.to_string())]).await;
        assert_eq!(status, 422, "[{e}] gone out: too late to cancel");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'CANCEL_MESSAGE'").await, 1);
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_next_to_its_field_and_non_admins_are_refused() {
    on_each_engine(&[], |app| async move {
        let e = app.engine;
        app.seed_demo().await;
        let admin = admin(&app).await;
        let unknown = Uuid::new_v4().to_string();
        let long_subject = "x".repeat(201);
        let long_body = "y".repeat(20_001);
        let past = app
            .state
            .config
            .local_input(tessera::server::now() - Duration::hours(1));
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
        let cases: Vec<Case> = vec![
            (vec![], "kind", "messages.error.kind"),
            (form("LOUD", &[]), "kind", "messages.error.kind"),
            (
                form("PRACTICAL", &[("subject_fr", "  ")]),
                "subject_fr",
                "messages.error.subject",
            ),
            (
                form("PRACTICAL", &[("subject_fr", &long_subject)]),
                "subject_fr",
                "messages.error.subject",
            ),
            (
                form("PRACTICAL", &[("subject_en", &long_subject)]),
                "subject_en",
                "messages.error.subject",
            ),
            (
                form("PRACTICAL", &[("body_fr", "\n\n")]),
                "body_fr",
                "messages.error.body",
            ),
            (
                form("PRACTICAL", &[("body_fr", &long_body)]),
                "body_fr",
                "messages.error.body",
            ),
            (
                form("PRACTICAL", &[("passes", "nope")]),
                "passes",
                "messages.error.passes",
            ),
            (
                form("PRACTICAL", &[("passes", &unknown)]),
                "passes",
                "messages.error.passes",
            ),
            (
                form("PRACTICAL", &[("order_status", "SHIPPED")]),
                "order_status",
                "messages.error.order_status",
            ),
            (
                form("PRACTICAL", &[("checked_in", "maybe")]),
                "checked_in",
                "messages.error.checked_in",
            ),
            (
                form("PRACTICAL", &[("question_id", &unknown)]),
                "question_id",
                "messages.error.question",
            ),
            (
                form("PRACTICAL", &[("question_id", "x")]),
                "question_id",
                "messages.error.question",
            ),
            (
                form("PRACTICAL", &[("answer", "oui")]),
                "answer",
                "messages.error.answer",
            ),
        ];
        for endpoint in [
            "admin_message_preview",
            "admin_message_test",
            "admin_message_send",
        ] {
            for (f, field, key) in &cases {
                // A later value of a field replaces the earlier one (the test's override).
                let mut fields: Vec<(&str, &str)> = vec![];
                for (k, v) in f {
                    fields.retain(|(x, _)| x != k);
                    fields.push((*k, *v));
                }
                let (status, body) = app.call_as(&admin, endpoint, &fields).await;
                assert_eq!(
                    (status, field_error(&body)),
                    (422, (field.to_string(), key.to_string())),
                    "[{e}] {endpoint} {fields:?}: {body}"
                );
            }
        }
        for (at, key) in [
            ("tomorrow", "messages.error.send_at"),
            ("+262142-12-31T23:59", "messages.error.send_at"),
            (past.as_str(), "messages.error.send_at_past"),
        ] {
            let (status, body) = app
                .call_as(
                    &admin,
                    "admin_message_send",
                    &form("PRACTICAL", &[("send_at", at)]),
                )
                .await;
            assert_eq!(
                (status, field_error(&body)),
                (422, ("send_at".to_string(), key.to_string())),
                "[{e}] {at}: {body}"
            );
        }
        let (status, _) = app
            .call_as(&admin, "admin_message_cancel", &[("message_id", "x")])
            .await;
        assert_eq!(status, 400, "[{e}]");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages").await,
            0,
            "[{e}] nothing recorded"
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ATTENDEE_MESSAGE'")
                .await,
            0
        );

        // Non-admins: 403 logged in, 401 anonymous, for every function and the page.
        app.user("user@example.org", PW, Role::User).await;
        let user = app.logged_in("user@example.org", PW).await;
        let anonymous = app.new_client();
        for (client, expected) in [(&user, 403), (&anonymous, 401)] {
            for endpoint in [
                "admin_messages",
                "admin_message_preview",
                "admin_message_test",
                "admin_message_send",
            ] {
                let (status, _) = app.call_as(client, endpoint, &form("PRACTICAL", &[])).await;
                assert_eq!(status, expected, "[{e}] {endpoint}");
            }
            let (status, _) = app
                .call_as(client, "admin_message_cancel", &[("message_id", &unknown)])
                .await;
            assert_eq!(status, expected, "[{e}] cancel");
            let status = client
                .get(app.url("/admin/messages"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert_eq!(status, expected, "[{e}] the page");
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ATTENDEE_MESSAGE'")
                .await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn a_thousand_recipients_go_out_at_the_configured_rate_and_none_is_lost_through_an_smtp_outage(
) {
    // SMTP is down when the message is sent; 30 000 a minute: one mail every 2 ms.
    let port = SmtpSink::reserve_port().await;
    let url = format!("smtp://127.0.0.1:{port}");
    on_each_engine(
        &[("SMTP_URL", &url), ("MAIL_POLL_MS", "50"), ("MAIL_RETRY_BASE_MS", "200"), ("MESSAGE_RATE_PER_MINUTE", "30000")],
        |app| async move {
            let e = app.engine;
            let now = tessera::server::now();
            let day = crate::common::pass_valid(&app, "Pass Foule", now, now + Duration::days(2)).await;
            let admin = admin(&app).await;
            let buyer = person(&app, "buyer@example.org", "fr").await;
            let order = Uuid::new_v4();
            let mut tx = app.db().begin().await.unwrap();
            tessera::tx_run!(&mut tx, c => sqlx::query("INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at) VALUES ($1, $2, 'PAID', 0, 'eur', $3, $3)")
                .bind(order).bind(buyer).bind(now).execute(c).await.map(|_| ())).unwrap();
            for i in 0..1000 {
                let holder = format!("h{i:04}@example.org");
                tessera::tx_run!(&mut tx, c => sqlx::query("INSERT INTO tickets (id, user_id, order_id, ticket_type_id, status, holder_email, issued_at) VALUES ($1, $2, $3, $4, 'VALID', $5, $6)")
                    .bind(Uuid::new_v4()).bind(buyer).bind(order).bind(day).bind(&holder).bind(now).execute(c).await.map(|_| ())).unwrap();
            }
            tx.commit().await.unwrap();

            let day_text = day.to_string();
            let message = send(&app, &admin, &form("PRACTICAL", &[("passes", &day_text)])).await;
            assert_eq!(mailed(&app, message).await.len(), 1000, "[{e}] one mail per holder, queued at once");
            // The schedule: the i-th mail due 2 ms after the one before, the first at once.
            let due: Vec<(DateTime<Utc>,)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
                "SELECT due_at FROM message_recipients WHERE message_id = $1 ORDER BY due_at").bind(message).fetch_all(pool).await).unwrap();
            assert_eq!(due.len(), 1000);
            for pair in due.windows(2) {
                assert_eq!(pair[1].0 - pair[0].0, Duration::milliseconds(2), "[{e}] spaced at the rate");
            }
            assert!(due[0].0 >= now && due[0].0 - now < Duration::seconds(30), "[{e}] the first goes at once");

            // SMTP down: attempts fail and are kept for later; nothing is marked sent.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while app.count("SELECT COUNT(*) FROM email_logs WHERE type = 'ATTENDEE_MESSAGE' AND status = 'FAILED'").await < 100 {
                assert!(std::time::Instant::now() < deadline, "[{e}] no failed attempts logged");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ATTENDEE_MESSAGE' AND status = 'SENT'").await, 0);
            let (_, list) = app.call_as(&admin, "admin_messages", &[]).await;
            assert!(list["messages"][0]["failed"].as_i64().unwrap() > 0, "[{e}] the figures show the failures: {list}");

            // SMTP back: every one of the 1 000 arrives, once.
            let sink = SmtpSink::start_on(port).await;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
            while app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ATTENDEE_MESSAGE' AND status = 'SENT'").await < 1000 {
                assert!(std::time::Instant::now() < deadline, "[{e}] not all sent after the outage");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            let received = sink.messages();
            let to: BTreeSet<String> = received.iter().flat_map(|m| m.to.iter().map(|t| t.to_lowercase())).collect();
            assert_eq!((received.len(), to.len()), (1000, 1000), "[{e}] each delivered exactly once");
            assert!(to.contains("h0000@example.org") && to.contains("h0999@example.org"));
            // None left before its time: each mail's first attempt came at or after its due time.
            let early = {
                let rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
                    "SELECT r.due_at, (SELECT MIN(l.created_at) FROM email_logs l WHERE l.outbox_id = r.outbox_id) \
                     FROM message_recipients r WHERE r.message_id = $1").bind(message).fetch_all(pool).await).unwrap();
                rows.iter().filter(|(due, first)| first.is_none_or(|f| f < *due)).count()
            };
            assert_eq!(early, 0, "[{e}] no mail left before its turn");
            let (_, list) = app.call_as(&admin, "admin_messages", &[]).await;
            let row = &list["messages"][0];
            assert_eq!((row["sent"].as_i64(), row["failed"].as_i64(), row["pending"].as_i64()), (Some(1000), Some(0), Some(0)), "[{e}] {row}");
            drop(sink);
        },
    )
    .await;
}
