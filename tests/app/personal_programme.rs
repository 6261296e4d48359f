//! The personal programme on SQLite and PostgreSQL: the pass validity rule at its edges, access
//! lost with a canceled ticket, uniqueness under parallel adds, and the calendar parsed back.
use crate::common::{on_each_engine, TestApp};
use std::sync::Arc;
use tessera::accounts::Role;
use uuid::Uuid;

const PW: &str = "a long enough passphrase";

/// Gives `user` a paid ticket of the pass named `pass`; returns the ticket id.
pub(crate) async fn give_pass(app: &TestApp, user: Uuid, pass: &str) -> Uuid {
    let now = tessera::server::now();
    let (type_id,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = $1").bind(pass).fetch_one(pool).await).unwrap();
    let (order, ticket) = (Uuid::new_v4(), Uuid::new_v4());
    tessera::db_run!(app.db(), pool => async {
        sqlx::query("INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at) VALUES ($1, $2, 'PAID', 0, 'eur', $3, $3)")
            .bind(order).bind(user).bind(now).execute(pool).await?;
        sqlx::query("INSERT INTO tickets (id, user_id, order_id, ticket_type_id, status, issued_at) VALUES ($1, $2, $3, $4, 'VALID', $5)")
            .bind(ticket).bind(user).bind(order).bind(type_id).bind(now).execute(pool).await.map(|_| ())
    }.await).unwrap();
    ticket
}

pub(crate) async fn talk(app: &TestApp, title_start: &str) -> String {
    let p = tessera::programme::service::programme(app.db(), &app.state.config)
        .await
        .unwrap();
    p.talks
        .iter()
        .find(|t| t.title.starts_with(title_start))
        .unwrap()
        .id
        .to_string()
}

pub(crate) async fn toggle(
    app: &TestApp,
    c: &reqwest::Client,
    talk: &str,
    save: bool,
) -> (u16, serde_json::Value) {
    app.call_as(
        c,
        "toggle_talk",
        &[
            ("talk_id", talk),
            ("save", if save { "true" } else { "false" }),
        ],
    )
    .await
}

#[tokio::test]
async fn a_pass_opens_exactly_the_talks_of_its_days() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let user = app.user("ana@example.org", PW, Role::User).await;
        let c = app.logged_in("ana@example.org", PW).await;
        let day1_talk = talk(&app, "Rust en production").await;
        let day2_talk = talk(&app, "Leptos et le rendu").await;
        assert_eq!(toggle(&app, &app.new_client(), &day1_talk, true).await.0, 401, "anonymous");
        let (s, body) = toggle(&app, &c, &day1_talk, true).await;
        assert_eq!((s, body["Invalid"]["key"].as_str()), (422, Some("personal.error.not_covered")), "[{}] no pass yet", app.engine);

        let ticket = give_pass(&app, user, "Pass Jour 1").await;
        assert_eq!(toggle(&app, &c, &day1_talk, true).await.0, 200, "[{}]", app.engine);
        let (s, body) = toggle(&app, &c, &day2_talk, true).await;
        assert_eq!((s, body["Invalid"]["key"].as_str()), (422, Some("personal.error.not_covered")), "[{}] a day-1 pass cannot add day 2", app.engine);

        // The edges, with a pass ending at 12:00 local on day 1.
        let (type_id,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT ticket_type_id FROM tickets WHERE id = $1").bind(ticket).fetch_one(pool).await).unwrap();
        let noon = {
            use chrono::TimeZone;
            chrono_tz::Europe::Paris.with_ymd_and_hms(2027, 6, 10, 12, 0, 0).unwrap().with_timezone(&chrono::Utc)
        };
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET valid_until = $1 WHERE id = $2").bind(noon).bind(type_id).execute(pool).await.map(|_| ())).unwrap();
        let ends_at_noon = talk(&app, "Financer la transition").await; // 11:00–11:45
        let starts_at_noon = talk(&app, "Table ronde : jeunes").await; // 12:00–12:30
        let across_noon = talk(&app, "Atelier : accessibilité web").await; // 10:00–11:30, inside
        assert_eq!(toggle(&app, &c, &ends_at_noon, true).await.0, 200);
        assert_eq!(toggle(&app, &c, &across_noon, true).await.0, 200);
        assert_eq!(toggle(&app, &c, &starts_at_noon, true).await.0, 422, "[{}] a talk starting exactly at validUntil is not covered", app.engine);

        // Two passes cover two days.
        give_pass(&app, user, "Pass Jour 2").await;
        assert_eq!(toggle(&app, &c, &day2_talk, true).await.0, 200);
        let (_, state) = app.call_as(&c, "personal_state", &[]).await;
        assert_eq!(state["saved"].as_array().unwrap().len(), 4);

        // Removing works and is idempotent.
        assert_eq!(toggle(&app, &c, &day2_talk, false).await.0, 200);
        assert_eq!(toggle(&app, &c, &day2_talk, false).await.0, 200);
        assert_eq!(app.count("SELECT COUNT(*) FROM user_program_items").await, 3);
    })
    .await;
}

#[tokio::test]
async fn a_canceled_ticket_locks_the_talks_it_covered_but_keeps_them_listed() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let user = app.user("bea@example.org", PW, Role::User).await;
        let c = app.logged_in("bea@example.org", PW).await;
        let ticket = give_pass(&app, user, "Pass Jour 1").await;
        let t = talk(&app, "Rust en production").await;
        assert_eq!(toggle(&app, &c, &t, true).await.0, 200);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE tickets SET status = 'CANCELED' WHERE id = $1").bind(ticket).execute(pool).await.map(|_| ())).unwrap();
        let (_, mine) = app.call_as(&c, "my_programme", &[]).await;
        let talks = mine["talks"].as_array().unwrap();
        assert_eq!(talks.len(), 1, "[{}] kept in the list", app.engine);
        assert_eq!(talks[0]["covered"], false, "[{}] marked as no longer covered", app.engine);
        let other = talk(&app, "WebAssembly côté client").await;
        assert_eq!(toggle(&app, &c, &other, true).await.0, 422, "no new talks without a valid pass");
    })
    .await;
}

