//! Several instances on one PostgreSQL database, behind a round-robin proxy: the real binary, three
//! processes, every request of a buyer possibly on another instance. A purchase race with one
//! instance killed (SIGKILL) midway; sessions, webhooks, the mail outbox through an SMTP outage,
//! expiry sweeps, programme change mails, the public page cache and the door across instances; a
//! stop (SIGTERM) that finishes its work.
use crate::common::{
    fake_stripe::{completed, send_event, FakeStripe},
    field_error, fleet, on_a_fleet, pass,
    smtp::SmtpSink,
    TestApp,
};
use futures::StreamExt;
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tessera::accounts::Role;
use uuid::Uuid;

const PW: &str = "a long enough passphrase";
const WHSEC: &str = "whsec_fleet";

fn stripe_env(fake: &FakeStripe) -> Vec<(&'static str, String)> {
    let mut env = fake.env(WHSEC);
    env.push(("TRUST_PROXY", "true".to_string()));
    env
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `n` accounts made directly in the database, each with an open session: (id, email, token).
async fn buyers(app: &TestApp, prefix: &str, n: usize) -> Vec<(Uuid, String, String)> {
    let now = tessera::server::now();
    let mut out = vec![];
    for i in 0..n {
        let (id, email) = (Uuid::new_v4(), format!("{prefix}{i}@example.org"));
        tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO users (id, email, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)")
            .bind(id).bind(&email).bind(now).execute(pool).await.map(|_| ())).unwrap();
        let token = fleet::session_for(app.db(), id).await;
        out.push((id, email, token));
    }
    out
}

/// What a buyer's checkout came to (shown by its `Debug` in failure messages).
#[derive(Debug)]
#[allow(dead_code)]
enum Checkout {
    /// Sent to Stripe: the Checkout Session's id.
    Session(String),
    SoldOut,
    /// The connection broke (the instance died under it).
    Broken,
    Other(u16, String),
}

/// A buyer's checkout of one seat, at `base` (the proxy, or one instance).
async fn checkout(base: &str, c: &reqwest::Client, pass: Uuid) -> Checkout {
    let form = fleet::checkout_form(pass, 1);
    let Ok(res) = c
        .post(format!("{base}/api/checkout"))
        .form(&form)
        .send()
        .await
    else {
        return Checkout::Broken;
    };
    let status = res.status().as_u16();
    let location = fleet::location(&res);
    let Ok(text) = res.text().await else {
        return Checkout::Broken;
    };
    match (status, location) {
        (s, Some(l)) if s < 400 && l.contains("/c/pay/") => {
            Checkout::Session(fleet::session_of(&l))
        }
        (422, _) => {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if field_error(&body).1 == "shop.error.not_enough_left" {
                Checkout::SoldOut
            } else {
                Checkout::Other(422, text)
            }
        }
        (s, _) => Checkout::Other(s, text),
    }
}

/// Stripe's `checkout.session.completed` for a session, signed, sent to `base`: the answer
/// (`paid`, `duplicate`…), or None when the connection broke.
async fn pay(base: &str, c: &reqwest::Client, session: &str) -> Option<(u16, String)> {
    let url = format!("{base}/stripe/webhook");
    let at = chrono::Utc::now().timestamp();
    send_event(c, &url, &completed(session), WHSEC, at)
        .await
        .ok()
}

/// A buyer's whole purchase at `base`: checkout, then the webhook; a broken connection is tried
/// again (a person would press the button again), at most 3 times each.
async fn purchase(base: String, token: String, pass: Uuid) -> (Checkout, Option<(u16, String)>) {
    let c = fleet::client(Some(&token));
    let mut outcome = Checkout::Broken;
    for _ in 0..3 {
        outcome = checkout(&base, &c, pass).await;
        if !matches!(outcome, Checkout::Broken) {
            break;
        }
    }
    let mut paid = None;
    if let Checkout::Session(s) = &outcome {
        for _ in 0..3 {
            paid = pay(&base, &c, s).await;
            if paid.is_some() {
                break;
            }
        }
    }
    (outcome, paid)
}

