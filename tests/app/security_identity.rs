//! One request, one identity: a page or a server function that panics is answered with a plain 500
//! (JSON under `/api`), carries its request id, and leaves no worker thread running later requests
//! as its user. Before the fix, an anonymous `/api/me` answered the admin's record on about half the
//! calls once a page of theirs had panicked.
use crate::common::on_each_engine;
use futures::future::join_all;
use std::time::Duration;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";
/// More requests than worker threads, all at once, so that every worker thread runs some.
const PANICS_PER_KIND: usize = 24;
const ANONYMOUS_CALLS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_panics_on_every_thread_anonymous_calls_stay_anonymous() {
    on_each_engine(&[], |app| async move {
        app.user("admin@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("admin@example.org", PW).await;

        // The admin makes pages (in a task the page spawned, and in the render itself) and a
        // server function panic, many times at once.
        let page = |path: &'static str| {
            let (admin, url) = (admin.clone(), app.url(path));
            async move {
                let res =
                    tokio::time::timeout(Duration::from_secs(20), admin.get(url).send()).await;
                let res =
                    res.unwrap_or_else(|_| panic!("{path}: no answer in 20 s (a hung render)"));
                let res = res.unwrap_or_else(|e| panic!("{path}: connection dropped: {e}"));
                let id = res.headers().get("x-request-id").is_some();
                (
                    res.status().as_u16(),
                    id,
                    res.text().await.unwrap_or_default(),
                )
            }
        };
        let call = || {
            let (admin, url) = (admin.clone(), app.url("/api/dev_panic"));
            async move {
                let res =
                    tokio::time::timeout(Duration::from_secs(20), admin.post(url).send()).await;
                let res = res
                    .expect("dev_panic: no answer in 20 s")
                    .expect("dev_panic: connection dropped");
                (res.status().as_u16(), res.text().await.unwrap_or_default())
            }
        };
        // The pages' requests stay open while the anonymous calls run, as a browser waiting for a
        // hung page would keep them (before the fix, that kept the dead page's owner alive).
        let pages: Vec<_> = (0..PANICS_PER_KIND)
            .map(|i| {
                tokio::spawn(page(if i % 3 == 0 {
                    "/dev/panic?in=render"
                } else {
                    "/dev/panic"
                }))
            })
            .collect();
        let calls: Vec<_> = (0..PANICS_PER_KIND).map(|_| tokio::spawn(call())).collect();
        tokio::time::sleep(Duration::from_secs(2)).await;

        // Nobody's identity is left behind: anonymous calls, spread over every thread, are anonymous.
        let anonymous = app.new_client();
        let me = join_all((0..ANONYMOUS_CALLS).map(|_| app.call_as(&anonymous, "me", &[]))).await;
        let leaked = me
            .iter()
            .filter(|(s, body)| *s != 200 || !body.is_null())
            .count();
        assert_eq!(
            leaked,
            0,
            "[{}] anonymous /api/me answered as someone: {:?}",
            app.engine,
            me.iter().find(|(_, b)| !b.is_null())
        );
        let users =
            join_all((0..ANONYMOUS_CALLS).map(|_| app.call_as(&anonymous, "admin_users", &[])))
                .await;
        let let_in = users.iter().filter(|(s, _)| *s != 401).count();
        assert_eq!(
            let_in, 0,
            "[{}] anonymous admin_users was not refused with 401 every time",
            app.engine
        );

        // Each panic was answered: a plain 500 with its request id, nothing of the page.
        for page in pages {
            let (status, has_id, body) = page.await.expect("page request task");
            assert_eq!(
                status, 500,
                "[{}] a panicking page answers 500: {body}",
                app.engine
            );
            assert!(has_id, "[{}] the 500 carries its request id", app.engine);
            assert!(
                !body.contains("admin@example.org"),
                "[{}] the 500 page shows nothing of the page",
                app.engine
            );
        }
        for call in calls {
            let (status, body) = call.await.expect("server function task");
            assert_eq!(
                (status, body.as_str()),
                (500, "\"Internal\""),
                "[{}] a panicking server function answers a generic 500",
                app.engine
            );
        }

        // The admin is still themselves, and the site still answers.
        let (status, me) = app.call_as(&admin, "me", &[]).await;
        assert_eq!(
            (status, me["email"].as_str()),
            (200, Some("admin@example.org"))
        );
        assert_eq!(app.get("/").await.status().as_u16(), 200);
    })
    .await;
}

#[tokio::test]
async fn the_panic_tools_do_not_exist_in_production() {
    on_each_engine(
        &[
            ("TESSERA_ENV", "production"),
            ("SMTP_URL", "smtp://127.0.0.1:9"),
        ],
        |app| async move {
            assert_eq!(app.call("dev_panic", &[]).await.0, 404, "[{}]", app.engine);
            assert_eq!(
                app.get("/dev/panic").await.status().as_u16(),
                404,
                "[{}]",
                app.engine
            );
            assert_eq!(
                app.get("/dev/panic?in=render").await.status().as_u16(),
                404,
                "[{}]",
                app.engine
            );
        },
    )
    .await;
}
