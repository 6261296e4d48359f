//! Login latency over real HTTP: starts the app on SQLite, logs one account in 20 times (each a
//! full argon2id verification and a new session), prints the median and the slowest.
//!   cargo bench --features ssr --bench login
use std::{collections::HashMap, net::SocketAddr, time::Instant};
use tessera::{
    accounts::{service as accounts, Role},
    server::{self, config::Config},
};

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let vars: HashMap<String, String> = [
        (
            "DATABASE_URL",
            format!("sqlite:{}", dir.path().join("login.db").display()),
        ),
        (
            "SECRET_KEY",
            "bench-secret-key-that-is-long-enough-0123456789".into(),
        ),
        ("SEED_DEMO", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let state = server::prepare(Config::from_map(&vars).unwrap())
        .await
        .unwrap();
    let password = "a long enough passphrase";
    accounts::create_user(
        &state.db,
        accounts::NewUser {
            email: "bench@example.org",
            password,
            role: Role::User,
            first_name: None,
            last_name: None,
            verified: true,
        },
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::router(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
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
