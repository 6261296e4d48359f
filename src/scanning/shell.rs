//! The installable door: `/scan.webmanifest` and the service worker `/scan-sw.js`, which keeps the
//! scanner's page and this build's JS/WASM/CSS so that `/scan` opens without the network once it
//! has been opened online. The worker's file list (and so its bytes) comes from this build's
//! `hash.txt` and WASM split manifest: a new deploy is a new worker, which caches the new files
//! together and drops the old cache. An unhashed build (`cargo leptos watch`) has no worker (404).
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use leptos::config::LeptosOptions;
use std::{path::Path, sync::OnceLock};

use crate::server::state::AppState;

/// The files a hashed build's pages load, as `/pkg/…` paths.
fn build_files(options: &LeptosOptions) -> Option<Vec<String>> {
    let exe = std::env::current_exe().ok()?;
    let hashes = std::fs::read_to_string(exe.parent()?.join(options.hash_file.as_ref())).ok()?;
    let hash = |ext: &str| {
        hashes
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(e, _)| e.trim() == ext)
            .map(|(_, h)| h.trim().to_string())
    };
    let name = options.output_name.as_ref();
    let pkg_dir = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let mut files = vec![
        format!("{name}.{}.js", hash("js")?),
        format!("{name}.{}.wasm", hash("wasm")?),
        format!("{name}.{}.css", hash("css")?),
    ];
    if let Some(split) = hash("split") {
        files.push(format!("__wasm_split.{split}.js"));
    }
    // Every lazily loaded chunk of this build (the door's and the rest: a steward may open
    // another page offline by mistake; they are small).
    if let Some(manifest) = hash("manifest") {
        let text =
            std::fs::read_to_string(pkg_dir.join(format!("__wasm_split_manifest.{manifest}.json")))
                .ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        let mut chunks: Vec<String> = json
            .as_object()?
            .values()
            .filter_map(|v| v.as_array())
            .flatten()
            .filter_map(|c| c.as_str())
            .map(|c| format!("{c}.wasm"))
            .collect();
        chunks.sort();
        chunks.dedup();
        files.extend(chunks);
    }
    if !files.iter().all(|f| pkg_dir.join(f).is_file()) {
        return None;
    }
    let pkg = options.site_pkg_dir.as_ref();
    Some(files.into_iter().map(|f| format!("/{pkg}/{f}")).collect())
}

/// The worker's source for this build, made once.
fn worker(options: &LeptosOptions) -> Option<&'static str> {
    static WORKER: OnceLock<Option<String>> = OnceLock::new();
    WORKER
        .get_or_init(|| {
            let mut files = build_files(options)?;
            files.extend(["/favicon.svg".to_string(), "/scan.webmanifest".to_string()]);
            let list = serde_json::to_string(&files).ok()?;
            let version = &crate::scanning::signed::legacy_hash(&list)[..16];
            Some(
                WORKER_JS
                    .replace("__VERSION__", version)
                    .replace("__FILES__", &list),
            )
        })
        .as_deref()
}

/// The service worker: this build's files cache-first (their names change with their content),
/// `/scan` from the network when it answers within 4 s, else from the cache; nothing else touched
/// (server functions are POST: the page's outbox handles their failures).
const WORKER_JS: &str = r#"// Tessera's door, offline. Generated for one build; do not edit.
const CACHE = "door-__VERSION__";
const FILES = __FILES__;
const PAGE = "/scan";

async function cachePage(cache) {
  try {
    const res = await fetch(PAGE, { redirect: "manual", credentials: "same-origin" });
    if (res.ok && res.type === "basic") await cache.put(PAGE, res);
  } catch (e) { /* offline: the next visit caches it */ }
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then(async (cache) => {
    await cache.addAll(FILES);
    await cachePage(cache);
  }));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("door-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data === "SKIP_WAITING") self.skipWaiting();
  if (event.data === "CACHE_PAGE") event.waitUntil(caches.open(CACHE).then(cachePage));
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (FILES.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(req)));
    return;
  }
  if (req.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      try {
        const res = await Promise.race([fetch(req), timeout(4000)]);
        if (res.ok && res.type === "basic" && !res.redirected) await cache.put(PAGE, res.clone());
        return res;
      } catch (e) {
        const hit = await cache.match(PAGE);
        if (hit) return hit;
        throw e;
      }
    })());
  }
});
"#;

/// `/scan-sw.js`: never cached by the browser's HTTP cache (it must see a new build at once).
pub async fn service_worker(State(state): State<AppState>) -> Response {
    match worker(&state.leptos_options) {
        Some(js) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            js,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/scan.webmanifest`: the door as an installed app, in the visitor's language.
pub async fn manifest(headers: axum::http::HeaderMap) -> Response {
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let locale =
        crate::i18n::Locale::from_request(text(header::COOKIE), text(header::ACCEPT_LANGUAGE));
    let body = serde_json::json!({
        "name": crate::i18n::tr(locale, "scan.app_name"),
        "short_name": crate::i18n::tr(locale, "scan.app_short_name"),
        "start_url": "/scan",
        "scope": "/scan",
        "display": "standalone",
        "background_color": "#111111",
        "theme_color": "#111111",
        "icons": [{ "src": "/favicon.svg", "sizes": "any", "type": "image/svg+xml" }],
    });
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The door's installable shell: its service worker and manifest.
pub fn routes() -> axum::Router<crate::server::state::AppState> {
    axum::Router::new()
        .route("/scan-sw.js", axum::routing::get(service_worker))
        .route("/scan.webmanifest", axum::routing::get(manifest))
}
