//! Live programme changes on SQLite and PostgreSQL: a talk moved by an admin is marked on the
//! programmes of those who saved it ("moved from 10:00", room changed), not for a talk moved back
//! or saved after the move; one batched mail goes to those who asked, after the quiet delay, once
//! even when two app instances run the batch at the same time.
use crate::{
    admin_programme::{save, talk as admin_talk},
    common::{on_each_engine, TestApp},
    personal_programme::{give_pass, talk, toggle},
};
use serde_json::Value;
use tessera::{accounts::Role, programme::changes::mail_batch, server::config::Config};

const PW: &str = "a long enough passphrase";

async fn attendee(app: &TestApp, email: &str) -> reqwest::Client {
    let id = app.user(email, PW, Role::User).await;
    give_pass(app, id, "Pass 2 jours").await;
    app.logged_in(email, PW).await
}

fn saved<'a>(mine: &'a Value, title_start: &str) -> &'a Value {
    mine["talks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["talk"]["title"]
                .as_str()
                .unwrap()
                .starts_with(title_start)
        })
        .unwrap()
}

fn with_delay(app: &TestApp, minutes: i64) -> Config {
    let mut config = (*app.state.config).clone();
    config.programme_mail_delay_minutes = minutes;
    config
}

async fn change_mails(app: &TestApp) -> Vec<(String, String)> {
    tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT to_address, body_text FROM outbox_emails WHERE type = 'PROGRAMME_CHANGED' ORDER BY to_address")
        .fetch_all(pool).await)
    .unwrap()
}

#[tokio::test]
async fn a_moved_talk_is_marked_for_those_who_saved_it_and_mailed_once_to_those_who_asked() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let (ana, bob) = (
            attendee(&app, "ana@example.org").await,
            attendee(&app, "bob@example.org").await,
        );
        let rust = talk(&app, "Rust en production").await;
        let bank = talk(&app, "Financer la transition").await;
        for c in [&ana, &bob] {
            assert_eq!(toggle(&app, c, &rust, true).await.0, 200);
            assert_eq!(toggle(&app, c, &bank, true).await.0, 200);
        }
        // Ana asks to be mailed; Bob does not.
        let (status, _) = app.call_as(&ana, "programme_mail", &[("on", "true")]).await;
        assert_eq!(status, 200, "[{}]", app.engine);
        let (_, mine) = app.call_as(&ana, "my_programme", &[]).await;
        assert_eq!(mine["mail_changes"], Value::Bool(true));
        let (_, mine) = app.call_as(&bob, "my_programme", &[]).await;
        assert_eq!(mine["mail_changes"], Value::Bool(false));

        // The Rust talk moves to day 2 and to another room; the bank talk is moved and moved back,
        // and renamed (not a move).
        let t = admin_talk(&app, &admin, "Rust en production").await;
        let (s, t) = save(&app, &admin, &t, "end_at", "2027-06-11T14:45").await;
        assert_eq!(s, 200, "[{}] {t}", app.engine);
        let (_, t) = save(&app, &admin, &t, "start_at", "2027-06-11T14:00").await;
        let (s, _) = save(&app, &admin, &t, "location", "Salle Rivière").await;
        assert_eq!(s, 200);
        let b = admin_talk(&app, &admin, "Financer la transition").await;
        let (_, b) = save(&app, &admin, &b, "start_at", "2027-06-10T11:30").await;
        let (_, b) = save(&app, &admin, &b, "start_at", "2027-06-10T11:00").await;
        let (s, _) = save(
            &app,
            &admin,
            &b,
            "title",
            "Financer la transition (table ronde)",
        )
        .await;
        assert_eq!(s, 200);

        // Both attendees see the move on their programme, with where and when it was.
        for c in [&ana, &bob] {
            let (_, mine) = app.call_as(c, "my_programme", &[]).await;
            let moved = &saved(&mine, "Rust en production")["change"];
            assert_eq!(
                moved["from_time"],
                serde_json::json!(["2027-06-10", "10:00:00", "10:45:00"]),
                "[{}] {mine}",
                app.engine
            );
            assert_eq!(moved["from_room"].as_str(), Some("Salle Lumière"));
            assert_eq!(
                saved(&mine, "Financer la transition")["change"],
                Value::Null,
                "[{}] moved back: nothing to tell",
                app.engine
            );
        }
        let html = ana
            .get(app.url("/me/programme"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Déplacée : avant jeudi 10 juin, 10:00–10:45"),
            "[{}] the page says when it was",
            app.engine
        );
        assert!(html.contains("Changement de salle : avant Salle Lumière"));
        assert_eq!(html.matches("class=\"moved-note\"").count(), 1);

        // Someone who saves the talk after the move sees no marker.
        let cleo = attendee(&app, "cleo@example.org").await;
        assert_eq!(toggle(&app, &cleo, &rust, true).await.0, 200);
        let (_, mine) = app.call_as(&cleo, "my_programme", &[]).await;
        assert_eq!(saved(&mine, "Rust en production")["change"], Value::Null);

        // Nothing is mailed while the talk was changed less than the delay ago.
        assert_eq!(
            mail_batch(app.db(), &with_delay(&app, 10)).await.unwrap(),
            0
        );
        assert!(change_mails(&app).await.is_empty());
        // Then one mail, to Ana only, even with two instances running the batch at once.
        let quiet = with_delay(&app, 0);
        let (a, b) = tokio::join!(mail_batch(app.db(), &quiet), mail_batch(app.db(), &quiet));
        assert_eq!(a.unwrap() + b.unwrap(), 1, "[{}]", app.engine);
        let mails = change_mails(&app).await;
        assert_eq!(mails.len(), 1, "[{}] {mails:?}", app.engine);
        let (to, body) = &mails[0];
        assert_eq!(to, "ana@example.org");
        assert!(body.contains("Rust en production"), "{body}");
        assert!(
            body.contains("désormais vendredi 11 juin, 14:00–14:45, Salle Rivière"),
            "{body}"
        );
        assert!(
            body.contains("avant : jeudi 10 juin, 10:00–10:45"),
            "{body}"
        );
        assert!(body.contains("avant : Salle Lumière"), "{body}");
        assert!(
            !body.contains("Financer"),
            "a talk moved back is not news: {body}"
        );
        assert!(body.contains("/me/programme"));
        assert_eq!(
            mail_batch(app.db(), &quiet).await.unwrap(),
            0,
            "a change is mailed once"
        );

        // A later move is mailed in the next batch; Ana can turn the mail off.
        let t = admin_talk(&app, &admin, "Rust en production").await;
        assert_eq!(
            save(&app, &admin, &t, "location", "Amphithéâtre").await.0,
            200
        );
        assert_eq!(mail_batch(app.db(), &quiet).await.unwrap(), 1);
        let (status, _) = app
            .call_as(&ana, "programme_mail", &[("on", "false")])
            .await;
        assert_eq!(status, 200);
        let t = admin_talk(&app, &admin, "Rust en production").await;
        assert_eq!(
            save(&app, &admin, &t, "location", "Salle Lumière").await.0,
            200
        );
        assert_eq!(mail_batch(app.db(), &quiet).await.unwrap(), 0);
        assert_eq!(change_mails(&app).await.len(), 2);

        // Only a logged-in user may switch the mail.
        let (status, _) = app
            .call_as(&app.new_client(), "programme_mail", &[("on", "true")])
            .await;
        assert_eq!(status, 401);
    })
    .await;
}
