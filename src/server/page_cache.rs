//! The public programme pages (`/` and `/talks/…`) as an anonymous visitor sees them: rendered once
//! per programme revision, language and address, kept in memory already compressed (brotli and
//! gzip), and served from there until the programme changes.
//!
//! - **Never stale.** Every talk written (insert, update, delete, from any instance) bumps
//!   `programme_revision` in the same transaction (a trigger, migration 0009); each request reads
//!   that one row before answering, and a page rendered at an older revision is rendered again.
//!   The revision is read before rendering, so a page that raced an edit is at worst re-rendered.
//! - **Only anonymous visitors**, only what they all see alike: a request that carries a session
//!   cookie, a page answered with a cookie, with a status other than 200, or interest counts shown
//!   to everyone (`SHOW_INTEREST_COUNTS`) are never cached.
//! - **Scripts allowed by hash.** A cached page cannot carry the request's nonce, so its inline
//!   scripts are allowed by their SHA-256 in its Content-Security-Policy instead (the security
//!   middleware writes it from [`SCRIPT_SRC_HEADER`]); the nonce attributes are taken out.
//! - **Only the pages' own addresses**: `/` with at most its `theme` and `day` filters, and
//!   `/talks/<id>` with the id as the programme writes it; any other spelling is rendered, not kept.
//! - **Bounded**: at most [`MAX_PAGES`] pages; when full of current pages, a filtered view is not
//!   kept, and a page's own address replaces a filtered view, so made-up addresses cost renders,
//!   never memory, and never push the programme out.
use super::state::AppState;
use crate::i18n::Locale;
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode},
    middleware::Next,
    response::Response,
};
use std::{
    collections::HashMap,
    io::Write,
    sync::{Arc, RwLock},
};

/// Header through which a cached page hands its script sources to the security middleware.
pub const SCRIPT_SRC_HEADER: &str = "x-tessera-script-src";
/// The most pages kept (addresses × languages).
pub const MAX_PAGES: usize = 256;
/// The longest query string of a cacheable address.
const MAX_QUERY: usize = 200;
/// The largest page kept.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Default, Debug)]
pub struct PageCache {
    pages: RwLock<HashMap<Key, Arc<Page>>>,
    /// Documents made of the programme alone (`/schedule.json`, `.xml`, `.ics`), by name, with the
    /// revision they were written at.
    documents: RwLock<HashMap<&'static str, (i64, Bytes)>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    address: String,
    locale: Locale,
}

impl Key {
    /// A page's own address, without a query (`/`, `/talks/<id>`).
    fn canonical(&self) -> bool {
        !self.address.contains('?')
    }
}

#[derive(Debug)]
struct Page {
    revision: i64,
    headers: HeaderMap,
    script_src: HeaderValue,
    identity: Bytes,
    gzip: Bytes,
    brotli: Bytes,
}

impl PageCache {
    fn get(&self, key: &Key, revision: i64) -> Option<Arc<Page>> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        pages.get(key).filter(|p| p.revision == revision).cloned()
    }

    fn put(&self, key: Key, page: Arc<Page>) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
            let revision = page.revision;
            pages.retain(|_, p| p.revision == revision);
            if pages.len() >= MAX_PAGES {
                // Full of current pages: a page's own address (no query) takes the place of a
                // filtered view; a filtered view is served without being kept. Made-up addresses
                // can fill the cache, never push `/` or a talk's page out of it.
                if !key.canonical() {
                    return;
                }
                let Some(other) = pages.keys().find(|k| !k.canonical()).cloned() else {
                    return;
                };
                pages.remove(&other);
            }
        }
        // Whatever the revision (a restored database may count from lower again): `get` serves a
        // page only at the revision it was rendered at.
        pages.insert(key, page);
    }

    /// The document `name` as written at `revision`, if it was.
    pub fn document(&self, name: &'static str, revision: i64) -> Option<Bytes> {
        let documents = self.documents.read().unwrap_or_else(|e| e.into_inner());
        documents
            .get(name)
            .filter(|d| d.0 == revision)
            .map(|d| d.1.clone())
    }

    /// Keeps the document `name` as written at `revision` (a handful of names: bounded).
    pub fn put_document(&self, name: &'static str, revision: i64, body: Bytes) {
        let mut documents = self.documents.write().unwrap_or_else(|e| e.into_inner());
        documents.insert(name, (revision, body));
    }

    /// How many pages are kept (for the tests and the benchmarks).
    pub fn len(&self) -> usize {
        self.pages.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The programme's revision: bumped by every change to a talk (migration 0009).
pub async fn programme_revision(db: &super::db::Db) -> Result<i64, sqlx::Error> {
    crate::db_run!(db, pool => sqlx::query_scalar::<_, i64>(
        "SELECT revision FROM programme_revision WHERE id = 1"
    )
    .fetch_one(pool)
    .await)
}

/// The middleware: answers a cacheable request from memory, or renders it and keeps the page.
pub async fn serve(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let Some(key) = cache_key(&state, &req) else {
        return next.run(req).await;
    };
    let Ok(revision) = programme_revision(&state.db).await else {
        return next.run(req).await;
    };
    let encoding = Encoding::accepted(req.headers());
    if let Some(page) = state.page_cache.get(&key, revision) {
        return page.respond(encoding);
    }
    let res = next.run(req).await;
    if !cacheable_response(&res) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "page cache: the page could not be read");
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(Body::empty())
                .unwrap_or_default();
        }
    };
    let Some(page) = Page::new(revision, parts.headers.clone(), &bytes) else {
        // Not a page we can serve by hash (not UTF-8 text, or no nonce on its scripts): answered
        // as rendered, not kept.
        return Response::from_parts(parts, bytes.into());
    };
    let page = Arc::new(page);
    state.page_cache.put(key, page.clone());
    page.respond(encoding)
}

