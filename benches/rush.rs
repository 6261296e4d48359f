//! A ticket launch: BUYERS people (5 000) arrive within ARRIVAL_SECONDS (30) for SEATS seats
//! (1 000), each signing in, opening the shop, checking out and paying in test mode, against
//! 3 instances on one PostgreSQL database behind a round-robin proxy, 1 instance on PostgreSQL, and
//! 1 on SQLite (the release binary, real processes). Prints orders/s, p50/p99 per step, errors,
//! and the most database connections in use.
//!
//!   cargo bench --features ssr --bench rush
//!   BUYERS=1000 SEATS=200 SETUPS=pg3,sqlite cargo bench --features ssr --bench rush
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tessera::server::{self, db::Db};
use uuid::Uuid;

#[path = "support/mod.rs"]
mod support;

#[path = "../tests/app/common/fleet.rs"]
#[allow(dead_code)]
mod fleet;

const PASSWORD: &str = "a long enough passphrase";

/// The steps of one buyer, in order.
const STEPS: [&str; 4] = ["sign-in", "shop page", "checkout", "payment"];

#[derive(Default)]
struct Tally {
    /// Latencies (ms) per step.
    latencies: BTreeMap<&'static str, Vec<f64>>,
    /// Errors per step and kind (`429`, `500`, `connection`…).
    errors: BTreeMap<String, usize>,
    paid: usize,
    sold_out: usize,
}

async fn database(engine: &str) -> (String, Option<(String, String)>, Option<tempfile::TempDir>) {
    if engine == "sqlite" {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("rush.db").display());
        return (url, None, Some(dir));
    }
    use sqlx::{Connection, Executor};
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL at TEST_POSTGRES_URL");
    let name = format!("tessera_rush_{}", Uuid::new_v4().simple());
    c.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    (url, Some((admin, name)), None)
}

