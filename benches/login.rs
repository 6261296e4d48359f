//! Login latency over real HTTP: starts the app on SQLite, logs one account in 20 times (each a
//! full argon2id verification and a new session), prints the median and the slowest.
//!   cargo bench --features ssr --bench login
#[path = "support/mod.rs"]
mod support;

use std::time::Instant;
use tessera::server;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("login.db").display());
    let state = server::prepare(support::config(&url, &[])).await.unwrap();
    let password = "a long enough passphrase";
    support::user(&state.db, "bench@example.org", password).await;
    let addr = support::serve(state).await;
    let client = reqwest::Client::new();
    let mut ms = vec![];
    for _ in 0..21 {
        let t = Instant::now();
        let res = client
            .post(format!("http://{addr}/api/login"))
            .form(&[("email", "bench@example.org"), ("password", password)])
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{}",
            res.status()
        );
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.remove(0); // the first login also hashes the dummy password used for unknown emails
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("login over HTTP, argon2id m=19456 KiB t=2 p=1: median {:.1} ms, min {:.1} ms, max {:.1} ms (20 logins)", ms[10], ms[0], ms[19]);
}
