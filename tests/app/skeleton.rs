//! The walking skeleton, black-box over HTTP on SQLite and PostgreSQL: schema, programme pages,
//! 404s, filters, language, operational endpoints.
use crate::common::on_each_engine;
use std::collections::{BTreeMap, BTreeSet};

/// Tables and columns of the seed document, camelCase turned into our snake_case.
fn seed_schema() -> BTreeMap<String, BTreeSet<String>> {
    let path = std::env::var("TESSERA_SEED_DOC").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/seed/database-structure.fr.md"
        )
        .into()
    });
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the seed document {path} is needed by this test: {e}"));
    let snake = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    };
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("**`") {
            let name = rest.split('`').next().unwrap().to_string();
            tables.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(t), Some(rest)) = (&current, line.strip_prefix("- `")) {
            // "- `createdAt`, `updatedAt` : …" names several columns on one line.
            let head = line.split(" : ").next().unwrap_or(rest);
            let head = head.split(" (").next().unwrap_or(head);
            for col in head.split('`').skip(1).step_by(2) {
                tables.get_mut(t).unwrap().insert(snake(col));
            }
        } else if line.starts_with("*Auth tables") {
            for t in line.split('`').skip(1).step_by(2) {
                tables.entry(t.to_string()).or_default();
            }
        }
    }
    tables
}

