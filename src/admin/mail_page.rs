//! `/admin/mail`: every mail sent or to send, its attempts and last error, with a retry.
use super::ui::AdminPage;
use crate::ui::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/admin/mail`: every mail, its attempts and last error; a mail not gone out can be retried now.
#[component]
pub fn AdminMailPage() -> impl IntoView {
    use super::logs::{admin_mail_log, AdminRetryMail};
    let i18n = use_i18n();
    let query = use_query_map();
    let (retry, retry_error) = form_action::<AdminRetryMail>();
    let mails = Resource::new(
        move || (query.read().get("status"), retry.version().get()),
        |(status, _)| admin_mail_log(status),
    );
    view! {
        <AdminPage title="admin.mail">
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
            {loaded(mails, move |list| view! {
                <Table class="data-table mail-table" keys=&["admin.when", "form.email", "admin.mail_subject", "admin.status", "admin.mail_attempts", "admin.actions"]>
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
                </Table>
            })}
        </AdminPage>
    }
}
