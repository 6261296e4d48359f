//! Black-box test harness: every test runs against a fresh SQLite file and, when PostgreSQL is
//! reachable, a fresh PostgreSQL database; the app is started on a real port and spoken to over HTTP.
#![allow(dead_code)]
pub mod fake_stripe;
pub mod fleet;
pub mod smtp;

use std::{collections::HashMap, future::Future, net::SocketAddr};
use tessera::server::{self, config::Config, db::Db, AppState};

pub const ENGINES_ENV: &str = "TESSERA_TEST_ENGINES";

/// The settings of a production instance in the tests (its mail goes nowhere).
pub const PRODUCTION: [(&str, &str); 2] = [
    ("TESSERA_ENV", "production"),
    ("SMTP_URL", "smtp://127.0.0.1:1"),
];

/// Addresses a production instance never fetches from nor posts to: this machine's database, the
/// cloud's metadata service, IPv6 loopback, a private network.
pub const NOT_PUBLIC: [&str; 4] = [
    "http://localhost:5432/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/x",
    "http://10.0.0.1/x",
];

/// The admin URL of the test PostgreSQL server (trust auth, user postgres).
fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub enum Engine {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Engine {
    pub fn label(&self) -> &'static str {
        match self {
            Engine::Sqlite(_) => "sqlite",
            Engine::Postgres { .. } => "postgres",
        }
    }

    fn url(&self) -> String {
        match self {
            Engine::Sqlite(dir) => format!("sqlite:{}", dir.path().join("test.db").display()),
            Engine::Postgres { admin_url, name } => {
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(admin_url);
                format!("{base}/{name}")
            }
        }
    }
}

async fn postgres_engine() -> Option<Engine> {
    use sqlx::{Connection, Executor};
    let admin_url = postgres_admin_url();
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::PgConnection::connect(&admin_url),
    )
    .await;
    let mut conn = match connect {
        Ok(Ok(c)) => c,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".into(),
            };
            if std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("REQUIRE_POSTGRES=1 but PostgreSQL at {admin_url} is unreachable: {why}");
            }
            eprintln!("\n!!!!!!!! SKIPPED POSTGRES: {admin_url} unreachable ({why}); this test ran on SQLite only !!!!!!!!\n");
            return None;
        }
    };
    let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    Some(Engine::Postgres { admin_url, name })
}

async fn drop_engine(engine: &Engine) {
    use sqlx::{Connection, Executor};
    if let Engine::Postgres { admin_url, name } = engine {
        if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// The engines to test: both by default (`TESSERA_TEST_ENGINES=sqlite` or `postgres` narrows it).
async fn engines() -> Vec<Engine> {
    let wanted = std::env::var(ENGINES_ENV).unwrap_or_else(|_| "sqlite,postgres".into());
    let mut out = vec![];
    if wanted.contains("sqlite") {
        out.push(Engine::Sqlite(tempfile::tempdir().expect("temp dir")));
    }
    if wanted.contains("postgres") {
        if let Some(pg) = postgres_engine().await {
            out.push(pg);
        }
    }
    out
}

pub fn test_config(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("DATABASE_URL".into(), database_url.into());
    vars.insert(
        "SECRET_KEY".into(),
        "test-secret-key-that-is-long-enough-0123456789".into(),
    );
    vars.insert("ADDR".into(), "127.0.0.1:0".into());
    vars.insert("SEED_DEMO".into(), "false".into());
    vars.insert("DB_MAX_CONNECTIONS".into(), "8".into());
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_map(&vars).expect("test configuration")
}

/// A running app on one engine.
pub struct TestApp {
    pub engine: &'static str,
    pub state: AppState,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.text().await.expect("body"))
    }

    /// A client with its own cookie jar: another browser.
    pub fn new_client(&self) -> reqwest::Client {
        browser()
    }

    /// Calls a server function as the browser's client does (a form-encoded POST); returns the
    /// status and the JSON answer (`null` when empty).
    pub async fn call_as(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let res = client
            .post(self.url(&format!("/api/{endpoint}")))
            .form(form)
            .send()
            .await
            .expect("server function call");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        self.call_as(&self.client, endpoint, form).await
    }

    /// The newest mail to `to` in the outbox: (kind, text body).
    pub async fn last_mail_to(&self, to: &str) -> Option<(String, String)> {
        let row: Option<(String, Option<String>)> = tessera::db_run!(self.db(), pool => sqlx::query_as(
            "SELECT type, body_text FROM outbox_emails WHERE to_address = $1 ORDER BY created_at DESC LIMIT 1")
            .bind(to).fetch_optional(pool).await).unwrap();
        row.map(|(k, b)| (k, b.unwrap_or_default()))
    }

    /// Counts rows of a query returning one integer.
    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) =
            tessera::db_run!(self.db(), pool => sqlx::query_as(sql).fetch_one(pool).await).unwrap();
        n
    }

    /// Creates an account directly (verified), returning its id.
    pub async fn user(
        &self,
        email: &str,
        password: &str,
        role: tessera::accounts::Role,
    ) -> uuid::Uuid {
        tessera::accounts::service::create_user(
            self.db(),
            tessera::accounts::service::NewUser {
                email,
                password,
                role,
                first_name: Some("Test"),
                last_name: Some("User"),
                verified: true,
            },
        )
        .await
        .unwrap()
    }

    /// A client logged in as `email`.
    pub async fn logged_in(&self, email: &str, password: &str) -> reqwest::Client {
        let client = self.new_client();
        let (status, body) = self
            .call_as(
                &client,
                "login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert!(status < 300, "login of {email} failed: {status} {body}");
        client
    }

    /// Loads the demo conference (talks, passes, accounts; no orders) into this app's database.
    pub async fn seed_demo(&self) {
        tessera::server::demo::seed_conference(&self.state.db, &self.state.config)
            .await
            .expect("demo data");
    }
}