#[tokio::test]
async fn the_schema_has_every_table_and_column_of_the_seed() {
    let seed = seed_schema();
    assert!(
        seed.len() >= 17,
        "parsed only {} tables from the seed",
        seed.len()
    );
    assert!(seed["tickets"].contains("used_by_user_id"));
    let seed = &seed;
    on_each_engine(&[], |app| async move {
        let mut live: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (t, c) in app.db().schema_columns().await.unwrap() {
            live.entry(t).or_default().insert(c);
        }
        for (table, columns) in seed {
            let have = live
                .get(table)
                .unwrap_or_else(|| panic!("[{}] table {table} is missing", app.engine));
            let missing: Vec<_> = columns.difference(have).collect();
            assert!(
                missing.is_empty(),
                "[{}] {table} lacks {missing:?}",
                app.engine
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_schema_enforces_enums_and_unique_constraints() {
    on_each_engine(&[], |app| async move {
        let db = app.db();
        let now = tessera::server::now();
        let insert_user = |email: &'static str, role: &'static str| async move {
            tessera::db_run!(db, pool => sqlx::query(
                "INSERT INTO users (id, email, role, status, created_at, updated_at) VALUES ($1, $2, $3, 'ACTIVE', $4, $4)")
                .bind(uuid::Uuid::new_v4()).bind(email).bind(role).bind(now)
                .execute(pool).await.map(|_| ()))
        };
        insert_user("a@example.org", "USER").await.expect("a valid user");
        assert!(insert_user("b@example.org", "SUPERUSER").await.is_err(), "[{}] role enum not enforced", app.engine);
        assert!(insert_user("a@example.org", "USER").await.is_err(), "[{}] email not unique", app.engine);
        let user: (uuid::Uuid,) = tessera::db_run!(db, pool => sqlx::query_as("SELECT id FROM users").fetch_one(pool).await).unwrap();
        let talk = tessera::programme::service::insert_talk(
            db,
            &tessera::programme::service::NewTalk {
                title: "T",
                description: "",
                theme: "Tech",
                start_at: now,
                end_at: now + chrono::Duration::hours(1),
                speaker_name: None,
                location: None,
            },
        )
        .await
        .unwrap();
        let add = || async {
            tessera::db_run!(db, pool => sqlx::query("INSERT INTO user_program_items (user_id, conference_id, created_at) VALUES ($1, $2, $3)")
                .bind(user.0).bind(talk).bind(now).execute(pool).await.map(|_| ()))
        };
        add().await.unwrap();
        assert!(add().await.is_err(), "[{}] (user_id, conference_id) not unique", app.engine);
        let bad_order = tessera::db_run!(db, pool => sqlx::query(
            "INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at) VALUES ($1, $2, 'SHIPPED', 0, 'eur', $3, $3)")
            .bind(uuid::Uuid::new_v4()).bind(user.0).bind(now).execute(pool).await.map(|_| ()));
        assert!(bad_order.is_err(), "[{}] order status enum not enforced", app.engine);
    })
    .await;
}

#[tokio::test]
async fn the_programme_page_lists_the_demo_conference_by_day_and_time() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let (status, html) = app.get_text("/").await;
        assert_eq!(status, 200, "[{}]", app.engine);
        assert!(
            html.contains("<html lang=\"fr\""),
            "[{}] French by default",
            app.engine
        );
        assert!(html.contains("Rust en production : trois ans après la réécriture"));
        assert_eq!(
            html.matches("class=\"talk-card\"").count(),
            tessera::server::demo::talk_count(),
            "[{}]",
            app.engine
        );
        // Both days, in French, in order; times in Europe/Paris (09:00 local, not 07:00 UTC).
        let d1 = html.find("jeudi 10 juin").expect("day 1 heading");
        let d2 = html.rfind("vendredi 11 juin").expect("day 2 heading");
        assert!(d1 < d2);
        assert!(
            html.contains("<time>09:00</time>"),
            "[{}] times in the conference's zone",
            app.engine
        );
        assert!(!html.contains("<time>07:00</time>"));
    })
    .await;
}

#[tokio::test]
async fn filters_come_from_the_url_and_bad_ones_show_everything_with_a_notice() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let all = tessera::server::demo::talk_count();
        let (status, html) = app.get_text("/?theme=Tech").await;
        assert_eq!(status, 200);
        let tech = html.matches("class=\"talk-card\"").count();
        assert!(tech > 3 && tech < all, "[{}] {tech} Tech talks", app.engine);
        assert_eq!(
            html.matches("data-theme=\"Tech\" class=\"talk-theme\"")
                .count(),
            tech
        );

        let (_, html) = app.get_text("/?theme=%C3%89cologie&day=2027-06-11").await;
        let n = html.matches("class=\"talk-card\"").count();
        assert!(
            n >= 2 && n < tech + 3,
            "[{}] {n} talks on Écologie day 2",
            app.engine
        );
        assert!(!html.contains("jeudi 10 juin</h2>"));

        for bad in [
            "/?day=banana",
            "/?theme=Astrologie",
            "/?day=2031-01-01&theme=",
            "/?day=%FF%FE",
        ] {
            let (status, html) = app.get_text(bad).await;
            assert_eq!(status, 200, "[{}] {bad}", app.engine);
            assert_eq!(
                html.matches("class=\"talk-card\"").count(),
                all,
                "[{}] {bad} shows everything",
                app.engine
            );
            assert!(
                html.contains("notice-warning"),
                "[{}] {bad} explains itself",
                app.engine
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_talk_has_its_page_and_an_unknown_one_is_a_real_404() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let programme = tessera::programme::service::programme(app.db(), &app.state.config)
            .await
            .unwrap();
        let talk = programme
            .talks
            .iter()
            .find(|t| t.title.starts_with("Rust en production"))
            .unwrap();
        let (status, html) = app.get_text(&format!("/talks/{}", talk.id)).await;
        assert_eq!(status, 200, "[{}]", app.engine);
        assert!(html.contains("Inès Lambert") && html.contains("Salle Lumière"));
        assert!(
            html.contains("jeudi 10 juin, de 10:00 à 10:45"),
            "[{}]",
            app.engine
        );
        assert!(html.contains("Pourquoi une équipe de huit personnes"));

        for missing in [
            format!("/talks/{}", uuid::Uuid::new_v4()),
            "/talks/not-a-uuid".into(),
            "/no/such/page".into(),
        ] {
            let (status, html) = app.get_text(&missing).await;
            assert_eq!(status, 404, "[{}] {missing}", app.engine);
            assert!(
                html.contains("Page introuvable"),
                "[{}] {missing} shows the 404 page",
                app.engine
            );
        }
    })
    .await;
}

#[tokio::test]
async fn english_is_chosen_by_cookie_or_accept_language() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let res = app
            .client
            .get(app.url("/"))
            .header("accept-language", "en-GB,en;q=0.9")
            .send()
            .await
            .unwrap();
        let html = res.text().await.unwrap();
        assert!(
            html.contains("<html lang=\"en\"") && html.contains("Thursday 10 June"),
            "[{}]",
            app.engine
        );

        // The no-JavaScript switcher: sets the cookie and goes back where the reader was.
        let res = app.get("/lang/en?next=/%3Ftheme%3DTech").await;
        assert_eq!(res.status().as_u16(), 303);
        assert_eq!(res.headers()["location"], "/?theme=Tech");
        let (_, html) = app.get_text("/").await;
        assert!(
            html.contains("All themes") && html.contains("Friday 11 June"),
            "[{}]",
            app.engine
        );
        // Never an open redirect.
        let res = app.get("/lang/fr?next=//evil.example").await;
        assert_eq!(res.headers()["location"], "/");
    })
    .await;
}