/// The books must balance: seats sold = valid tickets = paid quantities; seats reserved = pending
/// quantities; never more than the capacity; every paid order has its tickets.
async fn assert_books_balance(app: &TestApp, pass: Uuid, fleet: &fleet::Fleet) {
    let (capacity, reserved, sold): (i64, i64, i64) = tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT capacity, reserved_count, sold_count FROM ticket_types WHERE id = $1").bind(pass).fetch_one(pool).await).unwrap();
    let q = |status: &str| {
        format!("SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status = '{status}' AND i.ticket_type_id = '{pass}'")
    };
    let paid = app.count(&q("PAID")).await;
    let pending = app.count(&q("PENDING_PAYMENT")).await;
    let tickets = app
        .count(&format!(
            "SELECT COUNT(*) FROM tickets WHERE ticket_type_id = '{pass}' AND status = 'VALID'"
        ))
        .await;
    let logs = fleet.logs();
    assert!(
        sold + reserved <= capacity,
        "oversold: {sold} sold + {reserved} reserved > {capacity}\n{logs}"
    );
    assert_eq!(sold, paid, "seats sold = paid quantities");
    assert_eq!(tickets, paid, "one valid ticket per paid seat");
    assert_eq!(reserved, pending, "seats reserved = pending quantities");
    let short = app
        .count(&format!("SELECT COUNT(*) FROM orders o WHERE o.status = 'PAID' AND EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.ticket_type_id = '{pass}') \
                 AND (SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id) <> (SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i WHERE i.order_id = o.id)"))
        .await;
    assert_eq!(short, 0, "every paid order has exactly its tickets");
}

#[tokio::test]
async fn three_instances_sell_a_hundred_seats_to_three_hundred_buyers_while_one_is_killed() {
    let fake = FakeStripe::start().await;
    let mut env = stripe_env(&fake);
    env.push(("JOBS_EVERY_SECONDS", "2".into()));
    on_a_fleet(3, &as_refs(&env), |app, mut fleet| async move {
        app.seed_demo().await;
        let day1 = pass(&app, "Pass Jour 1").await;
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET capacity = 100 WHERE id = $1").bind(day1).execute(pool).await.map(|_| ())).unwrap();
        let buyers = buyers(&app, "racer", 300).await;
        let answered = Arc::new(AtomicUsize::new(0));
        let mut tasks = vec![];
        for (_, _, token) in &buyers {
            let (base, token, answered) = (fleet.url(""), token.clone(), answered.clone());
            tasks.push(tokio::spawn(async move {
                let done = purchase(base, token, day1).await;
                answered.fetch_add(1, Ordering::SeqCst);
                done
            }));
        }
        // Midway, instance 1 dies.
        while answered.load(Ordering::SeqCst) < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        fleet.kill(1);
        let mut results = vec![];
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let logs = fleet.logs();
        let mut sessions = 0;
        let mut sold_out = 0;
        for (outcome, paid) in &results {
            match outcome {
                Checkout::Session(_) => {
                    sessions += 1;
                    let (status, body) = paid.clone().unwrap_or_else(|| panic!("a webhook never got through\n{logs}"));
                    assert_eq!(status, 200, "{body}\n{logs}");
                    assert!(body == "paid" || body == "duplicate", "{body}");
                }
                Checkout::SoldOut => sold_out += 1,
                other => panic!("a buyer got {other:?}\n{logs}"),
            }
        }
        assert_eq!(sessions + sold_out, 300);
        // Every buyer sent to Stripe paid, once. A checkout that committed on the dying instance
        // but whose answer was lost left an order pending (it lapses and gives its seat back): its
        // buyer, trying again, can find the last seat gone. All 100 seats are taken either way:
        // checkouts + pending orders = 100, which the next two lines say together.
        let paid_orders = app.count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'").await;
        let orphans = app.count("SELECT COUNT(*) FROM orders WHERE status = 'PENDING_PAYMENT'").await;
        assert_eq!(paid_orders, sessions as i64, "one paid order per buyer sent to Stripe\n{logs}");
        assert_eq!(paid_orders + orphans, 100, "every seat taken, none twice\n{logs}");
        assert_eq!(app.count("SELECT COUNT(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)").await, 0);
        assert_books_balance(&app, day1, &fleet).await;
        // The two others go on: they answer, and sell what is freed.
        for i in [0, 2] {
            let r = reqwest::get(fleet.instances[i].url("/readyz")).await.unwrap();
            assert_eq!(r.status().as_u16(), 200, "instance {i} still serves");
        }
        assert!(fleet.spread.iter().all(|n| n.load(Ordering::SeqCst) > 0), "the proxy used every instance");
    })
    .await;
}

/// Mails the SMTP sink received, by (recipient, subject): each must be there once.
fn received_once(sink: &SmtpSink) -> HashMap<(String, String), usize> {
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for m in sink.messages() {
        let subject = m
            .data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("")
            .to_string();
        for to in m.to {
            *seen
                .entry((to.to_lowercase(), subject.clone()))
                .or_default() += 1;
        }
    }
    seen
}