/// A browser-like client: its own cookie jar, redirects not followed, and a deadline so that a
/// request that never answers fails its test with a message instead of hanging the suite.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) tessera-tests Firefox/140.0")
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(45))
        .build()
        .unwrap()
}

async fn start(engine: &Engine, extra: &[(&str, &str)]) -> TestApp {
    let mut app = start_url(&engine.url(), extra).await;
    app.engine = engine.label();
    app
}

/// Starts the app on the database at `url` (a restored backup, say).
pub async fn start_url(url: &str, extra: &[(&str, &str)]) -> TestApp {
    let config = test_config(url, extra);
    let state = server::prepare(config).await.expect("app state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let app = server::router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    let client = browser();
    TestApp {
        engine: if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
        state,
        addr,
        client,
    }
}

/// Runs `test` once per engine, each time against a fresh, migrated database and a started app.
pub async fn on_each_engine<F, Fut>(extra: &[(&str, &str)], test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let engines = engines().await;
    assert!(!engines.is_empty(), "{ENGINES_ENV} selects no engine");
    for engine in &engines {
        let app = start(engine, extra).await;
        eprintln!("-- on {}", engine.label());
        test(app).await;
        drop_engine(engine).await;
    }
}

/// The token of the first link to `path` in a mail body.
pub fn token_in(body: &str, path: &str) -> String {
    let start = body
        .find(&format!("{path}?token="))
        .unwrap_or_else(|| panic!("no {path} link in: {body}"));
    let rest = &body[start + path.len() + 7..];
    rest.split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// The field and translation key of a 422 answer.
pub fn field_error(body: &serde_json::Value) -> (String, String) {
    let inv = &body["Invalid"];
    (
        inv["field"].as_str().unwrap_or("").to_string(),
        inv["key"].as_str().unwrap_or("").to_string(),
    )
}

/// The id of the pass named `name`.
pub async fn pass(app: &TestApp, name: &str) -> uuid::Uuid {
    let (id,): (uuid::Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = $1").bind(name).fetch_one(pool).await).unwrap();
    id
}

/// POSTs the shop's form; returns status, body and the redirect target. A dropped connection (a
/// panic in the server) fails the test with that message.
pub async fn checkout(
    app: &TestApp,
    client: &reqwest::Client,
    lines: &[(uuid::Uuid, &str)],
) -> (u16, serde_json::Value, Option<String>) {
    checkout_with(app, client, lines, None).await
}

/// [`checkout`] with a voucher code in the form.
pub async fn checkout_with(
    app: &TestApp,
    client: &reqwest::Client,
    lines: &[(uuid::Uuid, &str)],
    voucher: Option<&str>,
) -> (u16, serde_json::Value, Option<String>) {
    let extra: Vec<(String, String)> = voucher
        .map(|code| ("voucher".to_string(), code.to_string()))
        .into_iter()
        .collect();
    checkout_form(app, client, lines, extra).await
}

/// [`checkout`] with more fields in the form (a voucher, a company's billing details…).
pub async fn checkout_form(
    app: &TestApp,
    client: &reqwest::Client,
    lines: &[(uuid::Uuid, &str)],
    extra: Vec<(String, String)>,
) -> (u16, serde_json::Value, Option<String>) {
    let mut form = extra;
    for (i, (id, q)) in lines.iter().enumerate() {
        form.push((format!("lines[{i}][ticket_type_id]"), id.to_string()));
        form.push((format!("lines[{i}][quantity]"), q.to_string()));
    }
    let res = client
        .post(app.url("/api/checkout"))
        .form(&form)
        .send()
        .await
        .expect("checkout answered (not a dropped connection)");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        location,
    )
}

/// Runs `test` on PostgreSQL with `n` app processes sharing one fresh database behind a
/// round-robin proxy ([`fleet::Fleet`]). The [`TestApp`] it gets speaks to the proxy; its own
/// state is the database and settings (its background workers are stopped: the processes have
/// theirs). Skipped, loudly, when PostgreSQL is not among the engines.
pub async fn on_a_fleet<F, Fut>(n: usize, extra: &[(&str, &str)], test: F)
where
    F: FnOnce(TestApp, fleet::Fleet) -> Fut,
    Fut: Future<Output = ()>,
{
    let wanted = std::env::var(ENGINES_ENV).unwrap_or_else(|_| "sqlite,postgres".into());
    if !wanted.contains("postgres") {
        eprintln!("\n!!!!!!!! SKIPPED: several instances need PostgreSQL ({ENGINES_ENV}={wanted}) !!!!!!!!\n");
        return;
    }
    let Some(engine) = postgres_engine().await else {
        return;
    };
    let url = engine.url();
    let state = server::prepare(test_config(&url, extra))
        .await
        .expect("app state");
    state
        .shutdown
        .stop_workers(std::time::Duration::from_secs(5))
        .await;
    let fleet = fleet::Fleet::start(n, &url, extra).await;
    let app = TestApp {
        engine: "postgres",
        state,
        addr: fleet.proxy,
        client: browser(),
    };
    test(app, fleet).await;
    drop_engine(&engine).await;
}

/// A pass valid from `from` to `until`, with a door number (for signed codes); returns its id.
pub async fn pass_valid(
    app: &TestApp,
    name: &str,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    let now = tessera::server::now();
    tessera::db_run!(app.db(), pool => sqlx::query(
        "INSERT INTO ticket_types (id, name, price_cents, currency, capacity, is_active, valid_from, valid_until, created_at, updated_at, door_no) \
         VALUES ($1, $2, 5000, 'eur', 500, $3, $4, $5, $6, $6, (SELECT COALESCE(MAX(door_no), 0) + 1 FROM ticket_types))")
        .bind(id).bind(name).bind(true).bind(from).bind(until).bind(now)
        .execute(pool).await.map(|_| ())).unwrap();
    id
}

/// `user` buys one ticket of `pass` through the order functions (paid at once); returns its id.
pub async fn paid_ticket(app: &TestApp, user: uuid::Uuid, pass: uuid::Uuid) -> uuid::Uuid {
    let config = &app.state.config;
    let line = [tessera::ticketing::CartLine {
        ticket_type_id: pass,
        quantity: "1".into(),
    }];
    let order = tessera::ticketing::service::create_pending_order(app.db(), config, user, &line)
        .await
        .unwrap();
    let mut tx = app.db().begin().await.unwrap();
    tessera::ticketing::service::mark_paid(&mut tx, config, order)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (id,): (uuid::Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM tickets WHERE order_id = $1")
        .bind(order).fetch_one(pool).await).unwrap();
    id
}
