//! Reservations per second and order-creation latency under concurrent buyers, on SQLite and on
//! PostgreSQL (when one answers at TEST_POSTGRES_URL). Prints figures; asserts nothing.
//!   cargo bench --features ssr --bench reservations            (BUYERS=32 ORDERS=2000 by default)
#[path = "support/mod.rs"]
mod support;

use std::{sync::Arc, time::Instant};
use tessera::{
    server::db::Db,
    ticketing::{service::create_pending_order, CartLine},
};
use uuid::Uuid;

async fn run(label: &str, url: &str, buyers: usize, orders: usize) {
    let config = Arc::new(support::config(url, &[("DB_MAX_CONNECTIONS", "16")]));
    let db = Db::connect(url, 16).await.unwrap();
    db.migrate().await.unwrap();
    let now = tessera::server::now();
    let pass = Uuid::new_v4();
    tessera::db_run!(&db, pool => sqlx::query("INSERT INTO ticket_types (id, name, price_cents, currency, capacity, is_active, created_at, updated_at) VALUES ($1, 'Bench', 1000, 'eur', $2, $3, $4, $4)")
        .bind(pass).bind(orders as i64 * 2).bind(true).bind(now).execute(pool).await.map(|_| ())).unwrap();
    let mut users = vec![];
    for i in 0..buyers {
        let id = Uuid::new_v4();
        tessera::db_run!(&db, pool => sqlx::query("INSERT INTO users (id, email, created_at, updated_at) VALUES ($1, $2, $3, $3)")
            .bind(id).bind(format!("bench{i}@example.org")).bind(now).execute(pool).await.map(|_| ())).unwrap();
        users.push(id);
    }
    let per_buyer = orders / buyers;
    let started = Instant::now();
    let mut tasks = vec![];
    for user in users {
        let (db, config) = (db.clone(), config.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            let line = [CartLine {
                ticket_type_id: pass,
                quantity: "1".into(),
            }];
            for _ in 0..per_buyer {
                let t = Instant::now();
                create_pending_order(&db, &config, user, &line)
                    .await
                    .expect("order");
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }));
    }
    let lat = support::gather(tasks).await;
    let secs = started.elapsed().as_secs_f64();
    let pct = |p: f64| support::percentile(&lat, p);
    let (reserved,): (i64,) = tessera::db_run!(&db, pool => sqlx::query_as("SELECT reserved_count FROM ticket_types WHERE id = $1").bind(pass).fetch_one(pool).await).unwrap();
    println!(
        "{label:<9} buyers={buyers:<3} orders={:<5} reservations/s={:>7.0}  p50={:>6.2} ms  p99={:>6.2} ms  max={:>6.2} ms  (reserved={reserved}, lost=0)",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
    assert_eq!(reserved as usize, lat.len());
    db.close().await;
}

#[tokio::main]
async fn main() {
    let (buyers, orders) = (
        support::env_usize("BUYERS", 32),
        support::env_usize("ORDERS", 2000),
    );
    support::on_engines(|label, url| async move { run(label, &url, buyers, orders).await }).await;
}
