//! Door redeems per second and latency under concurrent scanners, on SQLite and on PostgreSQL (when
//! one answers at TEST_POSTGRES_URL). Each scanner redeems its own share of distinct tickets, as at
//! a real door; every redeem must answer OK. Prints figures; asserts only that nothing was lost.
//!   cargo bench --features ssr --bench scans            (SCANNERS=50 TICKETS=2000 by default)
#[path = "support/mod.rs"]
mod support;

use std::{sync::Arc, time::Instant};
use tessera::{
    accounts::{AuthUser, Role},
    i18n::Locale,
    scanning::{
        service::{redeem, Key},
        Outcome,
    },
    server::db::Db,
};
use uuid::Uuid;

async fn run(label: &str, url: &str, scanners: usize, tickets: usize) {
    let config = Arc::new(support::config(
        url,
        &[
            ("DB_MAX_CONNECTIONS", "16"),
            ("MAX_TICKETS_PER_ORDER", "100"),
        ],
    ));
    let db = Db::connect(url, 16).await.unwrap();
    db.migrate().await.unwrap();
    let now = tessera::server::now();
    let pass = Uuid::new_v4();
    tessera::db_run!(&db, pool => sqlx::query("INSERT INTO ticket_types (id, name, price_cents, currency, capacity, is_active, created_at, updated_at) VALUES ($1, 'Bench', 1000, 'eur', $2, $3, $4, $4)")
        .bind(pass).bind(tickets as i64 * 2).bind(true).bind(now).execute(pool).await.map(|_| ())).unwrap();
    let buyer = Uuid::new_v4();
    tessera::db_run!(&db, pool => sqlx::query("INSERT INTO users (id, email, created_at, updated_at) VALUES ($1, 'buyer@example.org', $2, $2)")
        .bind(buyer).bind(now).execute(pool).await.map(|_| ())).unwrap();
    let mut staff = vec![];
    for i in 0..scanners {
        let id = Uuid::new_v4();
        tessera::db_run!(&db, pool => sqlx::query("INSERT INTO users (id, email, role, created_at, updated_at) VALUES ($1, $2, 'STAFF_SCAN', $3, $3)")
            .bind(id).bind(format!("staff{i}@example.org")).bind(now).execute(pool).await.map(|_| ())).unwrap();
        staff.push(AuthUser {
            id,
            email: format!("staff{i}@example.org"),
            role: Role::StaffScan,
            first_name: None,
            last_name: None,
            verified: true,
            locale: Locale::Fr,
        });
    }
    let tokens = support::paid_tickets(&db, &config, buyer, pass, 100, tickets.div_ceil(100)).await;
    let per = tokens.len() / scanners;
    let started = Instant::now();
    let mut tasks = vec![];
    for (i, member) in staff.into_iter().enumerate() {
        let (db, config) = (db.clone(), config.clone());
        let mine: Vec<String> = tokens[i * per..(i + 1) * per].to_vec();
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            for token in mine {
                let t = Instant::now();
                let answer = redeem(
                    &db,
                    &config,
                    &member,
                    Key::Token(&token),
                    Uuid::new_v4(),
                    tessera::server::now(),
                )
                .await
                .expect("redeem");
                assert_eq!(answer.outcome, Outcome::Ok);
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }));
    }
    let lat = support::gather(tasks).await;
    let secs = started.elapsed().as_secs_f64();
    let pct = |p: f64| support::percentile(&lat, p);
    let (used,): (i64,) = tessera::db_run!(&db, pool => sqlx::query_as("SELECT COUNT(*) FROM tickets WHERE status = 'USED'").fetch_one(pool).await).unwrap();
    let (audited,): (i64,) = tessera::db_run!(&db, pool => sqlx::query_as("SELECT COUNT(*) FROM audit_logs WHERE action = 'SCAN_TICKET'").fetch_one(pool).await).unwrap();
    println!(
        "{label:<9} scanners={scanners:<3} redeems={:<5} redeems/s={:>7.0}  p50={:>6.2} ms  p99={:>6.2} ms  max={:>6.2} ms  (used={used}, audited={audited}, lost={})",
        lat.len(),
        lat.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1],
        lat.len() as i64 - used
    );
    assert_eq!(used as usize, lat.len());
    assert_eq!(audited as usize, lat.len());
    db.close().await;
}

#[tokio::main]
async fn main() {
    let (scanners, tickets) = (
        support::env_usize("SCANNERS", 50),
        support::env_usize("TICKETS", 2000),
    );
    support::on_engines(|label, url| async move { run(label, &url, scanners, tickets).await })
        .await;
}
