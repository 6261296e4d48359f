//! The four flows people feel, over real HTTP against the release server binary (its own process,
//! so its RSS is its own), on SQLite and on PostgreSQL (when one answers at TEST_POSTGRES_URL):
//!   - the programme page `/` (anonymous, as a browser asks for it: `Accept-Encoding: gzip, br`),
//!     with the page cache on and off (`PAGE_CACHE=false`, today's renders for the before/after);
//!   - the shop page `/tickets` (anonymous);
//!   - a door redeem, `/api/scan_redeem`, by logged-in stewards cycling over 50 tickets, on the
//!     default list (once a day: `redeem`) and on an in/out list, entries and exits in turn
//!     (`redeem-inout`: nearly every scan writes an entry or an exit);
//!   - an order creation, `/api/checkout`, by logged-in attendees (each attendee makes as many as
//!     the checkout rate limit lets one person make, then the next attendee takes over).
//!
//! Each flow: CONNECTIONS connections (32) for SECONDS seconds (20). Prints requests/s, p50, p99,
//! errors (transport errors and answers other than 2xx/3xx) and the server's RSS after the flow.
//!   cargo bench --features ssr --bench http_load
//!   FLOWS=programme,shop SECONDS=10 cargo bench --features ssr --bench http_load
#[path = "support/mod.rs"]
mod support;

