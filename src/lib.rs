//! Tessera: conference ticketing and programme. One module per domain; `app` composes them.
#![recursion_limit = "256"]
// A server function's browser stub takes its form's fields one by one, and `#[allow]` on the
// function does not reach the stub the macro writes; the server build still checks them all.
#![cfg_attr(feature = "hydrate", allow(clippy::too_many_arguments))]
pub mod accounts;
pub mod admin;
pub mod api;
pub mod app;
pub mod attendees;
pub mod checkin;
pub mod dates;
pub mod devtools;
pub mod error;
pub mod i18n;
#[cfg(feature = "ssr")]
pub mod invoice_settings;
pub mod invoicing;
pub mod lazy_pages;
pub mod mail;
pub mod messages;
pub mod money;
pub mod passes;
pub mod payments;
pub mod privacy;
pub mod programme;
pub mod scanning;
pub mod schedule;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod text;
pub mod ticketing;
pub mod ui;
pub mod vouchers;
pub mod waitlist;
pub mod webhooks;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        ui::show_reload_notice();
    }));
    // Lazy routes (`lazy_pages`) hydrate once their chunk is in.
    leptos::mount::hydrate_lazy(app::App);
}
