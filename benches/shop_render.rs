//! Memory of the shop's render: starts the app on SQLite with the demo passes, renders `GET /tickets`
//! N times over HTTP (a few clients at once) and prints the process's resident memory (VmRSS, the
//! server runs in this process) at start, after a warm-up, and at the end. A render that leaks
//! (one `Box::leak` per pass card did) shows as memory growing with N; asserts nothing.
//!   cargo bench --features ssr --bench shop_render                 (RENDERS=100000 by default)
//!   cargo bench --features ssr --bench shop_render -- 20000        (or RENDERS=20000)
#[path = "support/mod.rs"]
mod support;

use std::time::Instant;
use tessera::server::{self, demo};

const CLIENTS: usize = 4;

/// Resident memory of this process in KiB, from `/proc/self/status` (Linux).
fn rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

/// Renders `/tickets` `n` times with `CLIENTS` clients at once; returns the elapsed seconds.
async fn render(addr: std::net::SocketAddr, n: usize) -> f64 {
    let started = Instant::now();
    let mut tasks = vec![];
    for i in 0..CLIENTS {
        let share = n / CLIENTS + usize::from(i < n % CLIENTS);
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for _ in 0..share {
                let res = client
                    .get(format!("http://{addr}/tickets"))
                    .send()
                    .await
                    .expect("GET /tickets");
                assert!(res.status().is_success(), "GET /tickets: {}", res.status());
                res.bytes().await.expect("the whole page");
            }
        }));
    }
    for t in tasks {
        t.await.expect("render task");
    }
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`: the first argument that is a number is the count.
    let renders = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or_else(|| support::env_usize("RENDERS", 100_000));
    let warmup = (renders / 10).clamp(1, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("shop.db").display());
    let state = server::prepare(support::config(&url, &[])).await.unwrap();
    demo::seed_conference(&state.db, &state.config)
        .await
        .unwrap();
    let addr = support::serve(state).await;
    let page = reqwest::get(format!("http://{addr}/tickets"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cards = page.matches("class=\"pass-card").count();
    assert!(cards > 0, "the shop shows the demo passes");

    let start = rss_kib();
    println!("shop render: {cards} pass cards per page, {renders} renders after {warmup} warm-up renders, {CLIENTS} clients");
    println!("VmRSS at start            {:>12}", mib(start));
    render(addr, warmup).await;
    let warm = rss_kib();
    println!("VmRSS after warm-up       {:>12}", mib(warm));
    let secs = render(addr, renders).await;
    let end = rss_kib();
    println!(
        "VmRSS after {renders:<7} renders {:>12}  ({:.0} renders/s)",
        mib(end),
        renders as f64 / secs
    );
    if let (Some(w), Some(e)) = (warm, end) {
        let grown = e as f64 - w as f64;
        println!(
            "growth since warm-up      {:>+9.1} MiB  ({:+.1} bytes per render)",
            grown / 1024.0,
            grown * 1024.0 / renders.max(1) as f64
        );
    }
}