async fn wait_until(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn three_instances_share_sessions_webhooks_mails_sweeps_the_programme_and_the_door() {
    let fake = FakeStripe::start().await;
    let smtp_port = SmtpSink::reserve_port().await;
    let mut env = stripe_env(&fake);
    env.extend([
        ("JOBS_EVERY_SECONDS", "1".to_string()),
        ("PROGRAMME_MAIL_DELAY_MINUTES", "0".to_string()),
        ("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
        ("MAIL_POLL_MS", "100".to_string()),
        ("MAIL_RETRY_BASE_MS", "200".to_string()),
    ]);
    on_a_fleet(3, &as_refs(&env), |app, fleet| async move {
        app.seed_demo().await;
        let day2 = pass(&app, "Pass Jour 2").await;
        let direct = |i: usize| fleet.instances[i].url("");

        // A session opened on one instance is valid on the others, and closed everywhere at once.
        app.user("ana@example.org", PW, Role::User).await;
        let ana = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let login = ana.post(format!("{}/api/login", direct(0))).form(&[("email", "ana@example.org"), ("password", PW)]).send().await.unwrap();
        assert!(login.status().as_u16() < 400);
        for i in 1..3 {
            let r = ana.post(format!("{}/api/my_tickets", direct(i))).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200, "instance {i} knows the session opened on instance 0");
        }
        let r = ana.post(format!("{}/api/logout", direct(2))).send().await.unwrap();
        assert!(r.status().as_u16() < 400);
        let r = ana.post(format!("{}/api/my_tickets", direct(0))).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "logged out on instance 2: out on instance 0 too");

        // 20 deliveries of one webhook, spread over the instances: one set of tickets, one mail.
        let who = buyers(&app, "payer", 6).await;
        let c = fleet::client(Some(&who[0].2));
        let Checkout::Session(session) = checkout(&fleet.url(""), &c, day2).await else { panic!("checkout") };
        let replays: Vec<_> = (0..20).map(|_| {
            let (base, session) = (fleet.url(""), session.clone());
            tokio::spawn(async move { pay(&base, &fleet::client(None), &session).await })
        }).collect();
        let mut answers = vec![];
        for r in replays {
            answers.push(r.await.unwrap().expect("answered").1);
        }
        assert_eq!(answers.iter().filter(|a| *a == "paid").count(), 1, "{answers:?}");
        assert_eq!(answers.iter().filter(|a| *a == "duplicate").count(), 19, "{answers:?}");
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'ORDER_CONFIRMED'").await, 1);
        // Five more buyers, each on whichever instance the proxy picks.
        for (_, _, token) in &who[1..] {
            let (outcome, paid) = purchase(fleet.url(""), token.clone(), day2).await;
            assert!(matches!(outcome, Checkout::Session(_)), "{outcome:?}");
            assert_eq!(paid.map(|p| p.1).as_deref(), Some("paid"));
        }

        // The SMTP server is down: every instance tries, fails, retries later; nothing is lost.
        wait_until("failed attempts recorded", 30, async || {
            app.count("SELECT COUNT(*) FROM email_logs WHERE status = 'FAILED'").await >= 6
        }).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE status = 'SENT'").await, 0);
        let sink = SmtpSink::start_on(smtp_port).await;
        wait_until("every mail sent once the SMTP server is back", 60, async || {
            app.count("SELECT COUNT(*) FROM outbox_emails WHERE status <> 'SENT'").await == 0
        }).await;
        let outbox = app.count("SELECT COUNT(*) FROM outbox_emails").await;
        assert_eq!(outbox, 12, "6 buyers × (confirmation + tickets)");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let seen = received_once(&sink);
        assert_eq!(seen.values().sum::<usize>() as i64, outbox, "each mail reached the SMTP server once: {seen:?}");
        assert!(seen.values().all(|n| *n == 1), "no mail sent twice: {seen:?}");

        // A moved talk: one change mail per person who asked, though three instances run the batch.
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let mut fans = vec![];
        for i in 0..4 {
            let email = format!("fan{i}@example.org");
            let id = app.user(&email, PW, Role::User).await;
            crate::personal_programme::give_pass(&app, id, "Pass 2 jours").await;
            let c = app.logged_in(&email, PW).await;
            let rust = crate::personal_programme::talk(&app, "Rust en production").await;
            assert_eq!(crate::personal_programme::toggle(&app, &c, &rust, true).await.0, 200);
            assert_eq!(app.call_as(&c, "programme_mail", &[("on", "true")]).await.0, 200);
            fans.push(email);
        }
        // Anonymous visitors' cached page, on every instance, before the change.
        for i in 0..3 {
            let page = reqwest::get(fleet.instances[i].url("/")).await.unwrap().text().await.unwrap();
            assert!(page.contains("Rust en production"));
        }
        let t = crate::admin_programme::talk(&app, &admin, "Rust en production").await;
        let (s, t) = crate::admin_programme::save(&app, &admin, &t, "title", "Rust en production, saison 2").await;
        assert_eq!(s, 200, "{t}");
        let (s, _) = crate::admin_programme::save(&app, &admin, &t, "location", "Salle Rivière").await;
        assert_eq!(s, 200);
        for i in 0..3 {
            let page = reqwest::get(fleet.instances[i].url("/")).await.unwrap().text().await.unwrap();
            assert!(page.contains("Rust en production, saison 2"), "instance {i} shows the new title at once");
        }
        wait_until("the change mails", 30, async || {
            app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'PROGRAMME_CHANGED' AND status = 'SENT'").await >= 4
        }).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        for fan in &fans {
            let n = app.count(&format!("SELECT COUNT(*) FROM outbox_emails WHERE type = 'PROGRAMME_CHANGED' AND to_address = '{fan}'")).await;
            assert_eq!(n, 1, "{fan}: one change mail");
        }

        // Expiry sweeps on the three instances at once: each lapsed order released once.
        let late = buyers(&app, "late", 30).await;
        for (_, _, token) in &late {
            let c = fleet::client(Some(token));
            assert!(matches!(checkout(&fleet.url(""), &c, day2).await, Checkout::Session(_)));
        }
        let expired_before = fake.recorded.lock().unwrap().expired.len();
        let (_, reserved, _): (i64, i64, i64) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT capacity, reserved_count, sold_count FROM ticket_types WHERE id = $1").bind(day2).fetch_one(pool).await).unwrap();
        assert_eq!(reserved, 30);
        let past = tessera::server::now() - chrono::Duration::minutes(1);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE orders SET reserved_until = $1 WHERE status = 'PENDING_PAYMENT'").bind(past).execute(pool).await.map(|_| ())).unwrap();
        wait_until("the lapsed orders released", 30, async || {
            app.count("SELECT COUNT(*) FROM orders WHERE status = 'PENDING_PAYMENT'").await == 0
        }).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_books_balance(&app, day2, &fleet).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM orders WHERE status = 'CANCELED'").await, 30);
        let expired = fake.recorded.lock().unwrap().expired.len() - expired_before;
        assert_eq!(expired, 30, "each Stripe session expired once, not once per instance");

        // The door: the same ticket shown to three phones, each on its own instance, ten times each
        // (its pass made valid today: the demo conference is in 2027).
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET valid_from = NULL, valid_until = NULL WHERE id = $1").bind(day2).execute(pool).await.map(|_| ())).unwrap();
        app.user("door@example.org", PW, Role::StaffScan).await;
        let ticket_token = {
            let buyer = fleet::client(Some(&who[0].2));
            let tickets: Value = buyer.post(fleet.url("/api/my_tickets")).send().await.unwrap().json().await.unwrap();
            tickets[0]["token"].as_str().unwrap().to_string()
        };
        let staff = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let r = staff.post(format!("{}/api/login", direct(0))).form(&[("email", "door@example.org"), ("password", PW)]).send().await.unwrap();
        assert!(r.status().as_u16() < 400);
        let scans: Vec<_> = (0..30).map(|n| {
            let (staff, url, token) = (staff.clone(), format!("{}/api/scan_redeem", direct(n % 3)), ticket_token.clone());
            tokio::spawn(async move {
                let scan_id = Uuid::new_v4().to_string();
                let r = staff.post(url).form(&[("token", token.as_str()), ("scan_id", scan_id.as_str())]).send().await.unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (status, body["outcome"].as_str().unwrap_or("").to_string())
            })
        }).collect();
        let mut outcomes: HashMap<String, usize> = HashMap::new();
        for s in scans {
            let (status, outcome) = s.await.unwrap();
            assert_eq!(status, 200, "{outcome}");
            *outcomes.entry(outcome).or_default() += 1;
        }
        assert_eq!(outcomes.get("Ok"), Some(&1), "{outcomes:?}");
        assert_eq!(outcomes.get("AlreadyUsed"), Some(&29), "{outcomes:?}");
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'SCAN_TICKET'").await, 30);

        // Each instance's metrics on its own address (and not on the site's).
        let mut redeems = 0.0;
        for inst in &fleet.instances {
            let text = reqwest::get(format!("http://{}/metrics", inst.metrics)).await.unwrap().text().await.unwrap();
            for series in ["tessera_http_requests_total{", "tessera_seats_left{pass=\"Pass Jour 2\",pass_id=\"", "tessera_mail_outbox_pending", "tessera_db_pool_connections{state=\"in_use\"}", "tessera_job_runs_total{job=\"reservation_sweep\",result=\"ok\"}"] {
                assert!(text.contains(series), "{series} in:\n{text}");
            }
            redeems += text.lines().filter(|l| l.starts_with("tessera_door_answers_total{")).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>();
            assert_eq!(reqwest::get(inst.url("/metrics")).await.unwrap().status().as_u16(), 404);
        }
        assert_eq!(redeems, 30.0, "the door's answers, summed over the instances");
    })
    .await;
}

