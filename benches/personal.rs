//! The personal programme under concurrent users, over real HTTP, on SQLite and on PostgreSQL (when
//! one answers): every user (each with a two-day pass) saves 40 talks one tap at a time, renders
//! `/me/programme` with those 40 talks, then removes and re-adds ten. Prints p50/p99 latencies of
//! the add/remove server function and of the page; asserts only that every save was kept.
//!   cargo bench --features ssr --bench personal            (USERS=20 by default)
#[path = "support/mod.rs"]
mod support;

use std::time::Instant;
use tessera::server::{self, demo};
use uuid::Uuid;

const TALKS: usize = 40;
const PASSWORD: &str = "a long enough passphrase";

/// Latencies already sorted by `support::gather`.
fn summary(lat: &[f64]) -> String {
    format!(
        "n={:<5} p50={:>6.2} ms  p99={:>6.2} ms  max={:>6.2} ms",
        lat.len(),
        support::percentile(lat, 0.50),
        support::percentile(lat, 0.99),
        lat[lat.len() - 1]
    )
}

async fn run(label: &'static str, url: String, users: usize) {
    let state = server::prepare(support::config(&url, &[("DB_MAX_CONNECTIONS", "16")]))
        .await
        .unwrap();
    let db = state.db.clone();
    demo::seed_conference(&db, &state.config).await.unwrap();
    // Top the programme up to 40 talks (late afternoon of day 1, ten minutes apart).
    let now = server::now();
    let base = chrono::DateTime::parse_from_rfc3339("2027-06-10T15:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    for i in demo::talk_count()..TALKS {
        let start = base + chrono::Duration::minutes(10 * i as i64);
        tessera::db_run!(&db, pool => sqlx::query(
            "INSERT INTO conferences (id, title, description, theme, start_at, end_at, location, created_at, updated_at) VALUES ($1, $2, '', 'Tech', $3, $4, 'Salle Curie', $5, $5)")
            .bind(Uuid::new_v4()).bind(format!("Bench talk {i}")).bind(start).bind(start + chrono::Duration::minutes(30)).bind(now)
            .execute(pool).await.map(|_| ())).unwrap();
    }
    let talks: Vec<(Uuid,)> = tessera::db_run!(&db, pool => sqlx::query_as("SELECT id FROM conferences ORDER BY start_at LIMIT 40").fetch_all(pool).await).unwrap();
    let (pass,): (Uuid,) = tessera::db_run!(&db, pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = 'Pass 2 jours'").fetch_one(pool).await).unwrap();
    for i in 0..users {
        let email = format!("user{i}@example.org");
        let user = support::user(&db, &email, PASSWORD).await;
        let order = Uuid::new_v4();
        tessera::db_run!(&db, pool => async {
            sqlx::query("INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at) VALUES ($1, $2, 'PAID', 12000, 'eur', $3, $3)")
                .bind(order).bind(user).bind(now).execute(pool).await?;
            sqlx::query("INSERT INTO tickets (id, user_id, order_id, ticket_type_id, status, issued_at) VALUES ($1, $2, $3, $4, 'VALID', $5)")
                .bind(Uuid::new_v4()).bind(user).bind(order).bind(pass).bind(now).execute(pool).await.map(|_| ())
        }.await).unwrap();
    }
    let addr = support::serve(state).await;
    let mut clients = vec![];
    for i in 0..users {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = c
            .post(format!("http://{addr}/api/login"))
            .form(&[
                ("email", format!("user{i}@example.org")),
                ("password", PASSWORD.into()),
            ])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "login: {}", res.status());
        clients.push(c);
    }

    let toggle = move |c: reqwest::Client, talk: Uuid, save: bool| async move {
        let t = Instant::now();
        let res = c
            .post(format!("http://{addr}/api/toggle_talk"))
            .form(&[("talk_id", talk.to_string()), ("save", save.to_string())])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "toggle: {}", res.status());
        t.elapsed().as_secs_f64() * 1000.0
    };

    // Every user saves 40 talks, one tap at a time, all users at once.
    let started = Instant::now();
    let mut tasks = vec![];
    for c in &clients {
        let (c, talks) = (c.clone(), talks.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            for (talk,) in talks {
                lat.push(toggle(c.clone(), talk, true).await);
            }
            lat
        }));
    }
    let adds = support::gather(tasks).await;
    let add_secs = started.elapsed().as_secs_f64();

    // Every user opens their programme (40 talks) ten times, all users at once.
    let mut tasks = vec![];
    for c in &clients {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            for _ in 0..10 {
                let t = Instant::now();
                let body = c
                    .get(format!("http://{addr}/me/programme"))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                // `class="my-talk"` or `class="my-talk conflict"`, not the lists' `my-talks`.
                let shown = body.matches("class=\"my-talk\"").count()
                    + body.matches("class=\"my-talk ").count();
                assert_eq!(shown, TALKS, "every saved talk on the page");
            }
            lat
        }));
    }
    let pages = support::gather(tasks).await;

    // Then removes ten talks and adds them back.
    let mut tasks = vec![];
    for c in &clients {
        let (c, talks) = (c.clone(), talks.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            for (talk,) in talks.iter().take(10) {
                lat.push(toggle(c.clone(), *talk, false).await);
                lat.push(toggle(c.clone(), *talk, true).await);
            }
            lat
        }));
    }
    let removes = support::gather(tasks).await;
    let (kept,): (i64,) = tessera::db_run!(&db, pool => sqlx::query_as("SELECT COUNT(*) FROM user_program_items").fetch_one(pool).await).unwrap();
    println!(
        "{label:<9} users={users:<3} add         {}  ({:.0} adds/s)",
        summary(&adds),
        adds.len() as f64 / add_secs
    );
    println!(
        "{label:<9} users={users:<3} remove+add  {}",
        summary(&removes)
    );
    println!(
        "{label:<9} users={users:<3} /me/programme with {TALKS} talks  {}",
        summary(&pages)
    );
    assert_eq!(kept as usize, users * TALKS, "every save kept");
    db.close().await;
}

#[tokio::main]
async fn main() {
    let users = support::env_usize("USERS", 20);
    support::on_engines(|label, url| run(label, url, users)).await;
}
