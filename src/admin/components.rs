//! Back-office pages: `/admin/users` (roles and status) and `/admin/audit`.
use super::{AdminSetRole, AdminSetStatus, UserRow};
use crate::{
    accounts::{components::action_error, Role, UserStatus},
    app::ErrorNotice,
    error::AppError,
    i18n::use_i18n,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
fn AdminTabs() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="admin-tabs">
            <a href="/admin/users">{move || i18n.t("admin.users")}</a>
            <a href="/admin/orders">{move || i18n.t("admin.orders")}</a>
            <a href="/admin/audit">{move || i18n.t("admin.audit")}</a>
        </nav>
    }
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let set_role = ServerAction::<AdminSetRole>::new();
    let set_status = ServerAction::<AdminSetStatus>::new();
    let role_error = action_error(set_role);
    let status_error = action_error(set_status);
    let users = Resource::new(
        move || {
            (
                query.read().get("q"),
                set_role.version().get(),
                set_status.version().get(),
            )
        },
        |(q, _, _)| super::admin_users(q),
    );
    view! {
        <Title text=move || i18n.t("admin.users")/>
        <section class="admin-page">
            <AdminTabs/>
            <h1>{move || i18n.t("admin.users")}</h1>
            <form method="get" action="/admin/users" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_users")/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            {move || role_error.get().or(status_error.get()).map(|e| view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> })}
            <Transition fallback=move || view! { <p class="loading">{move || i18n.t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! {
                            <table class="data-table users-table">
                                <thead><tr>
                                    <th>{move || i18n.t("form.email")}</th>
                                    <th>{move || i18n.t("admin.name")}</th>
                                    <th>{move || i18n.t("admin.role")}</th>
                                    <th>{move || i18n.t("admin.status")}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! { <UserLine user=u set_role set_status/> }).collect_view()}
                                </tbody>
                            </table>
                        }
                            .into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn UserLine(
    user: UserRow,
    set_role: ServerAction<AdminSetRole>,
    set_status: ServerAction<AdminSetStatus>,
) -> impl IntoView {
    let i18n = use_i18n();
    let name = [user.first_name.clone(), user.last_name.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let id = user.id.to_string();
    let role_id = id.clone();
    let (next_status, status_label) = match user.status {
        UserStatus::Active => (UserStatus::Disabled, "admin.disable"),
        UserStatus::Disabled => (UserStatus::Active, "admin.enable"),
    };
    view! {
        <tr data-email=user.email.clone() class:disabled=user.status == UserStatus::Disabled>
            <td>{user.email.clone()}</td>
            <td>{name}</td>
            <td>
                <ActionForm action=set_role attr:class="inline-form">
                    <input type="hidden" name="user_id" value=role_id/>
                    <select name="role" aria-label=move || i18n.t("admin.role")>
                        {Role::ALL.iter().map(|r| view! {
                            <option value=r.as_str() selected=*r == user.role>{move || i18n.t(&format!("role.{}", r.as_str().to_lowercase()))}</option>
                        }).collect_view()}
                    </select>
                    <button type="submit" class="button-small">{move || i18n.t("form.save")}</button>
                </ActionForm>
            </td>
            <td>
                <span class="status">{move || i18n.t(&format!("status.{}", user.status.as_str().to_lowercase()))}</span>
                <ActionForm action=set_status attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id/>
                    <input type="hidden" name="status" value=next_status.as_str()/>
                    <button type="submit" class="button-small">{move || i18n.t(status_label)}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let entries = Resource::new(move || query.read().get("action"), super::admin_audit);
    view! {
        <Title text=move || i18n.t("admin.audit")/>
        <section class="admin-page">
            <AdminTabs/>
            <h1>{move || i18n.t("admin.audit")}</h1>
            <Transition fallback=move || view! { <p class="loading">{move || i18n.t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(list) => view! {
                            <table class="data-table audit-table">
                                <thead><tr>
                                    <th>{move || i18n.t("admin.when")}</th>
                                    <th>{move || i18n.t("admin.actor")}</th>
                                    <th>{move || i18n.t("admin.action")}</th>
                                    <th>{move || i18n.t("admin.entity")}</th>
                                    <th>{move || i18n.t("admin.details")}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr data-action=e.action.to_string()>
                                            <td>{e.created_at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                            <td>{e.actor_email}</td>
                                            <td><code>{e.action.clone()}</code></td>
                                            <td>{format!("{} {}", e.entity_type, e.entity_id)}</td>
                                            <td><code class="meta">{e.meta}</code></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }
                            .into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Shown by role-guarded pages to a caller the server refused.
pub fn is_refusal(e: &AppError) -> bool {
    matches!(e, AppError::Forbidden | AppError::Unauthorized)
}

/// `/admin/orders`: search, status filter, and the full refund of a paid order.
#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    use crate::ticketing::{format_money, AdminRefundOrder, OrderStatus};
    let i18n = use_i18n();
    let query = use_query_map();
    let refund = ServerAction::<AdminRefundOrder>::new();
    let refund_error = action_error(refund);
    let orders = Resource::new(
        move || {
            (
                query.read().get("q"),
                query.read().get("status"),
                refund.version().get(),
            )
        },
        |(q, status, _)| super::admin_orders(q, status),
    );
    view! {
        <Title text=move || i18n.t("admin.orders")/>
        <section class="admin-page">
            <AdminTabs/>
            <h1>{move || i18n.t("admin.orders")}</h1>
            <form method="get" action="/admin/orders" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_orders")/>
                <select name="status" aria-label=move || i18n.t("admin.status")>
                    <option value="">{move || i18n.t("admin.all_statuses")}</option>
                    {OrderStatus::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=move || query.read().get("status").as_deref() == Some(s.as_str())>
                            {move || i18n.t(&format!("orders.status.{}", s.as_str().to_lowercase()))}
                        </option>
                    }).collect_view()}
                </select>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            {move || refund_error.get().map(|e| view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> })}
            <Transition fallback=move || view! { <p class="loading">{move || i18n.t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Ok(list) => view! {
                            <table class="data-table orders-table">
                                <thead><tr>
                                    <th>{move || i18n.t("admin.order")}</th>
                                    <th>{move || i18n.t("form.email")}</th>
                                    <th>{move || i18n.t("admin.status")}</th>
                                    <th>{move || i18n.t("admin.total")}</th>
                                    <th>{move || i18n.t("admin.actions")}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|o| {
                                        let (total, currency) = (o.total_cents, o.currency.clone());
                                        let paid = o.status == OrderStatus::Paid;
                                        view! {
                                            <tr data-order=o.id.to_string() data-status=o.status.as_str() data-email=o.buyer_email.clone()>
                                                <td><code>{o.id.simple().to_string()[..8].to_uppercase()}</code><br/><small>{o.created_at.format("%Y-%m-%d %H:%M").to_string()}</small></td>
                                                <td>{o.buyer_email.clone()}</td>
                                                <td>{move || i18n.t(&format!("orders.status.{}", o.status.as_str().to_lowercase()))}" ("{o.tickets}")"</td>
                                                <td>{move || format_money(total, &currency, i18n.locale.get())}</td>
                                                <td>
                                                    {paid.then(|| view! {
                                                        <ActionForm action=refund attr:class="inline-form">
                                                            <input type="hidden" name="order_id" value=o.id.to_string()/>
                                                            <button type="submit" class="button-small button-danger"
                                                                on:click=move |ev| if !crate::app::confirm(&i18n.t("admin.refund_confirm")) { ev.prevent_default() }>
                                                                {move || i18n.t("admin.refund")}
                                                            </button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }
                            .into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