#[tokio::test]
async fn health_readiness_compression_and_cache_headers() {
    on_each_engine(&[], |app| async move {
        let (s, body) = app.get_text("/healthz").await;
        assert_eq!((s, body.as_str()), (200, "ok"));
        let (s, body) = app.get_text("/readyz").await;
        assert_eq!(s, 200);
        assert!(body.contains(app.engine), "{body}");
        app.seed_demo().await;
        let res = app
            .client
            .get(app.url("/"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            Some("gzip")
        );
        assert_eq!(res.headers()["cache-control"], "no-cache");

        app.state.db.close().await;
        let (s, _) = app.get_text("/readyz").await;
        assert_eq!(s, 503, "[{}] readiness follows the database", app.engine);
    })
    .await;
}

#[tokio::test]
async fn the_demo_data_is_realistic() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let p = tessera::programme::service::programme(app.db(), &app.state.config).await.unwrap();
        assert!(p.talks.len() >= 30);
        assert_eq!(p.days().len(), 2);
        let themes = p.themes();
        for t in ["Écologie", "Tech", "Société"] {
            assert!(themes.iter().any(|x| x == t), "{t}");
        }
        let rooms: BTreeSet<_> = p.talks.iter().filter_map(|t| t.location.clone()).collect();
        assert!(rooms.len() >= 3);
        let overlapping = p.talks.iter().any(|a| {
            p.talks.iter().any(|b| a.id != b.id && a.day == b.day && a.start < b.start && b.start < a.end)
        });
        assert!(overlapping, "some slots overlap");
        let (passes,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT COUNT(*) FROM ticket_types WHERE valid_from IS NOT NULL").fetch_one(pool).await).unwrap();
        assert_eq!(passes, 5, "three passes, a workshop and the speakers' hidden pass");
        let (users,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(pool).await).unwrap();
        assert_eq!(users, 3);
        // The full demo also gives the attendee a paid Pass Jour 1, through the order functions; twice is once.
        tessera::server::demo::seed_attendee_pass(app.db(), &app.state.config).await.unwrap();
        tessera::server::demo::seed_attendee_pass(app.db(), &app.state.config).await.unwrap();
        assert_eq!(app.count("SELECT COUNT(*) FROM tickets t JOIN users u ON u.id = t.user_id WHERE u.email = 'attendee@tessera.localhost' AND t.status = 'VALID'").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'").await, 1);
    })
    .await;
}

/// Pages requested by many browsers at once all arrive whole (down to the footer), each with its
/// own title in its own language (leptos_meta reads the `<title>` after a yield, when another
/// request may have run on the same thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_requested_at_once_all_arrive_whole_with_their_title() {
    const BROWSERS: usize = 32;
    const ROUNDS: usize = 6;
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let pages = [
            ("/", "fr", "Programme · Tessera"),
            ("/tickets", "en", "Tickets · Tessera"),
            ("/login", "fr", "Connexion · Tessera"),
            ("/no/such/page", "en", "Page not found · Tessera"),
        ];
        let mut tasks = vec![];
        for n in 0..BROWSERS {
            let client = app.new_client();
            let url = app.url("");
            tasks.push(tokio::spawn(async move {
                let mut failures = vec![];
                for round in 0..ROUNDS {
                    let (path, lang, title) = pages[(n + round) % pages.len()];
                    let res = client
                        .get(format!("{url}{path}"))
                        .header("accept-language", lang)
                        .send()
                        .await;
                    let body = match res {
                        Ok(res) => res.text().await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match body {
                        Ok(html)
                            if html.contains(&format!("<title>{title}</title>"))
                                && html.contains("</footer>") => {}
                        Ok(html) => {
                            let seen = html
                                .split("<title>")
                                .nth(1)
                                .and_then(|rest| rest.split("</title>").next());
                            let whole = html.contains("</footer>");
                            failures
                                .push(format!("{path}: title {seen:?}, footer reached: {whole}"))
                        }
                        Err(e) => failures.push(format!("{path}: {e}")),
                    }
                }
                failures
            }));
        }
        let mut failures = vec![];
        for t in tasks {
            failures.extend(t.await.unwrap());
        }
        assert!(
            failures.is_empty(),
            "[{}] {} of {} pages failed: {:?}",
            app.engine,
            failures.len(),
            BROWSERS * ROUNDS,
            failures.first()
        );
    })
    .await;
}