/// The key of a request every anonymous visitor would get the same answer to, or `None`.
fn cache_key(state: &AppState, req: &Request<Body>) -> Option<Key> {
    if req.method() != Method::GET || !state.config.page_cache || state.config.show_interest_counts
    {
        return None;
    }
    let path = req.uri().path();
    // A talk's page under its id's own spelling only (lower case, hyphens): the other spellings
    // the page accepts are rendered, not kept.
    let talk = path
        .strip_prefix("/talks/")
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok_and(|u| u.to_string() == id));
    if path != "/" && !talk {
        return None;
    }
    if super::cookies::session_token(req.headers()).is_some() {
        return None;
    }
    // The programme's filters only (`?theme=…&day=…`), each once.
    let query = req.uri().query().unwrap_or("");
    if query.len() > MAX_QUERY {
        return None;
    }
    let mut seen = (false, false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split('=').next().unwrap_or("");
        let first = match name {
            "theme" if path == "/" => !std::mem::replace(&mut seen.0, true),
            "day" if path == "/" => !std::mem::replace(&mut seen.1, true),
            _ => false,
        };
        if !first {
            return None;
        }
    }
    let h = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    Some(Key {
        address: req.uri().path_and_query()?.as_str().to_string(),
        locale: Locale::from_request(h(header::COOKIE), h(header::ACCEPT_LANGUAGE)),
    })
}

fn cacheable_response(res: &Response) -> bool {
    res.status() == StatusCode::OK
        && !res.headers().contains_key(header::SET_COOKIE)
        && !res.headers().contains_key(header::CONTENT_ENCODING)
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
}

impl Page {
    /// The page as kept: without its nonce, its inline scripts listed by hash, compressed.
    fn new(revision: i64, mut headers: HeaderMap, bytes: &[u8]) -> Option<Page> {
        let text = std::str::from_utf8(bytes).ok()?;
        let nonce = headers
            .remove(super::security::NONCE_HEADER)
            .and_then(|v| v.to_str().ok().map(str::to_string))
            .or_else(|| super::security::nonce_in_page(bytes));
        // Only the scripts the app wrote (they carry the request's nonce) are allowed, by hash;
        // any other script in the page (injected markup) stays blocked, as under the nonce.
        let nonce = nonce.filter(|n| !n.is_empty())?;
        let script_src = script_sources(text, &nonce);
        let text = text.replace(&format!(" nonce=\"{nonce}\""), "");
        headers.remove(header::CONTENT_LENGTH);
        // The page differs by language (cookie or Accept-Language) and by encoding.
        headers.insert(
            header::VARY,
            HeaderValue::from_static("accept-encoding, accept-language, cookie"),
        );
        let identity = Bytes::from(text);
        Some(Page {
            revision,
            headers,
            script_src: HeaderValue::from_str(&script_src).ok()?,
            gzip: gzip(&identity)?,
            brotli: brotli(&identity)?,
            identity,
        })
    }

