//! `/admin/users`: the people, their roles and status.
use super::ui::AdminPage;
use super::{AdminSetRole, AdminSetStatus, UserRow};
use crate::ui::prelude::*;
use crate::{accounts::Role, accounts::UserStatus};
use leptos_router::hooks::use_query_map;

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
        <AdminPage title="admin.users">
            <form method="get" action="/admin/users" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_users")/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <ActionErrorNotice error=Signal::derive(move || role_error.get().or(status_error.get()))/>
            {loaded(users, move |list| view! {
                <Table class="data-table users-table" keys=&["form.email", "admin.name", "admin.role", "admin.status"]>
                    {list.into_iter().map(|u| view! { <UserLine user=u set_role set_status/> }).collect_view()}
                </Table>
            })}
        </AdminPage>
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
