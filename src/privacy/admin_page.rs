//! `/admin/privacy`: the retention policy at work — when it is due, what the next run will do, a
//! dry run, "run now" with a confirmation, the history of runs — and the erasure of one person's
//! account on their request.
use super::{EraseAccount, RetentionCounts, RetentionDryRun, RetentionRunNow, RetentionRunView};
use crate::ui::prelude::*;
use crate::{admin::admin_users, admin::ui::AdminPage, admin::UserRow};
use leptos_router::hooks::use_query_map;

fn day(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

#[component]
pub fn AdminPrivacyPage() -> impl IntoView {
    let i18n = use_i18n();
    let run = ServerAction::<RetentionRunNow>::new();
    let dry = ServerAction::<RetentionDryRun>::new();
    let erase = ServerAction::<EraseAccount>::new();
    let overview = Resource::new(
        move || (run.version().get(), erase.version().get()),
        |_| super::privacy_overview(),
    );
    let history = Resource::new(move || run.version().get(), |_| super::retention_history());
    view! {
        <AdminPage title="privacy.admin.title" class="privacy-admin">
            {loaded(overview, move |o| {
                let days = o.retention_days_after_event.to_string();
                let years = o.accounting_retention_years.to_string();
                let due = o.due_at.map(|d| {
                    let date = day(d);
                    let key = if o.due { "privacy.admin.due" } else { "privacy.admin.not_due" };
                    let days = days.clone();
                    view! { <p class="retention-due" data-due=o.due.to_string()>{move || i18n.t_with(key, &[("date", &date), ("days", &days)])}</p> }
                });
                let accounting = o.next_accounting_due.map(|d| {
                    let date = day(d);
                    view! { <p>{move || i18n.t_with("privacy.admin.accounting_due", &[("date", &date)])}</p> }
                });
                let last = match o.last_run_at {
                    Some(at) => {
                        let date = at.format("%Y-%m-%d %H:%M UTC").to_string();
                        view! { <p>{move || i18n.t_with("privacy.admin.last_run", &[("date", &date)])}</p> }.into_any()
                    }
                    None => view! { <p>{move || i18n.t("privacy.admin.never_run")}</p> }.into_any(),
                };
                view! {
                    <p>{move || i18n.t_with("privacy.admin.policy", &[("days", &days), ("years", &years)])}</p>
                    {due}
                    {accounting}
                    {last}
                    <h2>{move || i18n.t("privacy.admin.next_run")}</h2>
                    <Counts counts=o.next/>
                }
                    .into_any()
            })}
            <RunControls run dry/>
            <h2>{move || i18n.t("privacy.admin.history")}</h2>
            {loaded(history, move |runs| view! { <History runs/> }.into_any())}
            <ErasePerson erase/>
        </AdminPage>
    }
}

/// What a run does, per kind of data (only the kinds with something to do, or a dash).
#[component]
fn Counts(counts: RetentionCounts) -> impl IntoView {
    let i18n = use_i18n();
    let rows = [
        ("privacy.count.accounts", counts.accounts),
        ("privacy.count.ticket_holders", counts.ticket_holders),
        ("privacy.count.scan_details", counts.scan_details),
        ("privacy.count.mail_bodies", counts.mail_bodies),
        ("privacy.count.ip_hashes", counts.ip_hashes),
        ("privacy.count.expired_sessions", counts.expired_sessions),
        ("privacy.count.expired_tokens", counts.expired_tokens),
        (
            "privacy.count.erased_mail_addresses",
            counts.erased_mail_addresses,
        ),
        ("privacy.count.orders_reduced", counts.orders_reduced),
    ];
    view! {
        <table class="data-table retention-counts">
            <tbody>
                {rows
                    .into_iter()
                    .map(|(key, n)| view! {
                        <tr data-kind=key><th>{move || i18n.t(key)}</th><td>{n}</td></tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RunControls(
    run: ServerAction<RetentionRunNow>,
    dry: ServerAction<RetentionDryRun>,
) -> impl IntoView {
    let i18n = use_i18n();
    let run_error = action_error(run);
    let dry_error = action_error(dry);
    view! {
        <div class="retention-controls">
            <ActionForm action=dry attr:class="inline-form">
                <button type="submit" class="button-secondary">{move || i18n.t("privacy.admin.dry_run")}</button>
            </ActionForm>
            <ActionForm action=run attr:class="inline-form run-retention">
                <label class="checkbox">
                    <input type="checkbox" name="confirm" value="true" required/>
                    <span>{move || i18n.t("privacy.admin.run_confirm")}</span>
                </label>
                <button type="submit" class="button-danger">{move || i18n.t("privacy.admin.run_now")}</button>
                <FieldError error=run_error field="confirm"/>
            </ActionForm>
            <ActionErrorNotice error=dry_error/>
            {move || dry.value().get().and_then(|r| r.ok()).map(|counts| view! {
                <div class="dry-run-result"><h3>{move || i18n.t("privacy.admin.dry_run")}</h3><Counts counts/></div>
            })}
            {move || run.value().get().and_then(|r| r.ok()).map(|counts| view! {
                <div class="run-result notice notice-success"><Counts counts/></div>
            })}
        </div>
    }
}

#[component]
fn History(runs: Vec<RetentionRunView>) -> impl IntoView {
    let i18n = use_i18n();
    if runs.is_empty() {
        return view! { <p>{move || i18n.t("privacy.admin.never_run")}</p> }.into_any();
    }
    view! {
        <table class="data-table retention-history">
            <tbody>
                {runs
                    .into_iter()
                    .map(|r| {
                        let at = r.at.format("%Y-%m-%d %H:%M UTC").to_string();
                        let trigger = if r.trigger == "admin" { "privacy.admin.trigger.admin" } else { "privacy.admin.trigger.schedule" };
                        let total = r.counts.total();
                        view! {
                            <tr>
                                <td>{at}</td>
                                <td>{move || i18n.t(trigger)}<br/><small>{r.actor_email}</small></td>
                                <td data-total=total>{total}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Finds an account by address or name, then downloads its data or erases it.
#[component]
fn ErasePerson(erase: ServerAction<EraseAccount>) -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let error = action_error(erase);
    let found = Resource::new(
        move || (query.read().get("q"), erase.version().get()),
        |(q, _)| async move {
            match q.filter(|q| !q.trim().is_empty()) {
                Some(q) => admin_users(Some(q)).await,
                None => Ok(vec![]),
            }
        },
    );
    view! {
        <h2>{move || i18n.t("privacy.admin.erase")}</h2>
        <p class="hint">{move || i18n.t("privacy.admin.erase_hint")}</p>
        <form method="get" action="/admin/privacy" class="search-form">
            <input type="search" name="q" value=move || query.read().get("q") placeholder=move || i18n.t("admin.search_users")/>
            <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
        </form>
        <ActionErrorNotice error/>
        {loaded(found, move |users| users.into_iter().map(|u| view! { <PersonLine user=u erase/> }).collect_view().into_any())}
    }
}

#[component]
fn PersonLine(user: UserRow, erase: ServerAction<EraseAccount>) -> impl IntoView {
    let i18n = use_i18n();
    let email = user.email.clone();
    let id = user.id.to_string();
    view! {
        <div class="person-line" data-email=user.email.clone()>
            <strong>{user.email.clone()}</strong>" "
            <a href=format!("/admin/privacy/export/{id}") rel="external" download="personal-data.json">{move || i18n.t("privacy.admin.export_person")}</a>
            <ActionForm action=erase attr:class="inline-form">
                <input type="hidden" name="user_id" value=id.clone()/>
                <label class="checkbox">
                    <input type="checkbox" required/>
                    <span>{move || i18n.t_with("privacy.admin.erase_confirm", &[("email", &email)])}</span>
                </label>
                <button type="submit" class="button-danger">{move || i18n.t("privacy.admin.erase")}</button>
            </ActionForm>
        </div>
    }
}