#[tokio::test]
async fn sigterm_lets_requests_and_the_mail_in_flight_finish_and_the_other_instance_sends_the_rest()
{
    let fake = FakeStripe::start().await;
    let smtp_port = SmtpSink::reserve_port().await;
    // Each mail takes the SMTP server 2 seconds: the instance is mid-send when it is told to stop.
    let sink = SmtpSink::start_slow(smtp_port, Duration::from_secs(2)).await;
    let mut env = stripe_env(&fake);
    env.extend([
        ("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
        ("MAIL_POLL_MS", "100".to_string()),
        ("SHUTDOWN_GRACE_SECONDS", "10".to_string()),
    ]);
    on_a_fleet(2, &as_refs(&env), |app, mut fleet| async move {
        app.seed_demo().await;
        let day2 = pass(&app, "Pass Jour 2").await;
        for (_, _, token) in buyers(&app, "calm", 4).await {
            let (outcome, paid) = purchase(fleet.url(""), token, day2).await;
            assert!(matches!(outcome, Checkout::Session(_)), "{outcome:?}");
            assert_eq!(paid.map(|p| p.1).as_deref(), Some("paid"));
        }
        // Instance 0 is sending a mail, and reading a request whose body comes slowly.
        let direct = fleet.instances[0].url("");
        let slow = tokio::spawn({
            let url = format!("{direct}/api/login");
            async move {
                let chunks = futures::stream::iter([
                    "email=nobody%40example.org",
                    "&password=wrong-but-long-enough",
                ])
                .then(|c| async move {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    Ok::<_, std::io::Error>(c)
                });
                reqwest::Client::new()
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(reqwest::Body::wrap_stream(chunks))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            }
        });
        // Instance 0 has a mail on the wire (taken, not yet accepted by the slow SMTP server).
        let in_flight = |log: &str| {
            log.lines()
                .filter(|l| l.contains("sending mail"))
                .filter_map(|l| {
                    l.split("mail=")
                        .nth(1)?
                        .split_whitespace()
                        .next()
                        .map(str::to_string)
                })
                .find(|id| {
                    !log.lines()
                        .any(|l| l.contains("mail sent") && l.contains(id.as_str()))
                })
        };
        let mut sending = None;
        wait_until("instance 0 sending a mail", 30, async || {
            sending = in_flight(&fleet.instances[0].output());
            sending.is_some()
        })
        .await;
        let sending = sending.unwrap();
        // The slow request's connection is open and its body not yet sent.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = fleet.terminate(0, Duration::from_secs(20)).await;
        let log = fleet.instances[0].output();
        assert!(
            status.is_some_and(|s| s.success()),
            "instance 0 stopped cleanly: {status:?}\n{log}"
        );
        assert!(log.contains("mail worker stopped"), "{log}");
        let stop_at = log.find("stopping:").expect("the stop is logged");
        assert!(
            log[stop_at..]
                .lines()
                .any(|l| l.contains("mail sent") && l.contains(&sending)),
            "the mail on the wire at SIGTERM ({sending}) was sent before the process ended:\n{log}"
        );
        let answered = slow.await.unwrap();
        assert!(
            matches!(answered, Ok(s) if (400..500).contains(&s)),
            "the request in flight got its answer: {answered:?}"
        );
        assert!(
            reqwest::get(fleet.instances[0].url("/healthz"))
                .await
                .is_err(),
            "no new connection after the stop"
        );
        // Nothing lost, nothing twice: instance 1 sends what instance 0 left.
        wait_until("every mail sent", 60, async || {
            app.count("SELECT COUNT(*) FROM outbox_emails WHERE status <> 'SENT'")
                .await
                == 0
        })
        .await;
        let seen = received_once(&sink);
        assert_eq!(
            seen.values().sum::<usize>(),
            8,
            "4 buyers × 2 mails: {seen:?}"
        );
        assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    })
    .await;
}
