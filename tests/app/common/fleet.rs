//! Several app processes on one PostgreSQL database behind a small round-robin proxy, as in
//! production behind a load balancer: the real `tessera` binary, started, killed (SIGKILL) or
//! stopped (SIGTERM) like a process manager would.
use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tessera::server::db::Db;

pub struct Instance {
    pub addr: SocketAddr,
    /// Its `METRICS_ADDR`.
    pub metrics: SocketAddr,
    pub log: PathBuf,
    child: Option<Child>,
    alive: Arc<AtomicBool>,
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The most memory the process has held (its peak resident set, `VmHWM`), in MiB.
    pub fn peak_mib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024)
    }

    /// What the process wrote (stdout and stderr), without its terminal colours.
    pub fn output(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // An escape sequence: up to its final letter.
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

pub struct Fleet {
    pub instances: Vec<Instance>,
    /// The round-robin proxy: every new connection goes to the next live instance.
    pub proxy: SocketAddr,
    /// Connections the proxy sent to each instance.
    pub spread: Arc<Vec<AtomicUsize>>,
    pub db_url: String,
    pub db: Db,
    dir: tempfile::TempDir,
}

/// A free port on loopback (bound, then released for the process to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Fleet {
    /// Starts `n` instances on the (migrated, seeded) database at `db_url`, with `env` on top of
    /// the test settings, and the proxy in front; returns once every instance answers `/readyz`.
    pub async fn start(n: usize, db_url: &str, env: &[(&str, &str)]) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(db_url, 4).await.expect("the fleet's database");
        let mut instances = vec![];
        for i in 0..n {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let log = dir.path().join(format!("instance-{i}.log"));
            let child = spawn(addr, metrics, db_url, env, &log);
            instances.push(Instance {
                addr,
                metrics,
                log,
                child: Some(child),
                alive: Arc::new(AtomicBool::new(true)),
            });
        }
        let client = reqwest::Client::new();
        for inst in &instances {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(r) = client.get(inst.url("/readyz")).send().await {
                    if r.status().is_success() {
                        break;
                    }
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "instance at {} did not start:\n{}",
                    inst.addr,
                    inst.output()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let spread: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
        let proxy = start_proxy(
            instances
                .iter()
                .map(|i| (i.addr, i.alive.clone()))
                .collect(),
            spread.clone(),
        )
        .await;
        Fleet {
            instances,
            proxy,
            spread,
            db_url: db_url.to_string(),
            db,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.proxy, path)
    }

    /// SIGKILL: the process dies at once, mid-request if it was in one.
    pub fn kill(&mut self, i: usize) {
        let inst = &mut self.instances[i];
        inst.alive.store(false, Ordering::SeqCst);
        if let Some(mut c) = inst.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits (at most `within`) for the process to exit: its exit status.
    pub async fn terminate(&mut self, i: usize, within: Duration) -> Option<ExitStatus> {
        let inst = &mut self.instances[i];
        inst.alive.store(false, Ordering::SeqCst);
        let mut child = inst.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The logs of every instance (for a failing assertion's message).
    pub fn logs(&self) -> String {
        self.instances
            .iter()
            .enumerate()
            .map(|(i, inst)| format!("--- instance {i} ---\n{}", tail(&inst.output(), 40)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for inst in &mut self.instances {
            if let Some(mut c) = inst.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

fn spawn(
    addr: SocketAddr,
    metrics: SocketAddr,
    db_url: &str,
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> Child {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("ADDR", addr.to_string())
        .env("METRICS_ADDR", metrics.to_string())
        .env(
            "SECRET_KEY",
            "test-secret-key-that-is-long-enough-0123456789",
        )
        .env("SEED_DEMO", "false")
        .env("DB_MAX_CONNECTIONS", "10")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start tessera")
}

/// A TCP proxy on loopback: each connection to the next live backend in turn (a backend that
/// refuses the connection is skipped, as a load balancer's health check would).
async fn start_proxy(
    backends: Vec<(SocketAddr, Arc<AtomicBool>)>,
    spread: Arc<Vec<AtomicUsize>>,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let backends = backends.clone();
            let (next, spread) = (next.clone(), spread.clone());
            tokio::spawn(async move {
                for _ in 0..backends.len() {
                    let i = next.fetch_add(1, Ordering::SeqCst) % backends.len();
                    let (backend, alive) = &backends[i];
                    if !alive.load(Ordering::SeqCst) {
                        continue;
                    }
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                        spread[i].fetch_add(1, Ordering::SeqCst);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A client that opens a new connection for every request (so that the proxy spreads one
/// person's requests over the instances), carrying the session cookie `token` if any, from an
/// address of its own (`X-Forwarded-For`, read by apps with `TRUST_PROXY=true`: per-address rate
/// limits then see many people, not one).
pub fn client(token: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let b = uuid::Uuid::new_v4().into_bytes();
    headers.insert(
        "x-forwarded-for",
        format!("10.{}.{}.{}", b[0], b[1], b[2]).parse().unwrap(),
    );
    if let Some(t) = token {
        headers.insert(
            reqwest::header::COOKIE,
            format!("{}={t}", tessera::accounts::session::SESSION_COOKIE)
                .parse()
                .unwrap(),
        );
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Opens a session for `user` directly in the database (as a login would): its cookie's token.
pub async fn session_for(db: &Db, user: uuid::Uuid) -> String {
    let token = tessera::accounts::session::new_token();
    let now = tessera::server::now();
    tessera::db_write!(db, pool => sqlx::query(
        "INSERT INTO sessions (id, user_id, token_hash, user_agent, ip_hash, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, NULL, NULL, $4, $4, $5)")
        .bind(uuid::Uuid::new_v4()).bind(user).bind(tessera::accounts::session::hash_token(&token))
        .bind(now).bind(now + chrono::Duration::days(1)).execute(pool).await.map(|_| ())).unwrap();
    token
}

/// The shop's form for `quantity` seats of `pass` (what the checkout button posts).
pub fn checkout_form(pass: uuid::Uuid, quantity: u32) -> [(&'static str, String); 2] {
    [
        ("lines[0][ticket_type_id]", pass.to_string()),
        ("lines[0][quantity]", quantity.to_string()),
    ]
}

/// Where an answer redirects to (its `Location`), if anywhere.
pub fn location(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The Checkout Session's id at the end of the payment page's address the checkout redirects to.
pub fn session_of(location: &str) -> String {
    location.rsplit('/').next().unwrap_or_default().to_string()
}
