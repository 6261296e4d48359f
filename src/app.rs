//! The application shell, the router and the pieces every page shares (header, errors, 404).
use crate::ui::prelude::*;
use crate::{
    accounts::components::provide_auth, accounts::components::AccountNav, i18n::provide_i18n,
    i18n::switch_locale, i18n::Locale, i18n::LOCALES, lazy_pages as lazy,
    programme::programme_page::ProgrammePage, ui::Hydrated, ui::NotFound,
};
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_location,
    path, Lazy, SsrMode,
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
            let title = if page.is_empty() { name.to_string() } else { format!("{page} · {name}") };
            escape_title(title)
        }/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// leptos_meta writes the server's `<title>` into the page as it is given: a talk titled
/// `</title><script>…` would be markup. Escaped on the server; the browser sets `document.title`,
/// which is text.
fn escape_title(title: String) -> String {
    #[cfg(feature = "ssr")]
    {
        title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    #[cfg(not(feature = "ssr"))]
    {
        title
    }
}

/// Everything inside the router: the header (which needs to know who is logged in), the pages, the footer.
#[component]
fn Layout() -> impl IntoView {
    provide_auth();
    view! {
        <SiteHeader/>
        <main id="main">
            <Routes fallback=|| view! { <NotFound/> <Hydrated/> }>
                <Route path=path!("/") view=|| view! { <ProgrammePage/> <Hydrated/> } ssr=SsrMode::Async/>
                <Route path=path!("/talks/:id") view={Lazy::<lazy::Talk>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/signup") view={Lazy::<lazy::Signup>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/signup/sent") view={Lazy::<lazy::SignupSent>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login") view={Lazy::<lazy::Login>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password") view={Lazy::<lazy::ForgotPassword>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password/sent") view={Lazy::<lazy::ForgotSent>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/reset-password") view={Lazy::<lazy::ResetPassword>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/verify-email") view={Lazy::<lazy::VerifyEmail>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/account") view={Lazy::<lazy::Account>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/legal/:doc") view={Lazy::<lazy::Legal>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin") view={Lazy::<lazy::AdminDashboard>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/users") view={Lazy::<lazy::AdminUsers>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/audit") view={Lazy::<lazy::AdminAudit>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/orders") view={Lazy::<lazy::AdminOrders>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/tickets") view={Lazy::<lazy::AdminPasses>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/programme") view={Lazy::<lazy::AdminProgramme>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/attendees") view={Lazy::<lazy::AdminAttendees>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/mail") view={Lazy::<lazy::AdminMail>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/privacy") view={Lazy::<lazy::AdminPrivacy>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/vouchers") view={Lazy::<lazy::AdminVouchers>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/waitlist") view={Lazy::<lazy::AdminWaitlist>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/invoices") view={Lazy::<lazy::AdminInvoices>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/door") view={Lazy::<lazy::AdminDoor>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/questions") view={Lazy::<lazy::AdminQuestions>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/messages") view={Lazy::<lazy::AdminMessages>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/schedule") view={Lazy::<lazy::AdminSchedule>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin/api") view={Lazy::<lazy::AdminApi>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/unsubscribe/:token") view={Lazy::<lazy::UnsubscribeLink>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/account/consent") view={Lazy::<lazy::Consent>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/account/deleted") view={Lazy::<lazy::Deleted>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/dev/mailbox") view={Lazy::<lazy::DevMailbox>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/dev/panic") view={Lazy::<lazy::DevPanic>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/tickets") view={Lazy::<lazy::Shop>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/scan") view={Lazy::<lazy::Scan>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/me/programme") view={Lazy::<lazy::MyProgramme>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/me/orders") view={Lazy::<lazy::MyOrders>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/me/tickets") view={Lazy::<lazy::MyTickets>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/tickets/claim") view={Lazy::<lazy::ClaimTicket>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/orders/:id/confirmation") view={Lazy::<lazy::OrderConfirmation>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/checkout/test/:session") view={Lazy::<lazy::TestCheckout>::new()} ssr=SsrMode::Async/>
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
                            href=move || format!("/lang/{}?next={}", l.code(), crate::ui::encode_query(&here()))
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