    fn respond(&self, encoding: Encoding) -> Response {
        let body = match encoding {
            Encoding::Brotli => self.brotli.clone(),
            Encoding::Gzip => self.gzip.clone(),
            Encoding::Identity => self.identity.clone(),
        };
        let mut res = Response::new(Body::from(body));
        *res.headers_mut() = self.headers.clone();
        let h = res.headers_mut();
        if let Some(name) = encoding.name() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
        }
        h.insert(SCRIPT_SRC_HEADER, self.script_src.clone());
        res
    }
}

/// `'sha256-…'` for each inline script of a page that carries `nonce`, space-separated, in page
/// order.
fn script_sources(page: &str, nonce: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mark = format!(" nonce=\"{nonce}\"");
    inline_scripts(page)
        .into_iter()
        .filter(|(open, _)| open.contains(&mark))
        .map(|(_, text)| {
            let digest = sha2::Sha256::digest(text.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The opening tag and the text of every `<script>` of a page that has no `src`.
fn inline_scripts(page: &str) -> Vec<(&str, &str)> {
    let mut scripts = vec![];
    let mut rest = page;
    while let Some(at) = rest.find("<script") {
        let tag = &rest[at..];
        let Some(open_end) = tag.find('>') else { break };
        let Some(len) = tag[open_end + 1..].find("</script>") else {
            break;
        };
        let open = &tag[..open_end];
        if !open.contains(" src=") {
            scripts.push((open, &tag[open_end + 1..open_end + 1 + len]));
        }
        rest = &tag[open_end + 1 + len + "</script>".len()..];
    }
    scripts
}

fn gzip(bytes: &[u8]) -> Option<Bytes> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    out.write_all(bytes).ok()?;
    out.finish().ok().map(Bytes::from)
}

fn brotli(bytes: &[u8]) -> Option<Bytes> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 6,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).ok()?;
    Some(Bytes::from(out))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The best encoding the request accepts (`br` over `gzip`; `q=0` refuses one).
    fn accepted(headers: &HeaderMap) -> Encoding {
        let mut br = false;
        let mut gz = false;
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                match name.as_str() {
                    "br" => br = !refused,
                    "gzip" | "x-gzip" => gz = !refused,
                    _ => {}
                }
            }
        }
        if br {
            Encoding::Brotli
        } else if gz {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    fn name(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_inline_scripts_are_allowed_by_hash() {
        let page = r#"<head><script type="module" nonce="n1">import('/pkg/a.js')</script><script src="/x.js"></script></head><body><script>__R=[1]</script></body>"#;
        let texts: Vec<&str> = inline_scripts(page).into_iter().map(|(_, t)| t).collect();
        assert_eq!(texts, vec!["import('/pkg/a.js')", "__R=[1]"]);
        // The hash of `alert(1)` as browsers compute it, for a script the app wrote (with the
        // nonce) only: a script without it (injected) is not allowed.
        assert_eq!(
            script_sources(r#"<script nonce="n1">alert(1)</script>"#, "n1"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
        assert_eq!(script_sources("<script>alert(1)</script>", "n1"), "");
    }

    #[test]
    fn the_best_accepted_encoding_is_chosen() {
        let accept = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            Encoding::accepted(&h)
        };
        assert_eq!(accept("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(accept("gzip"), Encoding::Gzip);
        assert_eq!(accept("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        assert_eq!(accept("identity"), Encoding::Identity);
        assert_eq!(Encoding::accepted(&HeaderMap::new()), Encoding::Identity);
    }

    #[test]
    fn a_full_cache_keeps_the_pages_own_addresses() {
        let cache = PageCache::default();
        let page = |revision| {
            Arc::new(Page {
                revision,
                headers: HeaderMap::new(),
                script_src: HeaderValue::from_static(""),
                identity: Bytes::new(),
                gzip: Bytes::new(),
                brotli: Bytes::new(),
            })
        };
        let key = |i: usize| Key {
            address: format!("/?day={i}"),
            locale: Locale::Fr,
        };
        for i in 0..MAX_PAGES * 3 {
            cache.put(key(i), page(1));
            assert!(cache.len() <= MAX_PAGES);
        }
        // Full of filtered views: the programme's own address still gets in, in either language.
        for locale in [Locale::Fr, Locale::En] {
            let home = Key {
                address: "/".into(),
                locale,
            };
            cache.put(home.clone(), page(1));
            assert!(cache.get(&home, 1).is_some());
            assert!(cache.len() <= MAX_PAGES);
        }
        // A page is served at the revision it was rendered at only.
        cache.put(key(0), page(2));
        assert!(cache.get(&key(0), 2).is_some());
        assert!(cache.get(&key(0), 1).is_none());
    }
}
