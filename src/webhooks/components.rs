//! The webhooks' part of `/admin/api`: the form that registers an address, the addresses (with
//! their signing secret, to be disabled), and the last deliveries with their attempts (replayable).
use super::{
    admin_webhook_create, admin_webhook_disable, admin_webhook_replay, admin_webhooks,
    DeliveryView, WebhookView, EVENTS,
};
use crate::ui::prelude::*;
use leptos::task::spawn_local;

/// Ticks for a set of names (scopes, events) written as they are in code.
#[component]
fn Choices(
    legend: &'static str,
    options: &'static [&'static str],
    chosen: RwSignal<Vec<&'static str>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let tick = move |option: &'static str| {
        let on = move |ev| {
            let checked = event_target_checked(&ev);
            chosen.update(|c| {
                c.retain(|o| *o != option);
                if checked {
                    c.push(option);
                }
            });
        };
        view! {
            <label class="check">
                <input type="checkbox" value=option prop:checked=move || chosen.get().contains(&option) on:change=on/>
                <code>{option}</code>
            </label>
        }
    };
    view! {
        <fieldset class="choices">
            <legend>{move || i18n.t(legend)}</legend>
            {options.iter().map(|o| tick(o)).collect_view()}
        </fieldset>
    }
}

/// What a [`PickForm`] asks: its text field (name, label, input type, longest, placeholder) and
/// its ticks (legend, names to tick).
pub struct Pick {
    pub field: (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ),
    pub ticks: (&'static str, &'static [&'static str]),
}

/// A form of one text field and a set of ticks, as the API's page has two (a token: its name and
/// scopes; a webhook: its address and events), each error under its field (`fields`: the text
/// field's, then the ticks').
#[component]
pub fn PickForm(
    class: &'static str,
    pick: Pick,
    fields: &'static [&'static str],
    value: RwSignal<String>,
    chosen: RwSignal<Vec<&'static str>>,
    error: Signal<Option<AppError>>,
    button: &'static str,
    on_send: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let (name, label, kind, longest, placeholder) = pick.field;
    let (legend, options) = pick.ticks;
    view! {
        <form class=format!("stack-form {class}") on:submit=move |ev| ev.prevent_default()>
            <Labelled label>
                <input type=kind name=name maxlength=longest placeholder=placeholder prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))/>
            </Labelled>
            <FieldError error field=fields[0]/>
            <Choices legend options chosen/>
            <FieldError error field=fields[1]/>
            <FormError error fields/>
            <p class="actions">
                <button type="button" class="button-primary" on:click=move |_| on_send.run(())>
                    {move || i18n.t(button)}
                </button>
            </p>
        </form>
    }
}

/// A button of a list's row that changes it (disable, replay, revoke).
#[component]
pub fn ActButton(class: &'static str, label: &'static str, act: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <button type="button" class=format!("button-secondary {class}") on:click=move |_| act.run(())>
            {move || i18n.t(label)}
        </button>
    }
}

/// Runs an admin's change, then reloads the lists (or shows why it was refused).
pub fn change(
    reload: RwSignal<u32>,
    error: RwSignal<Option<AppError>>,
    call: impl std::future::Future<Output = Result<(), AppError>> + 'static,
) {
    spawn_local(async move {
        match call.await {
            Ok(()) => {
                error.set(None);
                reload.update(|v| *v += 1);
            }
            Err(e) => error.set(Some(e)),
        }
    });
}

