//! Running it: metrics behind a token, a request id on every answer, backups taken while orders
//! are written and restored into a new database that serves them.
use crate::common::{
    fake_stripe::{completed, send_event, FakeStripe},
    fleet, on_each_engine, pass, start_url, TestApp,
};
use serde_json::Value;

const TOKEN: &str = "metrics-token-0123456789abcdef0123456789";
const WHSEC: &str = "whsec_ops";

async fn res_cache_control(app: &TestApp) -> String {
    let res = app
        .client
        .get(app.url("/metrics"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    res.headers()["cache-control"].to_str().unwrap().to_string()
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tessera")
}

#[tokio::test]
async fn metrics_need_their_token_and_every_answer_carries_a_request_id() {
    on_each_engine(&[("METRICS_TOKEN", TOKEN)], |app| async move {
        app.seed_demo().await;
        let res = app.get("/").await;
        let first = res.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(first.len(), 32, "a request id: {first}");
        // A client's own id is not taken (no trusted proxy): it could forge log lines' ids.
        let res = app
            .client
            .get(app.url("/talks"))
            .header("x-request-id", "chosen-by-me")
            .send()
            .await
            .unwrap();
        let second = res.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(second != first && second != "chosen-by-me");

        let metrics = |auth: Option<&'static str>| {
            let mut r = app.client.get(app.url("/metrics"));
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            r.send()
        };
        assert_eq!(metrics(None).await.unwrap().status().as_u16(), 401);
        assert_eq!(
            metrics(Some("Bearer wrong-token-0123456789abcdef0123456789"))
                .await
                .unwrap()
                .status()
                .as_u16(),
            401
        );
        assert_eq!(
            metrics(Some("bearer metrics-token-0123456789abcdef0123456789"))
                .await
                .unwrap()
                .status()
                .as_u16(),
            200,
            "the scheme's name is case-insensitive"
        );
        let res = metrics(Some("Bearer metrics-token-0123456789abcdef0123456789"))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "[{}]", app.engine);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = res.text().await.unwrap();
        for series in [
            "tessera_http_requests_total{route=\"/\",status=\"200\"}",
            "tessera_http_request_duration_seconds_bucket{route=\"/\",le=\"0.005\"}",
            "tessera_mail_outbox_pending",
            "tessera_mail_outbox_failing",
            "tessera_db_pool_connections{state=\"idle\"}",
            "tessera_db_pool_max_connections",
            "tessera_job_runs_total{job=\"reservation_sweep\",result=\"ok\"}",
        ] {
            assert!(
                text.contains(series),
                "[{}] {series} in:\n{text}",
                app.engine
            );
        }
        assert!(
            text.lines().any(|l| l.starts_with("tessera_seats_left{")
                && l.contains("pass=\"Pass Jour 1\"")
                && l.contains("pass_id=\"")),
            "[{}] seats left by pass in:\n{text}",
            app.engine
        );
        // The levels' queries work on this engine (the recorder is the process's: other tests' apps
        // share it, so the figures alone would not tell).
        tessera::server::metrics::read_levels(&app.state)
            .await
            .unwrap();
        assert_eq!(
            res_cache_control(&app).await,
            "no-store",
            "no shared cache keeps what a token opened"
        );
        // A path nobody routes is one series, not one per address.
        app.get("/no/such/page/1").await;
        app.get("/no/such/page/2").await;
        let text = metrics(Some("Bearer metrics-token-0123456789abcdef0123456789"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !text.contains("/no/such/page"),
            "raw paths never become labels"
        );
    })
    .await;
    // Without METRICS_TOKEN (nor METRICS_ADDR), the site has no /metrics at all.
    on_each_engine(&[], |app| async move {
        let res = app
            .client
            .get(app.url("/metrics"))
            .header("authorization", "Bearer ")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 404);
    })
    .await;
}

