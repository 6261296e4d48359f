//! The widgets every page shares: a form's error messages, error notices, the loading line and
//! `loaded` (a resource's value or its error), table heads, the 404 page, the browser's
//! confirmation and print dialogs, and the notice shown when the WASM client stops. `prelude` is
//! what page files import.
pub mod prelude;

use crate::{
    error::AppError,
    i18n::{page_title, use_i18n},
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The error of an action's last result, if any.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
    ServerAction<I>: Copy,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// A form's server action and the error of its last answer (none while it is pending or passed).
pub fn form_action<I>() -> (ServerAction<I>, Signal<Option<AppError>>)
where
    I: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    I::Output: Clone + Send + Sync + 'static,
    ServerAction<I>: Copy,
{
    let action = ServerAction::<I>::new();
    (action, action_error(action))
}

/// The message of an error that belongs to `field`, shown under it.
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, #[prop(into)] field: String) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().filter(|e| e.field() == Some(field.as_str())).map(|e| {
            view! { <p class="field-error" role="alert" data-field=field.clone()>{e.message(i18n.locale.get())}</p> }
        })
    }
}

/// The message of an error that belongs to none of the form's `fields` (a field ending in `[`
/// stands for every field it starts: `attendees[`).
#[component]
pub fn FormError(
    error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let shown_in_place = |f: &str| {
            fields
                .iter()
                .any(|x| f == *x || (x.ends_with('[') && f.starts_with(x)))
        };
        error.get().filter(|e| e.field().is_none_or(|f| !shown_in_place(f))).map(|e| {
            view! { <p class="notice notice-error form-error" role="alert">{e.message(i18n.locale.get())}</p> }
        })
    }
}

/// Marks the page as hydrated (`<body data-hydrated>`; the end-to-end tests and the phone
/// benchmark wait for it). Each page places it after its content; a page in its own chunk
/// (`lazy_pages`) does so inside the chunk, so the mark waits until the chunk is in and the page
/// hydrated. Effects run only in the browser.
#[component]
pub fn Hydrated() -> impl IntoView {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// A resource's value as the page shows it: the loading line first, then `then(value)`, or the
/// error in the reader's language; while it loads again, the last value stays (a `Transition`).
pub fn loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    then: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <Loading/> }>
            {move || {
                let then = then.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => then(value).into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// A page of the site: its title (a translation key) in the browser's tab and as its heading,
/// then `children`, in a section of `class`.
#[component]
pub fn PageSection(
    title: &'static str,
    #[prop(into)] class: String,
    children: Children,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text=page_title(move || i18n.t(title))/>
        <section class=class>
            <h1>{move || i18n.t(title)}</h1>
            {children()}
        </section>
    }
}

/// A form's field: its label (a translation key) around the control.
#[component]
pub fn Labelled(label: &'static str, children: Children) -> impl IntoView {
    let i18n = use_i18n();
    view! { <label>{move || i18n.t(label)}{children()}</label> }
}

/// A form's field with its refusal under it: the label (a translation key) around the control,
/// then the message of an `error` on `field`, where the person typed.
#[component]
pub fn Field(
    label: &'static str,
    field: &'static str,
    error: Signal<Option<AppError>>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field">
            <Labelled label>{children()}</Labelled>
            <FieldError error field/>
        </div>
    }
}

/// A form's main button, its label a translation key, disabled while the form is sent.
#[component]
pub fn SubmitButton(label: &'static str, #[prop(into)] pending: Signal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <button type="submit" class="button-primary" disabled=move || pending.get()>{move || i18n.t(label)}</button>
    }
}

/// The `token` of the page's query (a mail's link), empty when there is none.
pub fn query_token() -> Signal<String> {
    let query = leptos_router::hooks::use_query_map();
    Signal::derive(move || query.read().get("token").unwrap_or_default())
}

/// The inside of a form that confirms a mail's link: any error, the link's token (hidden) and one
/// button. A POST, so that mail scanners that open links do not use the token up.
#[component]
pub fn TokenSubmit(
    error: Signal<Option<AppError>>,
    #[prop(into)] token: Signal<String>,
    label: &'static str,
    #[prop(into)] pending: Signal<bool>,
) -> impl IntoView {
    view! {
        <FormError error fields=&[]/>
        <input type="hidden" name="token" value=move || token.get()/>
        <SubmitButton label pending/>
    }
}

/// A table of rows under a header row: one column per translation key.
#[component]
pub fn Table(
    #[prop(into)] class: String,
    /// The columns' translation keys; an empty one is a column without a heading.
    #[prop(into)]
    keys: Vec<&'static str>,
    children: Children,
) -> impl IntoView {
    let i18n = use_i18n();
    let heading = move |k: &'static str| (!k.is_empty()).then_some(move || i18n.t(k));
    view! {
        <table class=class>
            <thead><tr>
                {keys.into_iter().map(|k| view! { <th>{heading(k)}</th> }).collect_view()}
            </tr></thead>
            <tbody>{children()}</tbody>
        </table>
    }
}

/// A [`Table`] that scrolls sideways on a narrow screen (the back office's spreadsheets), under
/// the last refusal of an edit made in it, when given.
#[component]
pub fn ScrollTable(
    #[prop(into)] class: String,
    #[prop(into)] keys: Vec<&'static str>,
    #[prop(optional)] error: Option<RwSignal<Option<AppError>>>,
    children: Children,
) -> impl IntoView {
    view! {
        {error.map(|error| view! { <ActionErrorNotice error/> })}
        <div class="table-scroll"><Table class keys>{children()}</Table></div>
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
    if error == AppError::Unauthorized {
        return view! { <LoginRequired/> }.into_any();
    }
    let i18n = use_i18n();
    let key = error.message_key().to_string();
    view! { <p class="notice notice-error" role="alert">{move || i18n.t(&key)}</p> }.into_any()
}

#[component]
pub fn LoginRequired() -> impl IntoView {
    let i18n = use_i18n();
    let location = leptos_router::hooks::use_location();
    let href = move || format!("/login?next={}", encode_query(&location.pathname.get()));
    view! {
        <div class="notice notice-warning login-required">
            <p>{move || i18n.t("error.unauthorized")}</p>
            <a class="button-primary" href=href>{move || i18n.t("nav.login")}</a>
        </div>
    }
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

/// Shown when the WASM client stops (a panic: most often a page's chunk that could not be
/// downloaded on a bad network): says so, and offers a reload, which downloads it again. Plain DOM,
/// since the reactive system is gone by then; a link, so it works without the client.
#[cfg(feature = "hydrate")]
pub fn show_reload_notice() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if doc.get_element_by_id("reload-notice").is_some() {
        return;
    }
    let locale = crate::i18n::initial_locale();
    let (Ok(notice), Ok(text), Ok(link), Some(body)) = (
        doc.create_element("div"),
        doc.create_element("p"),
        doc.create_element("a"),
        doc.body(),
    ) else {
        return;
    };
    let here = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_else(|| "/".into());
    notice.set_id("reload-notice");
    let _ = notice.set_attribute("class", "reload-notice");
    let _ = notice.set_attribute("role", "alert");
    text.set_text_content(Some(&crate::i18n::tr(locale, "app.stopped")));
    let _ = link.set_attribute("href", &here);
    let _ = link.set_attribute("rel", "external");
    let _ = link.set_attribute("class", "button-secondary");
    link.set_text_content(Some(&crate::i18n::tr(locale, "app.reload")));
    let _ = notice.append_child(&text);
    let _ = notice.append_child(&link);
    let _ = body.append_child(&notice);
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
