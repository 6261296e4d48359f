//! `/admin/api`: the API's tokens (made with their scopes, shown once, revoked) and the webhooks
//! (`webhooks::components`), with a link to the OpenAPI document.
use super::{
    admin_api_token_create, admin_api_token_revoke, admin_api_tokens, ApiTokenView, NewApiToken,
    SCOPES,
};
use crate::admin::ui::AdminPage;
use crate::ui::prelude::*;
use crate::webhooks::components::{change, ActButton, Pick, PickForm, WebhooksSection};

#[component]
pub fn AdminApiPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <AdminPage title="api.admin.title" class="admin-api">
            <p class="hint">
                {move || i18n.t("api.admin.intro")}" "
                <a href="/api/v1/openapi.json" rel="external">"/api/v1/openapi.json"</a>
            </p>
            <TokensSection/>
            <WebhooksSection/>
        </AdminPage>
    }
}

#[component]
fn TokensSection() -> impl IntoView {
    let i18n = use_i18n();
    let reload = RwSignal::new(0u32);
    let tokens = Resource::new(move || reload.get(), |_| admin_api_tokens());
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(Vec::<&'static str>::new());
    let made = RwSignal::new(None::<NewApiToken>);
    let error = RwSignal::new(None::<AppError>);
    let create = move |()| {
        let (n, s) = (name.get_untracked(), scopes.get_untracked().join(","));
        change(reload, error, async move {
            made.set(Some(admin_api_token_create(n, s).await?));
            name.set(String::new());
            Ok(())
        });
    };
    let shown = Signal::derive(move || error.get());
    view! {
        <h2>{move || i18n.t("api.admin.tokens")}</h2>
        <PickForm class="api-token-form" pick=Pick {
                field: ("name", "api.admin.name", "text", "100", ""),
                ticks: ("api.admin.scopes", &SCOPES),
            }
            fields=&["name", "scopes"] value=name chosen=scopes error=shown button="api.admin.create" on_send=Callback::new(create)/>
        {move || made.get().map(|m| view! {
            <div class="notice notice-success api-token-made" role="status">
                <p>{move || i18n.t("api.admin.shown_once")}</p>
                <code class="api-token-secret">{m.token}</code>
            </div>
        })}
        {loaded(tokens, move |list| view! { <TokenTable list reload/> })}
    }
}

#[component]
fn TokenTable(list: Vec<ApiTokenView>, reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<AppError>);
    let revoke = move |id: uuid::Uuid| {
        if crate::ui::confirm(&i18n.t("api.admin.revoke_confirm")) {
            change(reload, error, admin_api_token_revoke(id));
        }
    };
    let rows = list.into_iter().map(move |t| {
        let state = match &t.revoked_at {
            Some(at) => view! { <span class="badge">{move || i18n.t("api.admin.revoked")}" "{at.clone()}</span> }.into_any(),
            None => {
                let act = Callback::new(move |()| revoke(t.id));
                view! { <ActButton class="api-token-revoke" label="api.admin.revoke" act/> }.into_any()
            }
        };
        view! {
            <tr data-token=t.id.to_string()>
                <td>{t.name}</td>
                <td><code>{t.prefix}"…"</code></td>
                <td>{t.scopes.join(", ")}</td>
                <td>{t.created}</td>
                <td>{t.last_used_at.unwrap_or_else(|| "—".into())}</td>
                <td>{state}</td>
            </tr>
        }
    });
    view! {
        <ScrollTable class="data-table api-tokens" error
            keys=vec!["api.admin.name", "api.admin.token", "api.admin.scopes", "api.admin.created", "api.admin.last_used", ""]>
            {rows.collect_view()}
        </ScrollTable>
    }
}
