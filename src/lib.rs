//! Tessera: conference ticketing and programme. One module per domain; `app` composes them.
#![recursion_limit = "256"]
pub mod accounts;
pub mod admin;
pub mod app;
pub mod dates;
pub mod devtools;
pub mod error;
pub mod i18n;
pub mod mail;
pub mod payments;
pub mod programme;
pub mod scanning;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ticketing;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