#[component]
pub fn WebhooksSection() -> impl IntoView {
    let i18n = use_i18n();
    let reload = RwSignal::new(0u32);
    let hooks = Resource::new(move || reload.get(), |_| admin_webhooks());
    let url = RwSignal::new(String::new());
    let events = RwSignal::new(Vec::<&'static str>::new());
    let error = RwSignal::new(None::<AppError>);
    let add = move |()| {
        let (u, e) = (url.get_untracked(), events.get_untracked().join(","));
        change(reload, error, async move {
            admin_webhook_create(u, e).await?;
            url.set(String::new());
            Ok(())
        });
    };
    let shown = Signal::derive(move || error.get());
    // The refusals of a change in the lists (disable, replay), shown above them.
    let list_error = RwSignal::new(None::<AppError>);
    view! {
        <h2>{move || i18n.t("webhooks.admin.title")}</h2>
        <p class="hint">{move || i18n.t("webhooks.admin.intro")}</p>
        <PickForm class="webhook-form" pick=Pick {
                field: ("url", "webhooks.admin.url", "url", "500", "https://crm.example.org/hooks/tessera"),
                ticks: ("webhooks.admin.events", &EVENTS),
            }
            fields=&["url", "events"] value=url chosen=events error=shown button="webhooks.admin.add" on_send=Callback::new(add)/>
        <ActionErrorNotice error=list_error/>
        {loaded(hooks, move |all| view! {
            <Hooks hooks=all.hooks reload error=list_error/>
            <Deliveries deliveries=all.deliveries reload error=list_error/>
        })}
    }
}

#[component]
fn Hooks(
    hooks: Vec<WebhookView>,
    reload: RwSignal<u32>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let rows = hooks.into_iter().map(move |h| {
        let id = h.id;
        let state = if h.active {
            let act = Callback::new(move |()| change(reload, error, admin_webhook_disable(id)));
            view! { <ActButton class="webhook-disable" label="webhooks.admin.disable" act/> }.into_any()
        } else {
            view! { <span class="badge">{move || i18n.t("webhooks.admin.disabled")}</span> }.into_any()
        };
        view! {
            <tr data-webhook=id.to_string()>
                <td>{h.url}</td>
                <td>{h.events.join(", ")}</td>
                <td><details><summary>{move || i18n.t("webhooks.admin.show_secret")}</summary><code class="webhook-secret">{h.secret}</code></details></td>
                <td>{h.created_at}</td>
                <td>{state}</td>
            </tr>
        }
    });
    view! {
        <ScrollTable class="data-table webhooks"
            keys=vec!["webhooks.admin.url", "webhooks.admin.events", "webhooks.admin.secret", "api.admin.created", ""]>
            {rows.collect_view()}
        </ScrollTable>
    }
}

#[component]
fn Deliveries(
    deliveries: Vec<DeliveryView>,
    reload: RwSignal<u32>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let rows = deliveries.into_iter().map(move |d| {
        let id = d.id;
        let status = status_key(&d.status);
        let tries = d.attempts.len().to_string();
        let attempts = d.attempts.into_iter().map(|a| {
            let answer = a
                .status_code
                .map(|c| format!("HTTP {c}"))
                .or(a.error)
                .unwrap_or_default();
            view! { <li>{a.at}" — "{answer}" ("{a.duration_ms}" ms)"</li> }
        });
        let act = Callback::new(move |()| change(reload, error, admin_webhook_replay(id)));
        let replay = (d.status != "PENDING")
            .then(|| view! { <ActButton class="webhook-replay" label="webhooks.admin.replay" act/> });
        view! {
            <tr data-delivery=id.to_string() data-status=d.status>
                <td>{d.created_at}</td>
                <td><code>{d.event_type}</code></td>
                <td>{d.url}</td>
                <td>{move || i18n.t(status)}</td>
                <td><details><summary>{tries}</summary><ul class="webhook-attempts">{attempts.collect_view()}</ul></details></td>
                <td>{d.next_attempt_at.unwrap_or_default()}</td>
                <td>{replay}</td>
            </tr>
        }
    });
    view! {
        <h3>{move || i18n.t("webhooks.admin.deliveries")}</h3>
        <ScrollTable class="data-table webhook-deliveries"
            keys=vec!["api.admin.created", "webhooks.admin.event", "webhooks.admin.url", "webhooks.admin.status",
                "webhooks.admin.attempts", "webhooks.admin.next", ""]>
            {rows.collect_view()}
        </ScrollTable>
    }
}

fn status_key(status: &str) -> &'static str {
    match status {
        "DELIVERED" => "webhooks.status.delivered",
        "FAILED" => "webhooks.status.failed",
        _ => "webhooks.status.pending",
    }
}
