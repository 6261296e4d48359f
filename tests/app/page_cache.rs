//! The public programme pages served from memory to anonymous visitors: never stale after an edit
//! (from the editor or from any other writer of the database), never someone else's page, in the
//! visitor's language, precompressed, and with a Content-Security-Policy that allows exactly the
//! page's inline scripts.
use crate::{
    admin_programme::{save, talk},
    common::{on_each_engine, TestApp},
};
use std::io::Read;
use tessera::accounts::Role;

const PW: &str = "a long enough passphrase";

/// An anonymous GET with no cookie jar: status, headers, body.
async fn anonymous(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let client = reqwest::Client::new();
    let mut req = client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (status, headers, res.bytes().await.unwrap().to_vec())
}

async fn page(app: &TestApp, path: &str) -> String {
    let (status, _, body) = anonymous(app, path, &[]).await;
    assert_eq!(status, 200, "[{}] {path}", app.engine);
    String::from_utf8(body).unwrap()
}

/// What a browser checks before running a page's inline scripts: each one's SHA-256 (or the
/// nonce it carries) must be allowed by the page's policy.
fn scripts_allowed(headers: &reqwest::header::HeaderMap, body: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    let csp = headers["content-security-policy"].to_str().unwrap();
    let mut rest = body;
    let mut inline = 0;
    while let Some(at) = rest.find("<script") {
        let tag = &rest[at..];
        let open_end = tag.find('>').unwrap();
        let len = tag[open_end + 1..].find("</script>").unwrap();
        let (open, text) = (&tag[..open_end], &tag[open_end + 1..open_end + 1 + len]);
        if !open.contains(" src=") {
            inline += 1;
            let hash = base64::engine::general_purpose::STANDARD
                .encode(sha2::Sha256::digest(text.as_bytes()));
            let nonce = open
                .split("nonce=\"")
                .nth(1)
                .and_then(|n| n.split('"').next());
            let by_nonce = nonce.is_some_and(|n| csp.contains(&format!("'nonce-{n}'")));
            if !(csp.contains(&format!("'sha256-{hash}'")) || by_nonce) {
                return false;
            }
        }
        rest = &tag[open_end + 1 + len..];
    }
    inline > 0
}