async fn buy(app: &TestApp, fake: &FakeStripe, token: &str, pass: uuid::Uuid) -> bool {
    let c = fleet::client(Some(token));
    let form = fleet::checkout_form(pass, 2);
    let res = c
        .post(app.url("/api/checkout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let Some(location) = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        panic!(
            "checkout: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
    };
    let session = fleet::session_of(&location);
    fake.mark_paid(&session, &format!("pi_{session}"));
    let at = chrono::Utc::now().timestamp();
    let url = app.url("/stripe/webhook");
    let (_, answer) = send_event(&c, &url, &completed(&session), WHSEC, at)
        .await
        .unwrap();
    answer == "paid"
}

async fn run(args: &[&str], url: &str) -> (i32, String) {
    let (args, url): (Vec<String>, String) =
        (args.iter().map(|a| a.to_string()).collect(), url.into());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin())
            .args(args)
            .env_clear()
            .env("DATABASE_URL", url)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn a_backup_taken_while_orders_are_written_restores_into_a_new_database_that_serves_them() {
    let fake = FakeStripe::start().await;
    let mut env = fake.env(WHSEC);
    env.push(("TRUST_PROXY", "true".to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let env2 = env.clone();
    on_each_engine(&env, |app| {
        let fake = fake.clone();
        let env = env2.clone();
        async move {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("backup.db");
            let url = app.state.config.database_url.clone();
            if app.engine == "postgres" {
                let (code, text) = run(&["backup", file.to_str().unwrap()], &url).await;
                assert_eq!(code, 2, "{text}");
                assert!(text.contains("pg_dump --format=custom"), "the command says how: {text}");
                let (code, text) = run(&["restore", file.to_str().unwrap()], &url).await;
                assert_eq!((code, text.contains("pg_restore")), (2, true), "{text}");
                return;
            }
            app.seed_demo().await;
            let two_days = pass(&app, "Pass 2 jours").await;
            let now = tessera::server::now();
            let mut tokens = vec![];
            for i in 0..100 {
                let id = uuid::Uuid::new_v4();
                tessera::db_run!(app.db(), pool => sqlx::query("INSERT INTO users (id, email, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)")
                    .bind(id).bind(format!("saver{i}@example.org")).bind(now).execute(pool).await.map(|_| ())).unwrap();
                tokens.push(fleet::session_for(app.db(), id).await);
            }
            // Buyers keep buying while the backup is taken.
            let app = std::sync::Arc::new(app);
            let writer = {
                let (app, fake, tokens) = (app.clone(), fake.clone(), tokens.clone());
                tokio::spawn(async move {
                    for t in &tokens {
                        assert!(buy(&app, &fake, t, two_days).await);
                    }
                })
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while app.count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'").await < 10 {
                assert!(!writer.is_finished() && std::time::Instant::now() < deadline, "the buyers stopped before 10 orders were paid");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let paid_before = app.count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'").await;
            let (code, text) = run(&["backup", file.to_str().unwrap()], &url).await;
            assert_eq!(code, 0, "{text}");
            assert!(text.starts_with("Backed up to"), "{text}");
            let writes_during = !writer.is_finished();
            writer.await.unwrap();
            assert!(writes_during, "the orders were still being written when the backup ended");
            let (code, text) = run(&["backup", file.to_str().unwrap()], &url).await;
            assert_eq!(code, 1, "a backup never overwrites a file: {text}");

            // Restored into a new database, the app starts on it with every paid order and ticket.
            let restored = dir.path().join("restored/tessera.db");
            let new_url = format!("sqlite:{}", restored.display());
            let (code, text) = run(&["restore", file.to_str().unwrap()], &new_url).await;
            assert_eq!(code, 0, "{text}");
            let (code, text) = run(&["restore", file.to_str().unwrap()], &new_url).await;
            assert_eq!(code, 1, "a database holding data is not replaced without --force: {text}");
            assert!(text.contains("--force"));
            let again = start_url(&new_url, &env).await;
            let (code, text) = run(&["restore", file.to_str().unwrap(), "--force"], &new_url).await;
            assert_eq!(code, 1, "never over a database the site has open, even with --force: {text}");
            assert!(text.contains("stop it first"), "{text}");
            let paid = again.count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'").await;
            assert!(paid >= paid_before && paid < 100, "the backup holds the orders paid before it ({paid_before} ≤ {paid} < 100)");
            let short = again.count("SELECT COUNT(*) FROM orders o WHERE o.status = 'PAID' AND (SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id) <> 2").await;
            assert_eq!(short, 0, "every paid order has its two tickets");
            let (sold, reserved): (i64, i64) = tessera::db_run!(again.db(), pool => sqlx::query_as("SELECT sold_count, reserved_count FROM ticket_types WHERE id = $1").bind(two_days).fetch_one(pool).await).unwrap();
            let tickets = again.count("SELECT COUNT(*) FROM tickets WHERE status = 'VALID'").await;
            assert_eq!(sold, tickets, "seats sold = tickets, as of one instant");
            let pending = again.count("SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status = 'PENDING_PAYMENT'").await;
            assert_eq!(reserved, pending);
            // The first buyer's session and tickets work on the restored site.
            let first = fleet::client(Some(&tokens[0]));
            let mine: Value = first.post(again.url("/api/my_tickets")).send().await.unwrap().json().await.unwrap();
            assert_eq!(mine.as_array().map(Vec::len), Some(2), "{mine}");
            let page = first.get(again.url("/me/tickets")).send().await.unwrap();
            assert_eq!(page.status().as_u16(), 200);
        }
    })
    .await;
}

#[tokio::test]
async fn a_rush_of_logins_keeps_the_servers_memory_bounded() {
    // 300 sign-ins at once, from 300 addresses, with wrong passwords (the server checks a hash
    // whatever the address: the same work). Each hash takes 19 MiB: all at once, 5.6 GiB; the
    // server computes one per core at a time and keeps the others waiting.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("rush.db").display());
    let db = tessera::server::db::Db::connect(&url, 2).await.unwrap();
    db.migrate().await.unwrap();
    db.close().await;
    let fleet = fleet::Fleet::start(1, &url, &[("TRUST_PROXY", "true")]).await;
    let base_mib = fleet.instances[0].peak_mib().expect("the process's memory");
    let logins: Vec<_> = (0..300)
        .map(|i| {
            let url = fleet.instances[0].url("/api/login");
            tokio::spawn(async move {
                let email = format!("nobody{i}@example.org");
                fleet::client(None)
                    .post(url)
                    .form(&[
                        ("email", email.as_str()),
                        ("password", "not the right one at all"),
                    ])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for l in logins {
        let status = l.await.unwrap().expect("every sign-in answered");
        assert!((400..500).contains(&status) && status != 429, "{status}");
    }
    let peak = fleet.instances[0].peak_mib().expect("the process's memory");
    eprintln!("300 sign-ins at once: peak {peak} MiB (from {base_mib} MiB)");
    assert!(
        peak < base_mib + 500,
        "the server's memory peaked at {peak} MiB (it started at {base_mib} MiB)"
    );
}

/// A request dropped while its write transaction began (a phone gone off the network) could leave
/// SQLite's one writer connection inside a transaction nobody held: every later write failed with
/// "begin_with at non-zero transaction depth" (seen in the offline door's Chromium test). The
/// writer is now replaced, and writes go on.
#[tokio::test]
async fn a_writer_left_inside_a_transaction_is_replaced_and_writes_go_on() {
    on_each_engine(&[], |app| async move {
        let tessera::server::db::Db::Sqlite(_, gate) = app.db() else {
            return;
        };
        {
            let mut conn = gate.writer.acquire().await.unwrap();
            let leaked = sqlx::Connection::begin(&mut *conn).await.unwrap();
            std::mem::forget(leaked);
        }
        let mut tx = app
            .db()
            .begin()
            .await
            .expect("a write transaction despite the one left open");
        tessera::tx_run!(&mut tx, c => sqlx::query("UPDATE door_counter SET n = n + 1000 WHERE id = 1")
            .execute(c).await.map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        assert!(
            app.count("SELECT n FROM door_counter WHERE id = 1").await >= 1000,
            "committed, seen by the readers"
        );
    })
    .await;
}
