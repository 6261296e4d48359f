//! `/admin/attendees`: ticket holders with their check-in, and the CSV exports.
use super::ui::{AdminPage, PairsCell};
use crate::ui::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/admin/attendees`: ticket holders with their check-in, and the CSV exports.
#[component]
pub fn AdminAttendeesPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let list = Resource::new(
        move || query.read().get("q"),
        super::exports::admin_attendees,
    );
    view! {
        <AdminPage title="admin.attendees">
            <p class="export-links">
                <a class="button-secondary" href="/admin/export/attendees.csv" rel="external" download="attendees.csv">{move || i18n.t("admin.export_attendees")}</a>
                " "
                <a class="button-secondary" href="/admin/export/orders.csv" rel="external" download="orders.csv">{move || i18n.t("admin.export_orders")}</a>
            </p>
            <form method="get" action="/admin/attendees" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_attendees")/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            {loaded(list, move |rows| {
                let inside = rows.iter().filter(|r| r.checked_in_at.is_some()).count();
                let total = rows.len();
                view! {
                    <p class="hint">{move || i18n.t_with("admin.attendees_count", &[("count", &total.to_string()), ("in", &inside.to_string())])}</p>
                    <Table class="data-table attendees-table" keys=&["admin.attendee", "form.email", "admin.passes.name", "admin.status", "admin.checked_in", "admin.answers"]>
                        {rows.into_iter().map(|r| {
                            let status = r.status;
                            view! {
                                <tr data-ticket=r.ticket_id.to_string()>
                                    <td>{r.holder}</td>
                                    <td>{r.email}</td>
                                    <td>{r.pass}</td>
                                    <td>{move || i18n.t(&format!("tickets.status.{}", status.as_str().to_lowercase()))}</td>
                                    <td>{r.checked_in_at.unwrap_or_default()}</td>
                                    <PairsCell pairs=r.answers class="answers"/>
                                </tr>
                            }
                        }).collect_view()}
                    </Table>
                }
                    .into_any()
            })}
        </AdminPage>
    }
}
