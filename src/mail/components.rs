//! `/dev/mailbox`: the mails the app sent, readable by admins in dev when no SMTP server is configured.
use super::DevMail;
use crate::ui::prelude::*;
use crate::ui::LoginRequired;

#[component]
pub fn DevMailboxPage() -> impl IntoView {
    let i18n = use_i18n();
    let mails = Resource::new(|| (), |_| super::dev_mailbox());
    view! {
        <PageSection title="mailbox.title" class="mailbox">
            <p class="aside">{move || i18n.t("mailbox.intro")}</p>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match mails.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{move || i18n.t("mailbox.empty")}</p> }.into_any(),
                        Ok(list) => list.into_iter().map(|mail| view! { <MailView mail/> }).collect_view().into_any(),
                        Err(AppError::Unauthorized) => {
                            #[cfg(feature = "ssr")]
                            if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
                                resp.set_status(http::StatusCode::UNAUTHORIZED);
                            }
                            view! { <LoginRequired/> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </PageSection>
    }
}

#[component]
fn MailView(mail: DevMail) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <article class="mail card" data-kind=mail.kind.clone() data-to=mail.to.clone() data-status=mail.status.clone()>
            <header class="mail-head">
                <strong class="mail-subject">{mail.subject.clone()}</strong>
                <span>{move || i18n.t("mailbox.to")}" "{mail.to.clone()}</span>
                <span class="badge">{mail.kind.clone()}</span>
                <span class="badge">{mail.status.clone()}" ("{mail.attempts}")"</span>
                <time>{mail.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</time>
            </header>
            <div class="mail-text">{linkify(&mail.body_text)}</div>
            <details>
                <summary>{move || i18n.t("mailbox.html")}</summary>
                <iframe class="mail-html" sandbox="" srcdoc=mail.body_html.clone() title=mail.subject.clone()></iframe>
            </details>
        </article>
    }
}

/// The text body with its links clickable (each line a paragraph).
fn linkify(text: &str) -> impl IntoView {
    text.lines()
        .map(|line| {
            let line = line.to_string();
            if line.starts_with("http://") || line.starts_with("https://") {
                let href = line.clone();
                view! { <p><a class="mail-link" href=href>{line}</a></p> }.into_any()
            } else {
                view! { <p>{line}</p> }.into_any()
            }
        })
        .collect_view()
}
