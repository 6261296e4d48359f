//! Translations: `locales/fr.json` (default) and `locales/en.json`, flat `key → text` maps
//! compiled into both the server and the WASM client; `locales/server/*.json` (mails, invoices)
//! only into the server. Components never hold user-facing text:
//! they ask [`I18n::t`]. A test checks that every key the code uses exists in every language.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, sync::OnceLock};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    Fr,
    En,
}

pub const LOCALES: [Locale; 2] = [Locale::Fr, Locale::En];
pub const LANG_COOKIE: &str = "lang";

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Locale> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Locale::Fr),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// Picks the best of our locales from an `Accept-Language` header (quality values honoured).
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(locale) = Locale::from_code(primary) {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, locale));
                }
            }
        }
        best.map(|(_, l)| l)
    }

    /// The locale a request asks for: the `lang` cookie, then `Accept-Language`, then French.
    pub fn from_request(cookie_header: Option<&str>, accept_language: Option<&str>) -> Locale {
        cookie_header
            .and_then(|c| {
                c.split(';').find_map(|kv| {
                    let (k, v) = kv.trim().split_once('=')?;
                    (k == LANG_COOKIE).then(|| Locale::from_code(v)).flatten()
                })
            })
            .or_else(|| accept_language.and_then(Locale::from_accept_language))
            .unwrap_or_default()
    }

    fn source(self) -> &'static str {
        match self {
            Locale::Fr => include_str!("../locales/fr.json"),
            Locale::En => include_str!("../locales/en.json"),
        }
    }

    /// Texts only the server writes (mails, invoices): kept out of the WASM client.
    #[cfg(feature = "ssr")]
    fn server_source(self) -> &'static str {
        match self {
            Locale::Fr => include_str!("../locales/server/fr.json"),
            Locale::En => include_str!("../locales/server/en.json"),
        }
    }

    pub fn table(self) -> &'static HashMap<String, String> {
        static FR: OnceLock<HashMap<String, String>> = OnceLock::new();
        static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
        let cell = match self {
            Locale::Fr => &FR,
            Locale::En => &EN,
        };
        cell.get_or_init(|| {
            #[allow(unused_mut)]
            let mut table: HashMap<String, String> =
                serde_json::from_str(self.source()).expect("locale file is valid JSON");
            #[cfg(feature = "ssr")]
            table.extend(
                serde_json::from_str::<HashMap<String, String>>(self.server_source())
                    .expect("server locale file is valid JSON"),
            );
            table
        })
    }
}

/// The text for `key` in `locale`; the key itself if missing (the locale test forbids that).
pub fn tr(locale: Locale, key: &str) -> String {
    locale
        .table()
        .get(key)
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// The text for `key` with `{name}` placeholders replaced.
pub fn tr_with(locale: Locale, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = tr(locale, key);
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// The reactive translator every component uses.
#[derive(Clone, Copy)]
pub struct I18n {
    pub locale: RwSignal<Locale>,
}

impl I18n {
    pub fn t(&self, key: &str) -> String {
        tr(self.locale.get(), key)
    }

    pub fn t_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        tr_with(self.locale.get(), key, args)
    }

    /// "jeudi 10 juin" / "Thursday 10 June".
    pub fn date_long(&self, date: chrono::NaiveDate) -> String {
        date_long(self.locale.get(), date)
    }
}

/// "jeudi 10 juin" / "Thursday 10 June", in a given language (mails, server-side texts).
pub fn date_long(l: Locale, date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let weekday = tr(
        l,
        &format!("weekday.{}", date.weekday().num_days_from_monday()),
    );
    let month = tr(l, &format!("month.{}", date.month()));
    tr_with(
        l,
        "date.long",
        &[
            ("weekday", &weekday),
            ("day", &date.day().to_string()),
            ("month", &month),
            ("year", &date.year().to_string()),
        ],
    )
}

/// A page's `<title>` text. In the browser it follows the language switch. On the server it is
/// read once, while the page renders: leptos_meta reads titles after a yield, when another
/// request may have run on the same thread and left its own reactive arena current, so a
/// reactive title there panics under load ("already been disposed").
pub fn page_title(
    text: impl Fn() -> String + Send + Sync + 'static,
) -> leptos::text_prop::TextProp {
    #[cfg(feature = "ssr")]
    {
        leptos::text_prop::TextProp::from(text())
    }
    #[cfg(not(feature = "ssr"))]
    {
        leptos::text_prop::TextProp::from(text)
    }
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

/// Provides the translator: on the server from the request, in the browser from `<html lang>`
/// (which the server rendered), so hydration starts in the same language.
pub fn provide_i18n() -> I18n {
    let locale = initial_locale();
    let i18n = I18n {
        locale: RwSignal::new(locale),
    };
    provide_context(i18n);
    i18n
}

#[cfg(feature = "ssr")]
pub fn initial_locale() -> Locale {
    use_context::<http::request::Parts>()
        .map(|parts| {
            let h = |name: http::header::HeaderName| {
                parts.headers.get(name).and_then(|v| v.to_str().ok())
            };
            Locale::from_request(h(http::header::COOKIE), h(http::header::ACCEPT_LANGUAGE))
        })
        .unwrap_or_default()
}

#[cfg(not(feature = "ssr"))]
pub fn initial_locale() -> Locale {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|l| Locale::from_code(&l))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Locale::default()
    }
}