#[tokio::test]
async fn twenty_parallel_adds_of_one_talk_save_it_once() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let user = app.user("cid@example.org", PW, Role::User).await;
        give_pass(&app, user, "Pass 2 jours").await;
        let c = app.logged_in("cid@example.org", PW).await;
        let t = talk(&app, "Rust en production").await;
        let app = Arc::new(app);
        let mut tasks = vec![];
        for _ in 0..20 {
            let (app, c, t) = (app.clone(), c.clone(), t.clone());
            tasks.push(tokio::spawn(
                async move { toggle(&app, &c, &t, true).await.0 },
            ));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), 200, "[{}]", app.engine);
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM user_program_items").await,
            1
        );
    })
    .await;
}

#[tokio::test]
async fn the_calendar_parses_back_field_by_field_and_the_feed_can_be_revoked() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        let user = app.user("dee@example.org", PW, Role::User).await;
        give_pass(&app, user, "Pass 2 jours").await;
        let c = app.logged_in("dee@example.org", PW).await;
        let rust = talk(&app, "Rust en production").await;
        let leptos = talk(&app, "Leptos et le rendu").await;
        toggle(&app, &c, &rust, true).await;
        toggle(&app, &c, &leptos, true).await;

        let res = c.get(app.url("/me/programme.ics")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "[{}]", app.engine);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar"));
        let body = res.text().await.unwrap();
        assert!(body.lines().all(|l| l.len() <= 76), "lines are folded");
        let mut parser = ical::IcalParser::new(std::io::BufReader::new(body.as_bytes()));
        let cal = parser.next().expect("a calendar").expect("valid iCalendar");
        assert_eq!(cal.events.len(), 2);
        let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
            e.properties
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.value.clone())
                .unwrap_or_default()
        };
        let e = cal
            .events
            .iter()
            .find(|e| prop(e, "UID") == format!("{rust}@tessera"))
            .expect("UID stable: the talk's id");
        assert_eq!(
            prop(e, "DTSTART"),
            "20270610T080000Z",
            "10:00 in Paris is 08:00 UTC"
        );
        assert_eq!(prop(e, "DTEND"), "20270610T084500Z");
        assert_eq!(prop(e, "LOCATION"), "Salle Lumière");
        assert_eq!(
            prop(e, "SUMMARY"),
            "Rust en production : trois ans après la réécriture"
        );
        assert!(prop(e, "DESCRIPTION").contains("Inès Lambert"));
        assert_eq!(
            prop(e, "URL"),
            format!("{}/talks/{rust}", app.state.config.base_url)
        );
        assert_eq!(
            app.get("/me/programme.ics").await.status().as_u16(),
            401,
            "not without a session"
        );

        // The private subscription URL serves the same calendar, and stops once renewed.
        let (_, mine) = app.call_as(&c, "my_programme", &[]).await;
        let feed = mine["feed_url"].as_str().unwrap().to_string();
        let path = feed
            .trim_start_matches(&app.state.config.base_url)
            .to_string();
        let (s, again) = app.get_text(&path).await;
        assert_eq!(s, 200);
        assert_eq!(again.matches("BEGIN:VEVENT").count(), 2);
        let (_, new_feed) = app.call_as(&c, "renew_calendar_feed", &[]).await;
        assert_ne!(new_feed.as_str().unwrap(), feed);
        assert_eq!(
            app.get(&path).await.status().as_u16(),
            404,
            "[{}] the old URL is revoked",
            app.engine
        );
        let tampered = path.replace(".ics", "0.ics");
        assert_eq!(app.get(&tampered).await.status().as_u16(), 404);
    })
    .await;
}

#[tokio::test]
async fn interest_counts_are_for_admins_unless_the_organiser_shows_them() {
    for shown in [false, true] {
        let flag = if shown { "true" } else { "false" };
        on_each_engine(&[("SHOW_INTEREST_COUNTS", flag)], |app| async move {
            app.seed_demo().await;
            let t = talk(&app, "Rust en production").await;
            for i in 0..3 {
                let email = format!("fan{i}@example.org");
                let user = app.user(&email, PW, Role::User).await;
                give_pass(&app, user, "Pass Jour 1").await;
                let c = app.logged_in(&email, PW).await;
                assert_eq!(toggle(&app, &c, &t, true).await.0, 200);
            }
            app.user("boss@example.org", PW, Role::Admin).await;
            let admin = app.logged_in("boss@example.org", PW).await;
            let (s, counts) = app.call_as(&admin, "interest_counts", &[]).await;
            assert_eq!(s, 200);
            assert_eq!(counts, serde_json::json!([[t, 3]]), "[{}]", app.engine);
            let attendee = app.logged_in("fan0@example.org", PW).await;
            let (s, seen) = app.call_as(&attendee, "interest_counts", &[]).await;
            assert_eq!(s, 200);
            assert_eq!(
                seen.is_null(),
                !shown,
                "[{}] attendees see counts only when shown",
                app.engine
            );
            let (_, anonymous) = app.call_as(&app.new_client(), "interest_counts", &[]).await;
            assert_eq!(anonymous.is_null(), !shown, "nor do anonymous readers");
        })
        .await;
    }
}
