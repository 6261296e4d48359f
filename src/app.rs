//! The application shell, the router and the pieces every page shares (header, errors, 404).
use crate::{
    accounts::components::{
        provide_auth, AccountNav, AccountPage, ForgotPasswordPage, ForgotSentPage, LegalPage,
        LoginPage, ResetPasswordPage, SignupPage, SignupSentPage, VerifyEmailPage,
    },
    admin::components::{
        AdminAttendeesPage, AdminAuditPage, AdminMailPage, AdminOrdersPage, AdminPassesPage,
        AdminProgrammePage, AdminUsersPage,
    },
    error::AppError,
    i18n::{page_title, provide_i18n, switch_locale, use_i18n, Locale, LOCALES},
    mail::components::DevMailboxPage,
    payments::components::TestCheckoutPage,
    programme::components::{MyProgrammePage, ProgrammePage, TalkPage},
    scanning::components::ScanPage,
    ticketing::components::{MyOrdersPage, MyTicketsPage, OrderConfirmationPage, ShopPage},
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_location,
    path, SsrMode,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = crate::i18n::initial_locale().code();
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let i18n = provide_i18n();
    // Effects run only in the browser: this marks the page as hydrated (the end-to-end tests wait for it).
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    // The page's script nonce goes to the security middleware, which writes it into the CSP.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(resp)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(v) = http::HeaderValue::from_str(&nonce.to_string()) {
            resp.insert_header(
                http::HeaderName::from_static(crate::server::security::NONCE_HEADER),
                v,
            );
        }
    }
    // Read once on the server, reactive in the browser (see `page_title`).
    let app_name = page_title(move || i18n.t("app.name"));
    view! {
        <Title formatter=move |page: String| {
            let name = app_name.get();
            if page.is_empty() { name.to_string() } else { format!("{page} · {name}") }
        }/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// Everything inside the router: the header (which needs to know who is logged in), the pages, the footer.
#[component]
fn Layout() -> impl IntoView {
    provide_auth();
    view! {
        <SiteHeader/>
        <main id="main">
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=ProgrammePage ssr=SsrMode::Async/>
                <Route path=path!("/talks/:id") view=TalkPage ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async/>
                <Route path=path!("/signup/sent") view=SignupSentPage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password/sent") view=ForgotSentPage ssr=SsrMode::Async/>
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async/>
                <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                <Route path=path!("/legal/:doc") view=LegalPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=crate::admin::dashboard::components::AdminDashboardPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/orders") view=AdminOrdersPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/tickets") view=AdminPassesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/programme") view=AdminProgrammePage ssr=SsrMode::Async/>
                <Route path=path!("/admin/attendees") view=AdminAttendeesPage ssr=SsrMode::Async/>
                <Route path=path!("/admin/mail") view=AdminMailPage ssr=SsrMode::Async/>
                <Route path=path!("/dev/mailbox") view=DevMailboxPage ssr=SsrMode::Async/>
                <Route path=path!("/dev/panic") view=crate::devtools::DevPanicPage ssr=SsrMode::Async/>
                <Route path=path!("/tickets") view=ShopPage ssr=SsrMode::Async/>
                <Route path=path!("/scan") view=ScanPage ssr=SsrMode::Async/>
                <Route path=path!("/me/programme") view=MyProgrammePage ssr=SsrMode::Async/>
                <Route path=path!("/me/orders") view=MyOrdersPage ssr=SsrMode::Async/>
                <Route path=path!("/me/tickets") view=MyTicketsPage ssr=SsrMode::Async/>
                <Route path=path!("/orders/:id/confirmation") view=OrderConfirmationPage ssr=SsrMode::Async/>
                <Route path=path!("/checkout/test/:session") view=TestCheckoutPage ssr=SsrMode::Async/>
            </Routes>
        </main>
        <SiteFooter/>
    }
}

#[component]
fn SiteHeader() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"▦"</span>
                {move || i18n.t("app.name")}
            </a>
            <nav class="site-nav" aria-label=move || i18n.t("nav.label")>
                <a href="/">{move || i18n.t("nav.programme")}</a>
                <a href="/tickets">{move || i18n.t("nav.tickets")}</a>
            </nav>
            <AccountNav/>
            <LanguageSwitcher/>
        </header>
    }
}

/// Links to `/lang/xx?next=…` (works without JavaScript); once hydrated, switches in place.
#[component]
fn LanguageSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let here = move || {
        let search = location.search.get();
        let search = search.trim_start_matches('?');
        if search.is_empty() {
            location.pathname.get()
        } else {
            format!("{}?{search}", location.pathname.get())
        }
    };
    view! {
        <div class="lang-switcher" role="group" aria-label=move || i18n.t("nav.language")>
            {LOCALES
                .into_iter()
                .map(|l: Locale| {
                    view! {
                        <a
                            href=move || format!("/lang/{}?next={}", l.code(), crate::programme::encode_query(&here()))
                            hreflang=l.code()
                            lang=l.code()
                            class="lang"
                            class:lang-active=move || i18n.locale.get() == l
                            aria-current=move || (i18n.locale.get() == l).then_some("true")
                            rel="external"
                            on:click=move |ev| {
                                ev.prevent_default();
                                switch_locale(i18n, l);
                            }
                        >
                            {tr_name(l)}
                        </a>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// A language's own name is the one text that is the same in every language.
fn tr_name(l: Locale) -> String {
    crate::i18n::tr(l, "lang.self")
}

#[component]
fn SiteFooter() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <footer class="site-footer">
            <p>{move || i18n.t("footer.text")}</p>
        </footer>
    }
}

/// The 404 page; on the server it also sets the response status.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <Title text=page_title(move || i18n.t("error.not_found_title"))/>
        <section class="error-page" data-status="404">
            <h1>{move || i18n.t("error.not_found_title")}</h1>
            <p>{move || i18n.t("error.not_found")}</p>
            <p><a href="/">{move || i18n.t("talk.back")}</a></p>
        </section>
    }
}

/// An error from a server function, in the reader's language.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(error.status());
    }
    let i18n = use_i18n();
    let key = error.message_key().to_string();
    view! { <p class="notice notice-error" role="alert">{move || i18n.t(&key)}</p> }
}

/// The error an action or an edit answered, shown until the next try (nothing while there is none).
#[component]
pub fn ActionErrorNotice(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|e| {
            view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> }
        })
    }
}

/// What a page shows while its data loads.
#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p class="loading">{move || i18n.t("common.loading")}</p> }
}

/// Asks the browser's confirmation dialog (always yes on the server, where nothing is clicked).
pub fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(message).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        true
    }
}

/// Opens the browser's print dialog (inline `onclick` handlers are forbidden by our CSP).
pub fn print_page() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}
