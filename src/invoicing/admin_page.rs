//! `/admin/invoices`: every invoice and credit note, searched by number, buyer or company between
//! two dates, each a PDF link; and the accountant's CSV of the same range.
use super::admin_invoices;
use crate::ui::prelude::*;
use crate::{
    admin::ui::{AdminPage, DateFilter},
    money::format_money,
};
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminInvoicesPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let rows = Resource::new(
        move || {
            (
                query.read().get("q"),
                query.read().get("from"),
                query.read().get("to"),
            )
        },
        |(q, from, to)| admin_invoices(q, from, to),
    );
    let csv_href = move || {
        let from = query.read().get("from").unwrap_or_default();
        let to = query.read().get("to").unwrap_or_default();
        format!("/admin/export/invoices.csv?from={from}&to={to}")
    };
    view! {
        <AdminPage title="invoice.admin.title" class="admin-invoices">
            <form method="get" action="/admin/invoices" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("invoice.admin.search")/>
                <DateFilter/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <p><a class="button-secondary invoices-csv" href=csv_href rel="external" download>{move || i18n.t("invoice.admin.csv")}</a></p>
            {loaded(rows, move |value| match value {
                list if list.is_empty() => view! { <p class="empty">{move || i18n.t("invoice.admin.empty")}</p> }.into_any(),
                list => view! { <InvoiceTable list/> }.into_any(),
            })}
        </AdminPage>
    }
}

#[component]
fn InvoiceTable(list: Vec<super::InvoiceRow>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Table class="data-table invoices-table" keys=&["invoice.admin.number", "invoice.admin.date", "invoice.admin.buyer", "invoice.admin.net", "invoice.admin.vat", "invoice.admin.gross", "admin.order"]>
            {list.into_iter().map(|r| {
                let kind = if r.credit_note { "invoice.admin.credit_note" } else { "invoice.admin.invoice" };
                let money = move |cents: i64, currency: String| move || format_money(cents, &currency, i18n.locale.get());
                view! {
                    <tr data-number=r.number.clone() class:credit-note=r.credit_note>
                        <td><a href=format!("/invoices/{}.pdf", r.id) rel="external" download>{r.number.clone()}</a>" "<small>{move || i18n.t(kind)}</small></td>
                        <td>{r.issued_on.clone()}</td>
                        <td>{r.company.clone().map(|c| view! { <strong>{c}</strong><br/> })}{r.buyer.clone()}</td>
                        <td class="num">{money(r.net_cents, r.currency.clone())}</td>
                        <td class="num">{money(r.vat_cents, r.currency.clone())}</td>
                        <td class="num">{money(r.gross_cents, r.currency.clone())}</td>
                        <td><a href=format!("/admin/orders?q={}", r.order_id)><code>{r.order_id.simple().to_string()[..8].to_uppercase()}</code></a></td>
                    </tr>
                }
            }).collect_view()}
        </Table>
    }
}