/// The demo conference, one pass of `seats` seats, and `buyers` accounts sharing one password
/// hash (one argon2 run instead of thousands; each sign-in still verifies it).
async fn prepare(url: &str, buyers: usize, seats: usize) -> (Db, Uuid) {
    let config = support::config(url, &[]);
    let state = server::prepare(config.clone()).await.unwrap();
    state.shutdown.stop_workers(Duration::from_secs(5)).await;
    server::demo::seed_conference(&state.db, &config)
        .await
        .unwrap();
    let db = state.db.clone();
    let (pass,): (Uuid,) = tessera::db_run!(&db, pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = 'Pass Jour 1'").fetch_one(pool).await).unwrap();
    tessera::db_write!(&db, pool => sqlx::query("UPDATE ticket_types SET capacity = $1 WHERE id = $2").bind(seats as i64).bind(pass).execute(pool).await.map(|_| ())).unwrap();
    let hash = tessera::accounts::service::hash_password(PASSWORD.into())
        .await
        .unwrap();
    let now = server::now();
    for chunk in (0..buyers).collect::<Vec<_>>().chunks(500) {
        let mut tx = db.begin().await.unwrap();
        for i in chunk {
            let id = Uuid::new_v4();
            tessera::tx_run!(&mut tx, c => async {
                sqlx::query("INSERT INTO users (id, email, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)")
                    .bind(id).bind(format!("rush{i}@example.org")).bind(now).execute(&mut *c).await?;
                sqlx::query("INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)")
                    .bind(id).bind(&hash).bind(now).execute(&mut *c).await.map(|_| ())
            }.await).unwrap();
        }
        tx.commit().await.unwrap();
    }
    (db, pass)
}

/// One buyer: the steps, each timed; stops at the first error or when sold out.
async fn buyer(base: String, i: usize, pass: Uuid, tally: Arc<std::sync::Mutex<Tally>>) {
    // Each buyer comes from an address of their own (as through the venue's or their phone's
    // network), which the instances read from X-Forwarded-For.
    let mut headers = reqwest::header::HeaderMap::new();
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    let c = reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let email = format!("rush{i}@example.org");
    let mut session = String::new();
    for step in STEPS {
        let started = Instant::now();
        let req = match step {
            "sign-in" => c
                .post(format!("{base}/api/login"))
                .form(&[("email", email.as_str()), ("password", PASSWORD)]),
            "shop page" => c.get(format!("{base}/tickets")),
            "checkout" => c
                .post(format!("{base}/api/checkout"))
                .form(&fleet::checkout_form(pass, 1)),
            _ => c
                .post(format!("{base}/api/test_checkout_act"))
                .form(&[("session_id", session.as_str()), ("outcome", "pay")]),
        };
        let res = req.send().await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut t = tally.lock().unwrap();
        let res = match res {
            Ok(r) => r,
            Err(_) => {
                *t.errors.entry(format!("{step}: connection")).or_default() += 1;
                return;
            }
        };
        let status = res.status().as_u16();
        let location = fleet::location(&res);
        drop(t);
        let body = res.text().await.unwrap_or_default();
        let mut t = tally.lock().unwrap();
        t.latencies.entry(step).or_default().push(ms);
        match (step, status) {
            ("checkout", 422) if body.contains("not_enough_left") => {
                t.sold_out += 1;
                return;
            }
            ("checkout", s) if s < 400 => {
                session = location
                    .as_deref()
                    .map(fleet::session_of)
                    .unwrap_or_default();
            }
            ("payment", s) if s < 400 => t.paid += 1,
            (_, s) if s < 400 => {}
            (_, s) => {
                *t.errors.entry(format!("{step}: {s}")).or_default() += 1;
                return;
            }
        }
    }
}

/// The most connections the database had open for the app at once, sampled every 200 ms.
async fn watch_connections(url: String, stop: Arc<AtomicUsize>) -> usize {
    let mut most = 0;
    if !url.starts_with("postgres") {
        return 0;
    }
    let Ok(db) = Db::connect(&url, 1).await else {
        return 0;
    };
    while stop.load(Ordering::SeqCst) == 0 {
        let n: Result<(i64,), _> = tessera::db_run!(&db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()")
            .fetch_one(pool).await);
        if let Ok((n,)) = n {
            most = most.max(n as usize);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    db.close().await;
    most
}

/// The pools' connections in use, summed over the instances (their /metrics), most seen.
async fn pool_in_use(fleet: &fleet::Fleet) -> usize {
    let mut sum = 0.0;
    for inst in &fleet.instances {
        if let Ok(r) = reqwest::get(format!("http://{}/metrics", inst.metrics)).await {
            let text = r.text().await.unwrap_or_default();
            sum += text
                .lines()
                .find(|l| l.starts_with("tessera_db_pool_connections{state=\"in_use\"}"))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0);
        }
    }
    sum as usize
}

async fn run(label: &str, instances: usize, engine: &str) {
    let buyers = support::env_usize("BUYERS", 5000);
    let seats = support::env_usize("SEATS", 1000);
    let arrival = support::env_usize("ARRIVAL_SECONDS", 30) as f64;
    let (url, pg, _dir) = database(engine).await;
    let (db, pass) = prepare(&url, buyers, seats).await;
    let env = [
        ("TRUST_PROXY", "true"),
        ("DB_MAX_CONNECTIONS", "16"),
        ("RUST_LOG", "warn,sqlx=error"),
        ("MAIL_POLL_MS", "1000"),
    ];
    let fleet = fleet::Fleet::start(instances, &url, &env).await;
    let tally: Arc<std::sync::Mutex<Tally>> = Default::default();
    let stop = Arc::new(AtomicUsize::new(0));
    let watcher = tokio::spawn(watch_connections(url.clone(), stop.clone()));
    let started = Instant::now();
    let mut tasks = vec![];
    let mut most_in_pool = 0;
    for i in 0..buyers {
        // Arrivals spread evenly over the window.
        let at = Duration::from_secs_f64(arrival * i as f64 / buyers as f64);
        if let Some(wait) = at.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if i % 250 == 0 {
            most_in_pool = most_in_pool.max(pool_in_use(&fleet).await);
        }
        tasks.push(tokio::spawn(buyer(fleet.url(""), i, pass, tally.clone())));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(1, Ordering::SeqCst);
    let db_conns = watcher.await.unwrap_or(0);
    let (paid_db,): (i64,) = tessera::db_run!(&db, pool => sqlx::query_as("SELECT COUNT(*) FROM orders WHERE status = 'PAID'").fetch_one(pool).await).unwrap();
    let t = std::mem::take(&mut *tally.lock().unwrap());
    println!(
        "\n{label}: {buyers} buyers over {arrival:.0} s for {seats} seats; all done in {elapsed:.1} s"
    );
    println!(
        "  paid orders {} (database: {paid_db}), sold out {}, orders/s {:.1}, errors {}",
        t.paid,
        t.sold_out,
        t.paid as f64 / elapsed,
        t.errors.values().sum::<usize>()
    );
    for step in STEPS {
        let mut lat = t.latencies.get(step).cloned().unwrap_or_default();
        if lat.is_empty() {
            continue;
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "  {step:<10} n={:<5} p50={:>8.1} ms  p99={:>8.1} ms  max={:>8.1} ms",
            lat.len(),
            support::percentile(&lat, 0.5),
            support::percentile(&lat, 0.99),
            lat[lat.len() - 1]
        );
    }
    for (what, n) in &t.errors {
        println!("  error {what}: {n}");
    }
    if engine == "postgres" {
        println!("  database connections busy at once (pg_stat_activity, sampled): {db_conns}");
    }
    println!("  pool connections in use, summed over instances (sampled): {most_in_pool}");
    if !t.errors.is_empty() && std::env::var("SHOW_LOGS").is_ok() {
        println!("{}", fleet.logs());
    }
    drop(fleet);
    db.close().await;
    if let Some((admin, name)) = pg {
        use sqlx::{Connection, Executor};
        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
            let _ = c
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

#[tokio::main]
async fn main() {
    let setups = std::env::var("SETUPS").unwrap_or_else(|_| "pg3,pg1,sqlite".into());
    println!(
        "ticket-launch rush ({} cores; release build of the server)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for s in setups.split(',') {
        match s.trim() {
            "pg3" => run("3 instances, PostgreSQL, round-robin proxy", 3, "postgres").await,
            "pg1" => run("1 instance, PostgreSQL", 1, "postgres").await,
            "sqlite" => run("1 instance, SQLite", 1, "sqlite").await,
            other => println!("unknown setup {other} (pg3, pg1, sqlite)"),
        }
    }
}
