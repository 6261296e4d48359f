//! Back-office pages: `/admin/users` (roles and status) and `/admin/audit`.
use super::{AdminSetRole, AdminSetStatus, UserRow};
use crate::{
    accounts::{Role, UserStatus},
    ui::action_error,
    ui::{ActionErrorNotice, ErrorNotice, Loading},
    error::AppError,
    i18n::{page_title, use_i18n},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub(crate) fn AdminTabs() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="admin-tabs">
            <a href="/admin">{move || i18n.t("dashboard.title")}</a>
            <a href="/admin/users">{move || i18n.t("admin.users")}</a>
            <a href="/admin/programme">{move || i18n.t("admin.programme")}</a>
            <a href="/admin/orders">{move || i18n.t("admin.orders")}</a>
            <a href="/admin/tickets">{move || i18n.t("admin.passes")}</a>
            <a href="/admin/vouchers">{move || i18n.t("vouchers.admin.title")}</a>
            <a href="/admin/invoices">{move || i18n.t("invoice.admin.title")}</a>
            <a href="/admin/waitlist">{move || i18n.t("waitlist.admin.title")}</a>
            <a href="/admin/attendees">{move || i18n.t("admin.attendees")}</a>
            <a href="/admin/audit">{move || i18n.t("admin.audit")}</a>
            <a href="/admin/mail">{move || i18n.t("admin.mail")}</a>
            <a href="/admin/privacy">{move || i18n.t("privacy.admin.title")}</a>
            <a href="/admin/door">{move || i18n.t("door.admin.title")}</a>
            <a href="/scan">{move || i18n.t("nav.scan")}</a>
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
        <Title text=page_title(move || i18n.t("admin.users"))/>
        <section class="admin-page">
            <AdminTabs/>
            <h1>{move || i18n.t("admin.users")}</h1>
            <form method="get" action="/admin/users" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_users")/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <ActionErrorNotice error=Signal::derive(move || role_error.get().or(status_error.get()))/>
            <Transition fallback=|| view! { <Loading/> }>
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
        <Title text=page_title(move || i18n.t("admin.audit"))/>
        <section class="admin-page">
            <AdminTabs/>
            <h1>{move || i18n.t("admin.audit")}</h1>
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
                <label>{move || i18n.t("admin.from")}" "<input type="date" name="from" value=move || param("from")/></label>
                <label>{move || i18n.t("admin.to")}" "<input type="date" name="to" value=move || param("to")/></label>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <Transition fallback=|| view! { <Loading/> }>
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
                                        <tr data-action=e.action.clone()>
                                            <td>{e.when}</td>
                                            <td>{e.actor_email}</td>
                                            <td><code>{e.action.clone()}</code></td>
                                            <td>{e.entity_type}" "<small>{e.entity_id}</small></td>
                                            <td>
                                                <dl class="meta">
                                                    {e.meta.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                                                </dl>
                                            </td>
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

/// `/admin/mail`: every mail, its attempts and last error; a mail not gone out can be retried now.
#[component]
pub fn AdminMailPage() -> impl IntoView {
    use super::logs::{admin_mail_log, AdminRetryMail};
    let i18n = use_i18n();
    let query = use_query_map();
    let retry = ServerAction::<AdminRetryMail>::new();
    let retry_error = action_error(retry);
    let mails = Resource::new(
        move || (query.read().get("status"), retry.version().get()),
        |(status, _)| admin_mail_log(status),
    );
    view! {
        <Title text=page_title(move || i18n.t("admin.mail"))/>
        <section class="admin-page">
            <AdminTabs/>
            <h1>{move || i18n.t("admin.mail")}</h1>
            <form method="get" action="/admin/mail" class="search-form">
                <select name="status" aria-label=move || i18n.t("admin.status")>
                    <option value="">{move || i18n.t("admin.all_statuses")}</option>
                    {["PENDING", "SENT", "FAILED"].map(|s| view! {
                        <option value=s selected=move || query.read().get("status").as_deref() == Some(s)>
                            {move || i18n.t(&format!("admin.mail_status.{}", s.to_lowercase()))}
                        </option>
                    }).collect_view()}
                </select>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <ActionErrorNotice error=retry_error/>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match mails.await {
                        Ok(list) => view! {
                            <table class="data-table mail-table">
                                <thead><tr>
                                    <th>{move || i18n.t("admin.when")}</th>
                                    <th>{move || i18n.t("form.email")}</th>
                                    <th>{move || i18n.t("admin.mail_subject")}</th>
                                    <th>{move || i18n.t("admin.status")}</th>
                                    <th>{move || i18n.t("admin.mail_attempts")}</th>
                                    <th>{move || i18n.t("admin.actions")}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|m| {
                                        let status = m.status.clone();
                                        let can_retry = m.status != "SENT";
                                        view! {
                                            <tr data-mail=m.id.to_string() data-status=m.status.clone()>
                                                <td>{m.created_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                                <td>{m.to}</td>
                                                <td>{m.subject}" "<small><code>{m.kind}</code></small></td>
                                                <td>
                                                    {move || i18n.t(&format!("admin.mail_status.{}", status.to_lowercase()))}
                                                    {m.last_error.map(|e| view! { <br/><small class="mail-error">{e}</small> })}
                                                </td>
                                                <td>{m.attempts}</td>
                                                <td>
                                                    {can_retry.then(|| view! {
                                                        <ActionForm action=retry attr:class="inline-form">
                                                            <input type="hidden" name="id" value=m.id.to_string()/>
                                                            <button type="submit" class="button-small">{move || i18n.t("admin.mail_retry")}</button>
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

/// Shown by role-guarded pages to a caller the server refused.
pub fn is_refusal(e: &AppError) -> bool {
    matches!(e, AppError::Forbidden | AppError::Unauthorized)
}

/// `/admin/orders`: search, status filter, and the full refund of a paid order.
#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    use crate::{
        money::format_money,
        ticketing::{AdminRefundOrder, OrderStatus},
    };
    let i18n = use_i18n();
    let query = use_query_map();
    let refund = ServerAction::<AdminRefundOrder>::new();
    let refund_error = action_error(refund);
    let orders = Resource::new(
        move || {
            (
                query.read().get("q"),
                query.read().get("status"),
                query.read().get("from"),
                query.read().get("to"),
                refund.version().get(),
            )
        },
        |(q, status, from, to, _)| super::admin_orders(q, status, from, to),
    );
    view! {
        <Title text=page_title(move || i18n.t("admin.orders"))/>
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
                <label class="date-filter">{move || i18n.t("admin.orders_from")}
                    <input type="date" name="from" value=move || query.read().get("from")/>
                </label>
                <label class="date-filter">{move || i18n.t("admin.orders_to")}
                    <input type="date" name="to" value=move || query.read().get("to")/>
                </label>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <ActionErrorNotice error=refund_error/>
            <Transition fallback=|| view! { <Loading/> }>
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
                                        let voucher = o.voucher_code.clone().map(|code| {
                                            let (discount, currency) = (o.discount_cents, o.currency.clone());
                                            let attr = code.clone();
                                            view! {
                                                <br/><small class="order-voucher" data-voucher=attr>
                                                    {move || i18n.t_with("admin.order_voucher", &[("code", &code), ("amount", &format_money(discount, &currency, i18n.locale.get()))])}
                                                </small>
                                            }
                                        });
                                        let paid = o.status == OrderStatus::Paid;
                                        let open = RwSignal::new(false);
                                        let order_id = o.id;
                                        view! {
                                            <tr data-order=o.id.to_string() data-status=o.status.as_str() data-email=o.buyer_email.clone()>
                                                <td><code>{o.id.simple().to_string()[..8].to_uppercase()}</code><br/><small>{o.created_at.format("%Y-%m-%d %H:%M").to_string()}</small></td>
                                                <td>{o.buyer_email.clone()}</td>
                                                <td>{move || i18n.t(&format!("orders.status.{}", o.status.as_str().to_lowercase()))}" ("{o.tickets}")"</td>
                                                <td>{move || format_money(total, &currency, i18n.locale.get())}{voucher}</td>
                                                <td>
                                                    <button type="button" class="button-small order-open" aria-expanded=move || open.get().to_string()
                                                        on:click=move |_| open.update(|v| *v = !*v)>{move || i18n.t("admin.order_details")}</button>
                                                    {paid.then(|| view! {
                                                        <ActionForm action=refund attr:class="inline-form">
                                                            <input type="hidden" name="order_id" value=o.id.to_string()/>
                                                            <button type="submit" class="button-small button-danger"
                                                                on:click=move |ev| if !crate::ui::confirm(&i18n.t("admin.refund_confirm")) { ev.prevent_default() }>
                                                                {move || i18n.t("admin.refund")}
                                                            </button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                            {move || open.get().then(|| view! {
                                                <tr class="order-detail-row"><td colspan="5"><OrderDetailPanel order_id/></td></tr>
                                            })}
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

/// The shell of a page holding a table edited in place: tabs, title, the editing hint, the rows
/// loaded once by `load`, then drawn by `table`.
#[component]
fn SpreadsheetPage<T, Fut, V>(
    title: &'static str,
    class: &'static str,
    load: fn() -> Fut,
    table: fn(Vec<T>) -> V,
) -> impl IntoView
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>, AppError>> + Send + 'static,
    V: IntoView + 'static,
{
    let i18n = use_i18n();
    let rows = Resource::new(|| (), move |_| load());
    view! {
        <Title text=page_title(move || i18n.t(title))/>
        <section class=class>
            <AdminTabs/>
            <h1>{move || i18n.t(title)}</h1>
            <p class="hint">{move || i18n.t("admin.passes.hint")}</p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Ok(list) => table(list).into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// `/admin/tickets`: the passes, edited in place like a spreadsheet.
#[component]
pub fn AdminPassesPage() -> impl IntoView {
    view! {
        <SpreadsheetPage title="admin.passes" class="admin-page" load=super::passes::admin_passes
            table=|list| view! { <PassesTable list/> }/>
    }
}

#[component]
fn PassesTable(list: Vec<super::passes::PassRow>) -> impl IntoView {
    let i18n = use_i18n();
    let rows = RwSignal::new(list.into_iter().map(RwSignal::new).collect::<Vec<_>>());
    let add_error = RwSignal::new(None::<AppError>);
    let add = move |_| {
        leptos::task::spawn_local(async move {
            match super::passes::admin_create_pass().await {
                Ok(row) => rows.update(|r| r.push(RwSignal::new(row))),
                Err(e) => add_error.set(Some(e)),
            }
        });
    };
    let headers = [
        "admin.passes.name",
        "admin.passes.description",
        "admin.passes.price",
        "admin.passes.currency",
        "admin.passes.vat_rate",
        "admin.passes.capacity",
        "admin.passes.active",
        "admin.passes.hidden",
        "admin.passes.sales_start",
        "admin.passes.sales_end",
        "admin.passes.valid_from",
        "admin.passes.valid_until",
    ];
    view! {
        <div class="table-scroll">
            <table class="data-table passes-table">
                <thead><tr>{headers.map(|h| view! { <th>{move || i18n.t(h)}</th> }).collect_view()}</tr></thead>
                <tbody>
                    <For each=move || rows.get() key=|r| r.get_untracked().id let:row>
                        <tr data-pass=move || row.get().name>
                            {super::passes::FIELDS.map(|field| view! { <PassCell row field/> }).collect_view()}
                        </tr>
                    </For>
                </tbody>
            </table>
        </div>
        <ActionErrorNotice error=add_error/>
        <button type="button" class="button-secondary add-pass" on:click=add>{move || i18n.t("admin.passes.add")}</button>
    }
}

/// What a cell shows when it is not being edited.
fn pass_cell_text(r: &super::passes::PassRow, field: &str, locale: crate::i18n::Locale) -> String {
    match field {
        "name" => r.name.clone(),
        "description" => r.description.clone(),
        "price" => crate::money::format_money(r.price_cents, &r.currency, locale),
        "currency" => r.currency.to_uppercase(),
        "vat_rate" if r.vat_rate.is_empty() => crate::i18n::tr_with(
            locale,
            "admin.passes.vat_default",
            &[("rate", &r.vat_default)],
        ),
        "vat_rate" => format!("{} %", r.vat_rate),
        "capacity" => crate::i18n::tr_with(
            locale,
            "admin.passes.capacity_value",
            &[
                ("capacity", &r.capacity.to_string()),
                ("sold", &r.sold.to_string()),
                ("reserved", &r.reserved.to_string()),
                ("held", &r.held.to_string()),
                ("waiting", &r.waiting.to_string()),
            ],
        ),
        "sales_start_at" => r.sales_start_at.replace('T', " "),
        "sales_end_at" => r.sales_end_at.replace('T', " "),
        "valid_from" => r.valid_from.replace('T', " "),
        "valid_until" => r.valid_until.replace('T', " "),
        _ => String::new(),
    }
}

/// What the editor's input starts with.
fn pass_cell_raw(r: &super::passes::PassRow, field: &str) -> String {
    match field {
        "price" => crate::money::price_text(r.price_cents),
        "capacity" => r.capacity.to_string(),
        "is_active" => r.is_active.to_string(),
        "is_hidden" => r.is_hidden.to_string(),
        "sales_start_at" => r.sales_start_at.clone(),
        "sales_end_at" => r.sales_end_at.clone(),
        "valid_from" => r.valid_from.clone(),
        "valid_until" => r.valid_until.clone(),
        "currency" => r.currency.clone(),
        "vat_rate" => r.vat_rate.clone(),
        "description" => r.description.clone(),
        _ => r.name.clone(),
    }
}

/// The state of one spreadsheet cell, owned by whoever saves it.
#[derive(Clone, Copy)]
pub struct CellState {
    pub editing: RwSignal<bool>,
    pub draft: RwSignal<String>,
    pub error: RwSignal<Option<AppError>>,
    pub saving: RwSignal<bool>,
}

impl Default for CellState {
    fn default() -> CellState {
        CellState::new()
    }
}

impl CellState {
    pub fn new() -> CellState {
        CellState {
            editing: RwSignal::new(false),
            draft: RwSignal::new(String::new()),
            error: RwSignal::new(None),
            saving: RwSignal::new(false),
        }
    }

    /// The server's answer: accepted closes the cell; refused reopens it with what was typed and why.
    pub fn settle(self, typed: String, result: Result<(), AppError>) {
        self.saving.set(false);
        match result {
            Ok(()) => self.error.set(None),
            Err(e) => {
                self.error.set(Some(e));
                self.draft.set(typed);
                self.editing.set(true);
            }
        }
    }
}

/// Arrow keys move between the cells of an editable table, as in a spreadsheet: left and right
/// along the row, up and down to the same field of the row above or below. True when it moved.
fn move_focus(ev: &leptos::ev::KeyboardEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::{Element, HtmlElement};
        let Some(cell) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<Element>().ok())
        else {
            return false;
        };
        let field = cell.get_attribute("data-field").unwrap_or_default();
        let row = || cell.closest("tr").ok().flatten();
        let same_field = |r: Option<Element>| {
            r.and_then(|r| {
                r.query_selector(&format!("td.cell[data-field=\"{field}\"]"))
                    .ok()
                    .flatten()
            })
        };
        let target = match ev.key().as_str() {
            "ArrowLeft" => cell
                .previous_element_sibling()
                .filter(|e| e.class_list().contains("cell")),
            "ArrowRight" => cell
                .next_element_sibling()
                .filter(|e| e.class_list().contains("cell")),
            "ArrowUp" => same_field(row().and_then(|r| r.previous_element_sibling())),
            "ArrowDown" => same_field(row().and_then(|r| r.next_element_sibling())),
            _ => None,
        };
        target
            .and_then(|t| t.dyn_into::<HtmlElement>().ok())
            .is_some_and(|t| t.focus().is_ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// One cell edited in place: click or Enter edits, Enter or leaving saves, Escape cancels. The
/// owner's `on_save` shows the new value at once and calls [`CellState::settle`] with the answer;
/// a refusal puts the old value back with the reason in the cell (and a reload link on a conflict).
#[component]
pub fn EditableCell(
    field: &'static str,
    kind: &'static str,
    #[prop(into)] text: Signal<String>,
    #[prop(into)] raw: Signal<String>,
    state: CellState,
    on_save: Callback<String>,
) -> impl IntoView {
    let CellState {
        editing,
        draft,
        error,
        saving,
    } = state;
    let input = NodeRef::<leptos::html::Input>::new();
    let save = move |value: String| {
        editing.set(false);
        if value == raw.get_untracked() && error.get_untracked().is_none() {
            return;
        }
        saving.set(true);
        on_save.run(value);
    };
    let start = move || {
        if !editing.get_untracked() {
            draft.set(raw.get_untracked());
            editing.set(true);
        }
    };
    Effect::new(move |_| {
        if editing.get() {
            #[cfg(feature = "hydrate")]
            if let Some(el) = input.get() {
                let _ = el.focus();
            }
        }
    });
    view! {
        <td class="cell" data-field=field tabindex="0"
            class:cell-editing=move || editing.get() class:cell-saving=move || saving.get() class:cell-error=move || error.get().is_some()
            on:click=move |_| start()
            on:keydown=move |ev| if !editing.get_untracked() {
                if ev.key() == "Enter" { ev.prevent_default(); start() } else if move_focus(&ev) { ev.prevent_default() }
            }>
            {move || if editing.get() {
                view! {
                    <input node_ref=input type=kind class="cell-input" prop:value=move || draft.get()
                        aria-invalid=move || error.get().is_some().to_string()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=move |ev| match ev.key().as_str() {
                            // Stopped here: the cell's own Enter (start editing) must not see it.
                            "Enter" => { ev.prevent_default(); ev.stop_propagation(); save(draft.get_untracked()) }
                            "Escape" => { ev.prevent_default(); ev.stop_propagation(); editing.set(false); error.set(None) }
                            _ => {}
                        }
                        on:blur=move |_| if editing.get_untracked() { save(draft.get_untracked()) }/>
                }
                .into_any()
            } else {
                view! { <span class="cell-value">{move || text.get()}</span> }.into_any()
            }}
            <CellError error/>
        </td>
    }
}

/// The reason a cell's save was refused, under its value; a conflict (someone else saved the row
/// meanwhile) comes with a link that reloads the page.
#[component]
pub fn CellError(error: RwSignal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let location = leptos_router::hooks::use_location();
    move || {
        error.get().map(|e| {
            let conflict = e.message_key().ends_with(".changed_meanwhile");
            view! {
                <p class="field-error" role="alert">
                    {e.message(i18n.locale.get())}
                    {conflict.then(|| view! { " "<a href=location.pathname.get_untracked() rel="external">{move || i18n.t("admin.reload")}</a> })}
                </p>
            }
        })
    }
}

/// A yes/no cell: saved as soon as it is ticked or unticked ("true"/"false"); the owner's
/// `on_save` settles `state` with the server's answer, a refusal shows its reason in the cell.
#[component]
pub fn CheckCell(
    field: &'static str,
    /// The translation key of the box's accessible name.
    label: &'static str,
    #[prop(into)] checked: Signal<bool>,
    state: CellState,
    on_save: Callback<String>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let CellState { error, saving, .. } = state;
    view! {
        <td class="cell" data-field=field class:cell-error=move || error.get().is_some() class:cell-saving=move || saving.get()>
            <input type="checkbox" checked=move || checked.get() prop:checked=move || checked.get()
                disabled=move || disabled.get() aria-label=move || i18n.t(label)
                on:change=move |ev| {
                    saving.set(true);
                    on_save.run(event_target_checked(&ev).to_string())
                }/>
            <CellError error/>
        </td>
    }
}

/// A cell choosing one of `options` (value, text): saved as soon as another is picked.
#[component]
pub fn SelectCell(
    field: &'static str,
    /// The translation key of the list's accessible name.
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    state: CellState,
    on_save: Callback<String>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let CellState { error, saving, .. } = state;
    view! {
        <td class="cell" data-field=field class:cell-error=move || error.get().is_some() class:cell-saving=move || saving.get()>
            <select aria-label=move || i18n.t(label) disabled=move || disabled.get()
                on:change=move |ev| {
                    saving.set(true);
                    on_save.run(event_target_value(&ev))
                }>
                {move || options.get().into_iter().map(|(v, text)| {
                    let on = v.clone();
                    let is = move || value.get() == on;
                    view! { <option value=v selected=is.clone() prop:selected=is>{text}</option> }
                }).collect_view()}
            </select>
            <CellError error/>
        </td>
    }
}

/// A pass's cell: the new value shows at once, the server has the last word.
#[component]
fn PassCell(row: RwSignal<super::passes::PassRow>, field: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let state = CellState::new();
    let save = move |value: String| {
        let before = row.get_untracked();
        row.update(|r| match field {
            "name" => r.name = value.clone(),
            "description" => r.description = value.clone(),
            "capacity" => r.capacity = value.trim().parse().unwrap_or(r.capacity),
            "price" => r.price_cents = crate::money::parse_price(&value).unwrap_or(r.price_cents),
            "is_active" => r.is_active = value == "true",
            "is_hidden" => r.is_hidden = value == "true",
            _ => {}
        });
        leptos::task::spawn_local(async move {
            let answer = super::passes::admin_update_pass(
                before.id,
                field.to_string(),
                value.clone(),
                before.version,
            )
            .await;
            match answer {
                Ok(saved) => {
                    row.set(saved);
                    state.settle(value, Ok(()));
                }
                Err(e) => {
                    row.set(before);
                    state.settle(value, Err(e));
                }
            }
        });
    };
    if matches!(field, "is_active" | "is_hidden") {
        let (label, checked) = if field == "is_active" {
            (
                "admin.passes.active",
                Signal::derive(move || row.get().is_active),
            )
        } else {
            (
                "admin.passes.hidden",
                Signal::derive(move || row.get().is_hidden),
            )
        };
        return view! { <CheckCell field label checked state on_save=Callback::new(save)/> }
            .into_any();
    }
    let kind = match field {
        "capacity" => "number",
        "sales_start_at" | "sales_end_at" | "valid_from" | "valid_until" => "datetime-local",
        _ => "text",
    };
    view! {
        <EditableCell field kind state
            text=Signal::derive(move || pass_cell_text(&row.get(), field, i18n.locale.get()))
            raw=Signal::derive(move || pass_cell_raw(&row.get(), field))
            on_save=Callback::new(save)/>
    }
    .into_any()
}

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
        <Title text=page_title(move || i18n.t("admin.attendees"))/>
        <section class="admin-page">
            <AdminTabs/>
            <h1>{move || i18n.t("admin.attendees")}</h1>
            <p class="export-links">
                <a class="button-secondary" href="/admin/export/attendees.csv" rel="external" download="attendees.csv">{move || i18n.t("admin.export_attendees")}</a>
                " "
                <a class="button-secondary" href="/admin/export/orders.csv" rel="external" download="orders.csv">{move || i18n.t("admin.export_orders")}</a>
            </p>
            <form method="get" action="/admin/attendees" class="search-form">
                <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_attendees")/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </form>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(rows) => {
                            let inside = rows.iter().filter(|r| r.checked_in_at.is_some()).count();
                            let total = rows.len();
                            view! {
                                <p class="hint">{move || i18n.t_with("admin.attendees_count", &[("count", &total.to_string()), ("in", &inside.to_string())])}</p>
                                <table class="data-table attendees-table">
                                    <thead><tr>
                                        <th>{move || i18n.t("admin.attendee")}</th>
                                        <th>{move || i18n.t("form.email")}</th>
                                        <th>{move || i18n.t("admin.passes.name")}</th>
                                        <th>{move || i18n.t("admin.status")}</th>
                                        <th>{move || i18n.t("admin.checked_in")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|r| {
                                            let status = r.status;
                                            view! {
                                                <tr data-ticket=r.ticket_id.to_string()>
                                                    <td>{r.holder}</td>
                                                    <td>{r.email}</td>
                                                    <td>{r.pass}</td>
                                                    <td>{move || i18n.t(&format!("tickets.status.{}", status.as_str().to_lowercase()))}</td>
                                                    <td>{r.checked_in_at.unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// `/admin/programme`: the talks as a table edited in place; overlaps in a room are flagged.
#[component]
pub fn AdminProgrammePage() -> impl IntoView {
    view! {
        <SpreadsheetPage title="admin.programme" class="admin-page admin-programme" load=super::talks::admin_talks
            table=|list| view! { <TalksTable list/> }/>
    }
}

#[component]
fn TalksTable(list: Vec<super::talks::TalkRow>) -> impl IntoView {
    let i18n = use_i18n();
    let rows = RwSignal::new(list.into_iter().map(RwSignal::new).collect::<Vec<_>>());
    let notice = RwSignal::new(None::<AppError>);
    let panel = RwSignal::new(None::<RwSignal<super::talks::TalkRow>>);
    let add = move |_| {
        leptos::task::spawn_local(async move {
            match super::talks::admin_create_talk().await {
                Ok(row) => rows.update(|r| r.push(RwSignal::new(row))),
                Err(e) => notice.set(Some(e)),
            }
        });
    };
    let headers = [
        "admin.talks.title",
        "admin.talks.theme",
        "admin.talks.start",
        "admin.talks.end",
        "admin.talks.room",
        "admin.talks.speaker",
        "admin.talks.saved_by",
        "admin.actions",
    ];
    view! {
        <ActionErrorNotice error=notice/>
        <div class="table-scroll">
            <table class="data-table talks-table">
                <thead><tr>{headers.map(|h| view! { <th>{move || i18n.t(h)}</th> }).collect_view()}</tr></thead>
                <tbody>
                    <For each=move || rows.get() key=|r| r.get_untracked().id let:row>
                        <TalkLine row rows notice panel/>
                    </For>
                </tbody>
            </table>
        </div>
        {move || panel.get().map(|row| view! { <DescriptionPanel row panel/> })}
        <button type="button" class="button-secondary add-talk" on:click=add>{move || i18n.t("admin.talks.add")}</button>
    }
}

#[component]
fn TalkLine(
    row: RwSignal<super::talks::TalkRow>,
    rows: RwSignal<Vec<RwSignal<super::talks::TalkRow>>>,
    notice: RwSignal<Option<AppError>>,
    panel: RwSignal<Option<RwSignal<super::talks::TalkRow>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let clashes = move || {
        let all: Vec<_> = rows.with(|r| r.iter().map(|s| s.get()).collect());
        super::talks::overlaps(&all, &row.get())
    };
    let delete = move |_| {
        let talk = row.get_untracked();
        let question = i18n.t_with(
            "admin.talks.delete_confirm",
            &[
                ("title", &talk.title),
                ("count", &talk.saved_by.to_string()),
            ],
        );
        if !crate::ui::confirm(&question) {
            return;
        }
        leptos::task::spawn_local(async move {
            match super::talks::admin_delete_talk(talk.id, talk.version).await {
                Ok(()) => rows.update(|r| r.retain(|s| s.get_untracked().id != talk.id)),
                Err(e) => notice.set(Some(e)),
            }
        });
    };
    let duplicate = move |_| {
        let id = row.get_untracked().id;
        leptos::task::spawn_local(async move {
            match super::talks::admin_duplicate_talk(id).await {
                Ok(copy) => rows.update(|r| {
                    let at = r
                        .iter()
                        .position(|s| s.get_untracked().id == id)
                        .map_or(r.len(), |i| i + 1);
                    r.insert(at, RwSignal::new(copy));
                }),
                Err(e) => notice.set(Some(e)),
            }
        });
    };
    view! {
        <tr data-talk=move || row.get().title class:talk-overlap=move || !clashes().is_empty()>
            {super::talks::FIELDS.map(|field| view! { <TalkCell row field/> }).collect_view()}
            <td class="saved-by">{move || row.get().saved_by}</td>
            <td>
                {move || {
                    let c = clashes();
                    (!c.is_empty()).then(|| view! {
                        <p class="overlap-warning" role="note">{i18n.t_with("admin.talks.overlap", &[("titles", &c.join(", "))])}</p>
                    })
                }}
                <button type="button" class="button-small edit-description" on:click=move |_| panel.set(Some(row))>{move || i18n.t("admin.talks.description")}</button>
                <button type="button" class="button-small duplicate-talk" on:click=duplicate>{move || i18n.t("admin.talks.duplicate")}</button>
                <button type="button" class="button-small button-danger" on:click=delete>{move || i18n.t("admin.talks.delete")}</button>
            </td>
        </tr>
    }
}

/// A talk's description in a side panel: edited in a text area with a live preview, as attendees
/// will read it; saved with the version the admin opened (a change meanwhile is refused).
#[component]
fn DescriptionPanel(
    row: RwSignal<super::talks::TalkRow>,
    panel: RwSignal<Option<RwSignal<super::talks::TalkRow>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let draft = RwSignal::new(row.get_untracked().description);
    let error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    let save = move |_| {
        let talk = row.get_untracked();
        saving.set(true);
        leptos::task::spawn_local(async move {
            let result = super::talks::admin_update_talk(
                talk.id,
                "description".into(),
                draft.get_untracked(),
                talk.version,
            )
            .await;
            saving.set(false);
            match result {
                Ok(saved) => {
                    row.set(saved);
                    error.set(None);
                    panel.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <aside class="side-panel description-panel" role="dialog" aria-label=move || i18n.t("admin.talks.description")>
            <h2>{move || row.get().title}</h2>
            <label class="field">{move || i18n.t("admin.talks.description")}
                <textarea rows="12" prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
            </label>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message(i18n.locale.get())}</p> })}
            <h3>{move || i18n.t("admin.talks.preview")}</h3>
            <div class="description-preview"><crate::programme::components::TalkDescription text=draft/></div>
            <div class="panel-actions">
                <button type="button" class="button-primary save-description" on:click=save disabled=move || saving.get()>{move || i18n.t("form.save")}</button>
                <button type="button" class="button-secondary" on:click=move |_| panel.set(None)>{move || i18n.t("form.cancel")}</button>
            </div>
        </aside>
    }
}

#[component]
fn TalkCell(row: RwSignal<super::talks::TalkRow>, field: &'static str) -> impl IntoView {
    let state = CellState::new();
    let value_of = move |r: &super::talks::TalkRow| match field {
        "title" => r.title.clone(),
        "theme" => r.theme.clone(),
        "start_at" => r.start_at.clone(),
        "end_at" => r.end_at.clone(),
        "location" => r.location.clone(),
        _ => r.speaker_name.clone(),
    };
    let save = move |value: String| {
        let before = row.get_untracked();
        row.update(|r| match field {
            "title" => r.title = value.clone(),
            "theme" => r.theme = value.clone(),
            "start_at" => r.start_at = value.clone(),
            "end_at" => r.end_at = value.clone(),
            "location" => r.location = value.clone(),
            _ => r.speaker_name = value.clone(),
        });
        leptos::task::spawn_local(async move {
            let answer = super::talks::admin_update_talk(
                before.id,
                field.to_string(),
                value.clone(),
                before.version,
            )
            .await;
            match answer {
                Ok(saved) => {
                    row.set(saved);
                    state.settle(value, Ok(()));
                }
                Err(e) => {
                    row.set(before);
                    state.settle(value, Err(e));
                }
            }
        });
    };
    let kind = if matches!(field, "start_at" | "end_at") {
        "datetime-local"
    } else {
        "text"
    };
    view! {
        <EditableCell field kind state
            text=Signal::derive(move || {
                let v = value_of(&row.get());
                if kind == "datetime-local" { v.replace('T', " ") } else { v }
            })
            raw=Signal::derive(move || value_of(&row.get()))
            on_save=Callback::new(save)/>
    }
}

/// An order opened in the back office: items, payments, tickets; resend the tickets mail, reissue
/// a ticket's QR code.
#[component]
fn OrderDetailPanel(order_id: uuid::Uuid) -> impl IntoView {
    use super::orders::{admin_order_detail, admin_reissue_ticket, admin_resend_tickets};
    use crate::{money::format_money, ticketing::TicketStatus};
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<Result<&'static str, AppError>>);
    let detail = Resource::new(move || version.get(), move |_| admin_order_detail(order_id));
    let resend = move |_| {
        leptos::task::spawn_local(async move {
            notice.set(Some(
                admin_resend_tickets(order_id)
                    .await
                    .map(|_| "admin.tickets_resent"),
            ));
        });
    };
    view! {
        <div class="order-detail" data-order=order_id.to_string()>
            {move || notice.get().map(|n| match n {
                Ok(key) => view! { <p class="notice notice-success" role="status">{move || i18n.t(key)}</p> }.into_any(),
                Err(e) => view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(d) => {
                            let currency = d.order.currency.clone();
                            let voucher = d.order.voucher_code.clone().map(|code| {
                                let (discount, currency) = (d.order.discount_cents, currency.clone());
                                let attr = code.clone();
                                view! {
                                    <p class="order-voucher" data-voucher=attr>
                                        {move || i18n.t_with("admin.order_voucher", &[("code", &code), ("amount", &format_money(discount, &currency, i18n.locale.get()))])}
                                    </p>
                                }
                            });
                            view! {
                                <p>{d.buyer_email.clone()}</p>
                                <h3>{move || i18n.t("admin.order_items")}</h3>
                                <ul class="order-items">
                                    {d.order.items.into_iter().map(|it| {
                                        let currency = currency.clone();
                                        view! { <li>{format!("{} × {}", it.quantity, it.name)}" — "{move || format_money(it.line_total_cents, &currency, i18n.locale.get())}</li> }
                                    }).collect_view()}
                                </ul>
                                {voucher}
                                <h3>{move || i18n.t("invoice.admin.documents")}</h3>
                                <crate::invoicing::components::OrderDocuments order_id invoices=d.order.invoices.clone() billing=None
                                    currency=currency.clone() editable=false reload=version/>
                                <h3>{move || i18n.t("admin.order_payments")}</h3>
                                <ul class="order-payments">
                                    {d.payments.into_iter().map(|p| view! {
                                        <li data-status=p.status.clone()><code>{p.status.clone()}</code>" "{p.provider}" · "{p.created_at}" "
                                            <small>{p.payment_intent.or(p.checkout_session).unwrap_or_default()}</small></li>
                                    }).collect_view()}
                                </ul>
                                <h3>{move || i18n.t("admin.order_tickets")}</h3>
                                <ul class="order-tickets">
                                    {d.tickets.into_iter().map(|t| {
                                        let status = t.status;
                                        let ticket_id = t.id;
                                        let reissue = move |_| {
                                            if !crate::ui::confirm(&i18n.t("admin.reissue_confirm")) {
                                                return;
                                            }
                                            leptos::task::spawn_local(async move {
                                                let done = admin_reissue_ticket(ticket_id).await;
                                                notice.set(Some(done.map(|_| "admin.ticket_reissued")));
                                                version.update(|v| *v += 1);
                                            });
                                        };
                                        view! {
                                            <li data-ticket=ticket_id.to_string()>
                                                {t.holder}" · "{t.pass}" · "
                                                {move || i18n.t(&format!("tickets.status.{}", status.as_str().to_lowercase()))}
                                                {t.checked_in_at.map(|at| view! { " "<small>{at}</small> })}
                                                {(status != TicketStatus::Canceled).then(|| view! {
                                                    " "<button type="button" class="button-small reissue" on:click=reissue>{move || i18n.t("admin.reissue")}</button>
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <button type="button" class="button-secondary resend-tickets" on:click=resend>{move || i18n.t("admin.resend_tickets")}</button>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
