//! What the benchmarks share: a configuration, the engines to run on, percentiles.
#![allow(dead_code)]
use std::{collections::HashMap, future::Future, net::SocketAddr};
use tessera::{
    accounts::{service as accounts, Role},
    server::{self, config::Config, db::Db, AppState},
};

/// A bench configuration on `url` (dev mode, no demo seeding), with `extra` settings on top.
pub fn config(url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", url),
        (
            "SECRET_KEY",
            "bench-secret-key-that-is-long-enough-0123456789",
        ),
        ("SEED_DEMO", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_map(&vars).unwrap()
}

/// Runs `bench(label, url)` on a fresh SQLite file, then on a fresh PostgreSQL database when one
/// answers at `TEST_POSTGRES_URL` (says so when it does not).
pub async fn on_engines<F, Fut>(bench: F)
where
    F: Fn(&'static str, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    bench(
        "sqlite",
        format!("sqlite:{}", dir.path().join("bench.db").display()),
    )
    .await;
    let admin = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    use sqlx::{Connection, Executor};
    match sqlx::PgConnection::connect(&admin).await {
        Ok(mut c) => {
            let name = format!("tessera_bench_{}", uuid::Uuid::new_v4().simple());
            c.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            bench("postgres", url).await;
            let _ = c
                .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
                .await;
        }
        Err(e) => println!("postgres  SKIPPED: {admin} unreachable ({e})"),
    }
}

/// Serves the app on a free local port; returns its address.
pub async fn serve(state: AppState) -> SocketAddr {
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
    addr
}

/// Waits for every task's latencies (ms) and returns them all, sorted.
pub async fn gather(tasks: Vec<tokio::task::JoinHandle<Vec<f64>>>) -> Vec<f64> {
    let mut lat = vec![];
    for t in tasks {
        lat.extend(t.await.expect("bench task"));
    }
    lat.sort_by(f64::total_cmp);
    lat
}

/// The value under which a share `p` of the sorted samples lie.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// A whole number from the environment, or its default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A verified attendee account; returns its id.
pub async fn user(db: &Db, email: &str, password: &str) -> uuid::Uuid {
    accounts::create_user(
        db,
        accounts::NewUser {
            email,
            password,
            role: Role::User,
            first_name: None,
            last_name: None,
            verified: true,
        },
    )
    .await
    .unwrap()
}

/// `orders` paid orders of `per_order` tickets of `pass` for `buyer`, bought through the ordinary
/// order functions; returns the tokens of every ticket in the database.
pub async fn paid_tickets(
    db: &Db,
    config: &Config,
    buyer: uuid::Uuid,
    pass: uuid::Uuid,
    per_order: usize,
    orders: usize,
) -> Vec<String> {
    use tessera::ticketing::{
        service::{create_pending_order, mark_paid, ticket_token},
        CartLine,
    };
    for _ in 0..orders {
        let line = [CartLine {
            ticket_type_id: pass,
            quantity: per_order.to_string(),
        }];
        let order = create_pending_order(db, config, buyer, &line)
            .await
            .unwrap();
        let mut tx = db.begin().await.unwrap();
        mark_paid(&mut tx, config, order).await.unwrap();
        tx.commit().await.unwrap();
    }
    let ids: Vec<(uuid::Uuid,)> = tessera::db_run!(db, pool => sqlx::query_as("SELECT id FROM ticket_tokens").fetch_all(pool).await).unwrap();
    ids.iter().map(|(id,)| ticket_token(config, *id)).collect()
}
