//! `/admin/audit`: the audit log, filtered by actor, action, entity and dates.
use super::ui::{AdminPage, PairsCell};
use crate::ui::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/admin/audit`: who did what, filtered by actor, action, entity and dates (in the URL, so a
/// filtered view can be shared), each line's details as fields.
#[component]
pub fn AdminAuditPage() -> impl IntoView {
    use super::logs::{admin_audit_actions, admin_audit_log, AuditFilter};
    let i18n = use_i18n();
    let query = use_query_map();
    let param = move |k: &str| query.read().get(k).filter(|v| !v.is_empty());
    let filter = move || AuditFilter {
        actor: param("actor"),
        action: param("action"),
        entity: param("entity"),
        from: param("from"),
        to: param("to"),
    };
    let entries = Resource::new(filter, |f| {
        admin_audit_log(f.actor, f.action, f.entity, f.from, f.to)
    });
    let actions = Resource::new(|| (), |_| admin_audit_actions());
    view! {
        <AdminPage title="admin.audit">
            <form method="get" action="/admin/audit" class="search-form audit-filters">
                <input type="search" name="actor" value=move || param("actor") placeholder=move || i18n.t("admin.actor") aria-label=move || i18n.t("admin.actor")/>
                <select name="action" aria-label=move || i18n.t("admin.action")>
                    <option value="">{move || i18n.t("admin.all_actions")}</option>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            actions.await.unwrap_or_default().into_iter().map(|a| {
                                let selected = param("action").as_deref() == Some(a.as_str());
                                view! { <option value=a.clone() selected=selected>{a.clone()}</option> }
                            }).collect_view()
                        })}
                    </Transition>
                </select>
                <input type="search" name="entity" value=move || param("entity") placeholder=move || i18n.t("admin.entity") aria-label=move || i18n.t("admin.entity")/>
                <Labelled label="admin.from">" "<input type="date" name="from" value=move || param("from")/></Labelled>
                <Labelled label="admin.to">" "<input type="date" name="to" value=move || param("to")/></Labelled>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            {loaded(entries, move |list| view! {
                <Table class="data-table audit-table" keys=&["admin.when", "admin.actor", "admin.action", "admin.entity", "admin.details"]>
                    {list.into_iter().map(|e| view! {
                        <tr data-action=e.action.clone()>
                            <td>{e.when}</td>
                            <td>{e.actor_email}</td>
                            <td><code>{e.action.clone()}</code></td>
                            <td>{e.entity_type}" "<small>{e.entity_id}</small></td>
                            <PairsCell pairs=e.meta/>
                        </tr>
                    }).collect_view()}
                </Table>
            })}
        </AdminPage>
    }
}