/// Switches language in the browser without a page load, remembering it in the `lang` cookie.
pub fn switch_locale(i18n: I18n, locale: Locale) {
    i18n.locale.set(locale);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let Some(el) = doc.document_element() {
                let _ = el.set_attribute("lang", locale.code());
            }
            if let Ok(html) = doc.dyn_into::<web_sys::HtmlDocument>() {
                let _ = html.set_cookie(&format!(
                    "{LANG_COOKIE}={}; path=/; max-age=31536000; samesite=lax",
                    locale.code()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_highest_quality() {
        assert_eq!(
            Locale::from_accept_language("en-GB,en;q=0.9,fr;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("de-DE,fr;q=0.5,en;q=0.4"),
            Some(Locale::Fr)
        );
        assert_eq!(Locale::from_accept_language("de-DE"), None);
        assert_eq!(
            Locale::from_request(Some("a=b; lang=en"), Some("fr")),
            Locale::En
        );
        assert_eq!(Locale::from_request(None, Some("de")), Locale::Fr);
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let fr: std::collections::BTreeSet<_> = Locale::Fr.table().keys().collect();
        let en: std::collections::BTreeSet<_> = Locale::En.table().keys().collect();
        assert_eq!(
            fr.symmetric_difference(&en).collect::<Vec<_>>(),
            Vec::<&&String>::new()
        );
    }

    /// Every string literal in `src/` that looks like a key of one of our namespaces
    /// (`"programme.title"`, `"error.not_found"`…) exists in every locale file.
    #[test]
    fn every_key_used_in_the_code_exists() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out)
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p)
                }
            }
        }
        let namespaces: std::collections::BTreeSet<&str> = Locale::Fr
            .table()
            .keys()
            .filter_map(|k| k.split_once('.').map(|(ns, _)| ns))
            .collect();
        let mut files = vec![];
        walk(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
            &mut files,
        );
        let (mut missing, mut used) = (vec![], 0);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for literal in text.split('"').skip(1).step_by(2) {
                let is_key = literal.split_once('.').is_some_and(|(ns, rest)| {
                    namespaces.contains(ns)
                        && !rest.is_empty()
                        && literal.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                        })
                });
                // File names (`orders.csv`) look like keys of a namespace; they are not texts.
                let file_name = [".csv", ".ics", ".png", ".svg", ".json", ".xml"]
                    .iter()
                    .any(|ext| literal.ends_with(ext));
                // Webhook events' names (`talk.changed`) are names, not texts.
                let event = literal == "talk.changed";
                if !is_key || file_name || event || literal.ends_with('.') {
                    continue;
                }
                used += 1;
                for l in LOCALES {
                    if !l.table().contains_key(literal) {
                        missing.push(format!("{}: {literal} ({})", f.display(), l.code()));
                    }
                }
            }
        }
        assert!(
            used > 20,
            "the scan found only {used} keys: is the pattern still right?"
        );
        assert!(missing.is_empty(), "missing translations: {missing:#?}");
    }
}