#[tokio::test]
async fn anonymous_programme_pages_come_from_memory_and_follow_every_edit() {
    on_each_engine(&[], |app| async move {
        app.seed_demo().await;
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let rust = talk(&app, &admin, "Rust en production").await;
        let talk_path = format!("/talks/{}", rust["id"].as_str().unwrap());

        // Twice the same page: the second from memory, and its scripts still allowed to run.
        let first = page(&app, "/").await;
        let (_, headers, second) = anonymous(&app, "/", &[]).await;
        let second = String::from_utf8(second).unwrap();
        assert!(first.contains("Rust en production") && second.contains("Rust en production"));
        assert!(scripts_allowed(&headers, &second), "[{}] a cached page's scripts must be allowed by its CSP", app.engine);
        assert!(!second.contains("nonce=\""), "[{}] a shared page carries no nonce", app.engine);
        assert!(page(&app, &talk_path).await.contains("Rust en production"));
        assert!(app.state.page_cache.len() >= 2, "[{}] the pages were kept", app.engine);

        // The editor renames the talk: the very next anonymous visit shows the new title.
        let (status, renamed) = save(&app, &admin, &rust, "title", "Rust, dix ans après").await;
        assert_eq!(status, 200, "[{}] {renamed}", app.engine);
        for path in ["/", talk_path.as_str()] {
            let body = page(&app, path).await;
            assert!(body.contains("Rust, dix ans après") && !body.contains("Rust en production"), "[{}] {path} is stale after an edit", app.engine);
        }

        // A title that is markup stays text, and no script but the app's is allowed on a shared page.
        let current = talk(&app, &admin, "Rust, dix ans après").await;
        let (status, _) = save(&app, &admin, &current, "title", "</title><script>alert(1)</script>").await;
        assert_eq!(status, 200);
        page(&app, &talk_path).await;
        let (_, headers, body) = anonymous(&app, &talk_path, &[]).await;
        let body = String::from_utf8(body).unwrap();
        assert!(!body.contains("<script>alert(1)"), "[{}] the title is escaped: {}", app.engine, &body[..body.len().min(600)]);
        assert!(scripts_allowed(&headers, &body), "[{}] the page's own scripts still run", app.engine);
        assert!(!headers["content-security-policy"].to_str().unwrap().contains("'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"), "[{}] alert(1) is not allowed", app.engine);
        let current = talk(&app, &admin, "</title>").await;
        let (status, _) = save(&app, &admin, &current, "title", "Rust, dix ans après").await;
        assert_eq!(status, 200);

        // Other spellings of an address are answered, not kept (made-up addresses cost no memory).
        let kept = app.state.page_cache.len();
        for path in [talk_path.to_uppercase().replace("/TALKS/", "/talks/"), "/?x=1".into(), "/?theme=a&theme=b".into()] {
            let (status, _, _) = anonymous(&app, &path, &[]).await;
            assert_eq!(status, 200, "[{}] {path}", app.engine);
        }
        assert_eq!(app.state.page_cache.len(), kept, "[{}] nothing kept for other spellings", app.engine);

        // Another writer of the same database (another instance, a script): followed as well.
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE conferences SET title = 'Changé ailleurs' WHERE title = 'Rust, dix ans après'").execute(pool).await.map(|_| ())).unwrap();
        assert!(page(&app, "/").await.contains("Changé ailleurs"), "[{}] an edit by another writer is seen", app.engine);
        tessera::db_run!(app.db(), pool => sqlx::query("DELETE FROM conferences WHERE title = 'Changé ailleurs'").execute(pool).await.map(|_| ())).unwrap();
        assert!(!page(&app, "/").await.contains("Changé ailleurs"), "[{}] a deleted talk is gone", app.engine);
        let (status, _, _) = anonymous(&app, &talk_path, &[]).await;
        assert_eq!(status, 404, "[{}] and so is its page", app.engine);

        // A logged-in visitor gets their own page, never the shared one, and the shared one stays anonymous.
        let mine = admin.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(mine.contains("data-user=\"boss@example.org\""), "[{}] the logged-in page is the user's", app.engine);
        assert!(!page(&app, "/").await.contains("boss@example.org"), "[{}] the shared page names no one", app.engine);

        // Each visitor's language.
        let (_, _, en) = anonymous(&app, "/", &[("accept-language", "en-GB,en;q=0.9")]).await;
        let (_, _, en_cookie) = anonymous(&app, "/", &[("cookie", "lang=en")]).await;
        for body in [en, en_cookie] {
            assert!(String::from_utf8(body).unwrap().contains("<html lang=\"en\""), "[{}] English asked, English served", app.engine);
        }
        assert!(page(&app, "/").await.contains("<html lang=\"fr\""));

        // Precompressed: brotli or gzip as the browser accepts, the same page once decoded.
        let plain = page(&app, "/").await;
        let (_, headers, br) = anonymous(&app, "/", &[("accept-encoding", "gzip, deflate, br")]).await;
        assert_eq!(headers["content-encoding"], "br");
        let mut decoded = String::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_string(&mut decoded).unwrap();
        assert_eq!(decoded, plain, "[{}] brotli body", app.engine);
        let (_, headers, gz) = anonymous(&app, "/", &[("accept-encoding", "gzip")]).await;
        assert_eq!(headers["content-encoding"], "gzip");
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut decoded).unwrap();
        assert_eq!(decoded, plain, "[{}] gzip body", app.engine);
        assert!(br.len() < plain.len() / 3, "[{}] compressed: {} of {} bytes", app.engine, br.len(), plain.len());
    })
    .await;
}

#[tokio::test]
async fn interest_counts_shown_to_all_turn_the_cache_off() {
    on_each_engine(&[("SHOW_INTEREST_COUNTS", "true")], |app| async move {
        app.seed_demo().await;
        page(&app, "/").await;
        page(&app, "/").await;
        assert_eq!(
            app.state.page_cache.len(),
            0,
            "[{}] counts change with every star: not cached",
            app.engine
        );
    })
    .await;
}