use std::{
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tessera::{
    accounts::session::{hash_token, SESSION_COOKIE},
    server::db::Db,
};
use uuid::Uuid;

const SECRET: &str = "bench-secret-key-that-is-long-enough-0123456789";
/// Checkouts one attendee may start per 10 minutes (the shop's rate limit).
const CHECKOUTS_PER_ATTENDEE: usize = 10;

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(url: &str, page_cache: bool) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", url)
            .env("SECRET_KEY", SECRET)
            .env("ADDR", format!("127.0.0.1:{port}"))
            .env("SEED_DEMO", "false")
            .env("DB_MAX_CONNECTIONS", "16")
            .env("TRUST_PROXY", "true")
            .env(
                "MAX_OPEN_ORDERS_PER_ACCOUNT",
                CHECKOUTS_PER_ATTENDEE.to_string(),
            )
            .env("PAGE_CACHE", page_cache.to_string())
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("the tessera binary starts");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&self) {
        for _ in 0..600 {
            if let Ok(r) = reqwest::get(format!("{}/readyz", self.base)).await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    /// Resident memory of the server process, in MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the flows need in the database: the demo conference, a pass nobody can sell out, 50 paid
/// tickets, stewards and attendees with their sessions (inserted directly: logging in is not what
/// is measured).
struct Fixture {
    pass: Uuid,
    /// An in/out check-in list (a cloakroom) for `redeem-inout`.
    inout: Uuid,
    tickets: Vec<String>,
    stewards: Vec<String>,
    attendees: Vec<String>,
}

async fn session(db: &Db, user: Uuid) -> String {
    let token = format!("bench-{}", Uuid::new_v4().simple());
    let now = tessera::server::now();
    tessera::db_run!(db, pool => sqlx::query("INSERT INTO sessions (id, user_id, token_hash, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)")
        .bind(Uuid::new_v4()).bind(user).bind(hash_token(&token)).bind(now).bind(now + chrono::Duration::days(1))
        .execute(pool).await.map(|_| ())).unwrap();
    token
}

async fn account(db: &Db, email: &str, role: &str) -> Uuid {
    let id = Uuid::new_v4();
    let now = tessera::server::now();
    tessera::db_run!(db, pool => sqlx::query("INSERT INTO users (id, email, role, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $4)")
        .bind(id).bind(email).bind(role).bind(now).execute(pool).await.map(|_| ())).unwrap();
    id
}

async fn fixture(url: &str, connections: usize, attendees: usize) -> Fixture {
    let config = support::config(url, &[("MAX_TICKETS_PER_ORDER", "50")]);
    let db = Db::connect(url, 8).await.unwrap();
    db.migrate().await.unwrap();
    tessera::server::demo::seed_conference(&db, &config)
        .await
        .unwrap();
    let now = tessera::server::now();
    let pass = Uuid::new_v4();
    tessera::db_run!(&db, pool => sqlx::query("INSERT INTO ticket_types (id, name, price_cents, currency, capacity, is_active, created_at, updated_at) VALUES ($1, 'Bench', 1000, 'eur', 100000000, $2, $3, $3)")
        .bind(pass).bind(true).bind(now).execute(pool).await.map(|_| ())).unwrap();
    let inout = Uuid::new_v4();
    tessera::db_run!(&db, pool => sqlx::query("INSERT INTO checkin_lists (id, name, rule, all_passes, created_at) VALUES ($1, 'Vestiaire', 'INOUT', $2, $3)")
        .bind(inout).bind(true).bind(now).execute(pool).await.map(|_| ())).unwrap();
    let buyer = account(&db, "holder@example.org", "USER").await;
    let tickets = support::paid_tickets(&db, &config, buyer, pass, 50, 1).await;
    let mut stewards = vec![];
    for i in 0..connections {
        let id = account(&db, &format!("steward{i}@example.org"), "STAFF_SCAN").await;
        stewards.push(session(&db, id).await);
    }
    let mut people = vec![];
    for i in 0..attendees {
        let id = account(&db, &format!("attendee{i}@example.org"), "USER").await;
        people.push(session(&db, id).await);
    }
    db.close().await;
    Fixture {
        pass,
        inout,
        tickets,
        stewards,
        attendees: people,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Flow {
    Programme,
    Shop,
    Redeem,
    RedeemInOut,
    Checkout,
}

impl Flow {
    fn name(self) -> &'static str {
        match self {
            Flow::Programme => "programme",
            Flow::Shop => "shop",
            Flow::Redeem => "redeem",
            Flow::RedeemInOut => "redeem-inout",
            Flow::Checkout => "checkout",
        }
    }
}

struct Figures {
    latencies: Vec<f64>,
    errors: usize,
}

/// One connection's loop: a client of its own (one keep-alive connection), until the deadline.
async fn connection(
    flow: Flow,
    base: String,
    n: usize,
    fixture: Arc<Fixture>,
    next_attendee: Arc<AtomicUsize>,
    until: Instant,
) -> Figures {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut figures = Figures {
        latencies: vec![],
        errors: 0,
    };
    let mut attendee = None;
    let mut made = 0;
    let mut i = n;
    while Instant::now() < until {
        let request = match flow {
            Flow::Programme => client
                .get(format!("{base}/"))
                .header("accept-encoding", "gzip, br"),
            Flow::Shop => client
                .get(format!("{base}/tickets"))
                .header("accept-encoding", "gzip, br"),
            Flow::Redeem => {
                let token = &fixture.tickets[i % fixture.tickets.len()];
                i += 1;
                client
                    .post(format!("{base}/api/scan_redeem"))
                    .header(
                        "cookie",
                        format!("{SESSION_COOKIE}={}", fixture.stewards[n]),
                    )
                    .form(&[
                        ("token", token.as_str()),
                        ("scan_id", &Uuid::new_v4().to_string()),
                    ])
            }
            Flow::RedeemInOut => {
                let round = i / fixture.tickets.len();
                let token = &fixture.tickets[i % fixture.tickets.len()];
                i += 1;
                let direction = if round.is_multiple_of(2) { "IN" } else { "OUT" };
                client
                    .post(format!("{base}/api/scan_redeem"))
                    .header(
                        "cookie",
                        format!("{SESSION_COOKIE}={}", fixture.stewards[n]),
                    )
                    .form(&[
                        ("token", token.as_str()),
                        ("scan_id", &Uuid::new_v4().to_string()),
                        ("list_id", &fixture.inout.to_string()),
                        ("direction", direction),
                    ])
            }
            Flow::Checkout => {
                if attendee.is_none() || made == CHECKOUTS_PER_ATTENDEE {
                    let k = next_attendee.fetch_add(1, Ordering::Relaxed);
                    let Some(token) = fixture.attendees.get(k) else {
                        eprintln!("checkout: out of attendees (raise ATTENDEES)");
                        break;
                    };
                    attendee = Some((
                        token.clone(),
                        format!("10.{}.{}.{}", k >> 16 & 255, k >> 8 & 255, k & 255),
                    ));
                    made = 0;
                }
                made += 1;
                let (token, ip) = attendee.as_ref().unwrap();
                client
                    .post(format!("{base}/api/checkout"))
                    .header("cookie", format!("{SESSION_COOKIE}={token}"))
                    .header("x-forwarded-for", ip.as_str())
                    .form(&[
                        ("lines[0][ticket_type_id]", fixture.pass.to_string()),
                        ("lines[0][quantity]", "1".to_string()),
                    ])
            }
        };
        let started = Instant::now();
        let ok = match request.send().await {
            Ok(res) => {
                let status = res.status();
                res.bytes().await.is_ok() && (status.is_success() || status.is_redirection())
            }
            Err(_) => false,
        };
        figures
            .latencies
            .push(started.elapsed().as_secs_f64() * 1000.0);
        if !ok {
            figures.errors += 1;
        }
    }
    figures
}

async fn run_flow(
    label: &str,
    server: &Server,
    flow: Flow,
    note: &str,
    fixture: Arc<Fixture>,
    connections: usize,
    seconds: u64,
) {
    let next_attendee = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|n| {
            tokio::spawn(connection(
                flow,
                server.base.clone(),
                n,
                fixture.clone(),
                next_attendee.clone(),
                until,
            ))
        })
        .collect();
    let mut lat = vec![];
    let mut errors = 0;
    for t in tasks {
        let f = t.await.expect("connection task");
        lat.extend(f.latencies);
        errors += f.errors;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| support::percentile(&lat, p);
    println!(
        "{label:<9} {:<18} conns={connections:<3} req/s={:>7.0}  p50={:>7.2} ms  p99={:>7.2} ms  errors={errors:<5} server RSS={:>6.1} MiB",
        format!("{}{note}", flow.name()),
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        server.rss_mib(),
    );
}

#[tokio::main]
async fn main() {
    let connections = support::env_usize("CONNECTIONS", 32);
    let seconds = support::env_usize("SECONDS", 20) as u64;
    let attendees = support::env_usize("ATTENDEES", 3000);
    let flows: Vec<Flow> = std::env::var("FLOWS")
        .unwrap_or_else(|_| "programme,shop,redeem,checkout".into())
        .split(',')
        .filter_map(|f| match f.trim() {
            "programme" => Some(Flow::Programme),
            "shop" => Some(Flow::Shop),
            "redeem" => Some(Flow::Redeem),
            "redeem-inout" => Some(Flow::RedeemInOut),
            "checkout" => Some(Flow::Checkout),
            _ => None,
        })
        .collect();
    support::on_engines(|label, url| {
        let flows = flows.clone();
        async move {
            let checkout = flows.contains(&Flow::Checkout);
            let fixture =
                Arc::new(fixture(&url, connections, if checkout { attendees } else { 0 }).await);
            for cached in [false, true] {
                let server = Server::start(&url, cached);
                server.ready().await;
                for &flow in &flows {
                    // The page cache only serves the programme: the other flows run once.
                    if flow != Flow::Programme && !cached {
                        continue;
                    }
                    let note = match (flow, cached) {
                        (Flow::Programme, false) => " (no cache)",
                        (Flow::Programme, true) => " (cache)",
                        _ => "",
                    };
                    run_flow(
                        label,
                        &server,
                        flow,
                        note,
                        fixture.clone(),
                        connections,
                        seconds,
                    )
                    .await;
                }
            }
        }
    })
    .await;
}
