//! Scans by hand: the unconfirmed queue, a typed token, a search by name or email.
use super::*;

/// Scans sent but not confirmed: never counted as in.
#[component]
pub(crate) fn PendingList(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let pending = door.pending.get();
        (!pending.is_empty()).then(|| view! {
            <div class="notice notice-warning scan-pending" data-pending=pending.len().to_string()>
                <p>{move || i18n.t_with("scan.pending", &[("count", &door.pending.with(|p| p.len()).to_string())])}</p>
                <button type="button" class="button-small" on:click=move |_| door.retry_all()>{move || i18n.t("scan.retry_now")}</button>
            </div>
        })
    }
}

/// For a broken screen: the token typed or pasted.
#[component]
pub(crate) fn ManualEntry(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(false);
    view! {
        <form class="scan-manual" on:submit=move |ev| {
            ev.prevent_default();
            let t = token.get_untracked().trim().to_string();
            error.set(t.is_empty());
            if !t.is_empty() {
                door.submit(Some(t), None);
                token.set(String::new());
            }
        }>
            <label for="scan-token">{move || i18n.t("scan.manual")}</label>
            <div class="inline-fields">
                <input id="scan-token" name="token" autocomplete="off" autocapitalize="off" spellcheck="false"
                    prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))
                    aria-invalid=move || error.get().to_string()/>
                <button type="submit" class="button-primary">{move || i18n.t("scan.check")}</button>
            </div>
            {move || error.get().then(|| view! { <p class="field-error" role="alert">{i18n.t("scan.error.token_empty")}</p> })}
        </form>
    }
}

/// A search by name or email, for someone whose phone cannot show the code.
#[component]
pub(crate) fn HolderSearch(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    let query = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Result<Vec<HolderTicket>, AppError>>);
    view! {
        <form class="scan-search" on:submit=move |ev| {
            ev.prevent_default();
            let q = query.get_untracked();
            spawn_local(async move { results.set(Some(crate::scanning::scan_search(q).await)); });
        }>
            <label for="scan-query">{move || i18n.t("scan.search")}</label>
            <div class="inline-fields">
                <input id="scan-query" type="search" name="query" prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </div>
        </form>
        {move || results.get().map(|r| match r {
            Ok(list) if list.is_empty() => view! { <p class="empty">{move || i18n.t("scan.search_empty")}</p> }.into_any(),
            Ok(list) => view! {
                <ul class="scan-search-results">
                    {list.into_iter().map(|t| {
                        let status = t.status;
                        view! {
                            <li data-ticket=t.ticket_id.to_string()>
                                <strong>{t.holder}</strong>" · "{t.email}" · "{t.pass}" · "
                                <span class=format!("ticket-status status-{}", status.as_str().to_lowercase())>
                                    {move || i18n.t(&format!("tickets.status.{}", status.as_str().to_lowercase()))}
                                </span>
                                {t.used_at_local.map(|at| view! { " "<small>{at}</small> })}
                                {(status == TicketStatus::Valid).then(|| view! {
                                    " "<button type="button" class="button-small button-primary" on:click=move |_| {
                                        door.submit(None, Some(t.ticket_id));
                                        results.set(None);
                                    }>{move || i18n.t("scan.let_in")}</button>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any(),
            Err(AppError::Invalid { key, .. }) => view! { <p class="field-error" role="alert">{move || i18n.t(&key)}</p> }.into_any(),
            Err(e) => view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> }.into_any(),
        })}
    }
}
