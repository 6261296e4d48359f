//! `/unsubscribe/<token>`: the link of a promotional message. It names the account (masked) and
//! withdraws its marketing consent with a button (a POST: mail scanners that open links do not
//! unsubscribe anyone), without logging in; a link that is not ours answers 422 with a message.
use super::{unsubscribe_check, Unsubscribe, UnsubscribeInfo};
use crate::ui::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let info = Resource::new(token, unsubscribe_check);
    let (action, error) = form_action::<Unsubscribe>();
    let done =
        move || query.read().get("done").is_some() || matches!(action.value().get(), Some(Ok(())));
    view! {
        <PageSection title="messages.unsubscribe.title" class="auth-page unsubscribe-page">
            {loaded(info, move |UnsubscribeInfo { email, subscribed }| view! {
                <p class="unsubscribe-account">
                    {move || i18n.t_with("messages.unsubscribe.account", &[("email", &email)])}
                </p>
                {move || if done() {
                    view! {
                        <p class="notice notice-success unsubscribe-done" role="status">
                            {move || i18n.t("messages.unsubscribe.done")}
                        </p>
                    }
                    .into_any()
                } else if !subscribed {
                    view! {
                        <p class="notice unsubscribe-already">{move || i18n.t("messages.unsubscribe.already")}</p>
                    }
                    .into_any()
                } else {
                    view! {
                        <p>{move || i18n.t("messages.unsubscribe.intro")}</p>
                        <ActionForm action attr:class="stack-form unsubscribe-form">
                            <TokenSubmit error token=Signal::derive(token) label="messages.unsubscribe.submit" pending=action.pending()/>
                        </ActionForm>
                    }
                    .into_any()
                }}
                <p class="hint">{move || i18n.t("messages.unsubscribe.hint")}</p>
            })}
        </PageSection>
    }
}
