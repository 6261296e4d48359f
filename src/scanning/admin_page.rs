//! `/admin/door`: the door seen from the back office. Double entries (a ticket let in by two
//! devices before they synced), the devices with their last sync and entries, and the keys that
//! sign tickets (a rotation; a revocation for a leaked key).
use super::{admin_door, DoorOverview};
use crate::ui::prelude::*;
use crate::{admin::ui::AdminPage, ui::confirm};
use leptos::{prelude::*, task::spawn_local};

#[component]
pub fn AdminDoorPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<AppError>);
    let overview = Resource::new(move || version.get(), |_| admin_door());
    view! {
        <AdminPage title="door.admin.title" class="admin-door">
            <ActionErrorNotice error=notice/>
            <crate::checkin::admin_page::CheckinAdmin/>
            {loaded(overview, move |o| view! { <DoorTables o version notice/> }.into_any())}
        </AdminPage>
    }
}

#[component]
fn DoorTables(
    o: DoorOverview,
    version: RwSignal<u32>,
    notice: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let DoorOverview {
        conflicts,
        refused,
        devices,
        keys,
    } = o;
    let done = move |r: Result<(), AppError>| match r {
        Ok(()) => {
            notice.set(None);
            version.update(|v| *v += 1);
        }
        Err(e) => notice.set(Some(e)),
    };
    view! {
        <h2>{move || i18n.t("door.admin.conflicts")}</h2>
        {if conflicts.is_empty() {
            view! { <p class="empty door-no-conflicts">{move || i18n.t("door.admin.no_conflicts")}</p> }.into_any()
        } else {
            view! {
                <Table class="door-conflicts" keys=&["door.admin.ticket", "door.admin.first", "door.admin.second", "door.admin.list_day"]>
                    {conflicts.into_iter().map(|c| view! {
                        <tr data-ticket=c.ticket_id.to_string()>
                            <td>{c.pass}<br/><small><code>{c.ticket_id.to_string()}</code></small></td>
                            <td>{c.first_at_local.unwrap_or_default()}" · "{c.first_by.unwrap_or_default()}</td>
                            <td>{c.second_at_local}" · "{c.second_by}</td>
                            <td class="conflict-list-day">{c.list.unwrap_or_default()}" · "{c.day.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </Table>
            }.into_any()
        }}
        {(!refused.is_empty()).then(|| view! {
            <h2>{move || i18n.t("door.admin.refused")}</h2>
            <p class="hint">{move || i18n.t("door.admin.refused_hint")}</p>
            <Table class="door-refused" keys=&["door.admin.ticket", "door.admin.entry", "door.admin.reason"]>
                {refused.into_iter().map(|r| {
                    let reason = format!("door.admin.outcome.{}", r.outcome.to_lowercase());
                    view! {
                        <tr data-ticket=r.ticket_id.to_string() data-outcome=r.outcome.clone()>
                            <td>{r.pass}<br/><small><code>{r.ticket_id.to_string()}</code></small></td>
                            <td>{r.at_local}" · "{r.by}</td>
                            <td>{move || i18n.t(&reason)}</td>
                        </tr>
                    }
                }).collect_view()}
            </Table>
        })}
        <h2>{move || i18n.t("door.admin.devices")}</h2>
        {if devices.is_empty() {
            view! { <p class="empty">{move || i18n.t("door.admin.no_devices")}</p> }.into_any()
        } else {
            view! {
                <Table class="door-devices" keys=&["door.admin.device", "door.admin.staff", "door.admin.last_sync", "door.admin.entries", "door.admin.conflicts"]>
                    {devices.into_iter().map(|d| view! {
                        <tr data-device=d.id.to_string()>
                            <td>{d.label}</td>
                            <td>{d.staff.unwrap_or_default()}</td>
                            <td>{d.last_sync}</td>
                            <td class="num">{d.entries}</td>
                            <td class="num">{d.conflicts}</td>
                        </tr>
                    }).collect_view()}
                </Table>
            }.into_any()
        }}
        <h2>{move || i18n.t("door.admin.keys")}</h2>
        <p class="hint">{move || i18n.t("door.admin.keys_hint")}</p>
        <Table class="door-keys" keys=["door.admin.key", "door.admin.created", "door.admin.state", ""]>
            {keys.into_iter().map(|k| {
                let id = k.id;
                let state = match (&k.revoked, k.signing) {
                    (Some(at), _) => i18n.t_with("door.admin.revoked_at", &[("when", at)]),
                    (None, true) => i18n.t("door.admin.signing"),
                    (None, false) => i18n.t("door.admin.verifying"),
                };
                view! {
                    <tr data-key=id.to_string() data-signing=k.signing.to_string()>
                        <td>{id}" "<small><code>{k.fingerprint}</code></small></td>
                        <td>{k.created}</td>
                        <td>{state}</td>
                        <td>{k.revoked.is_none().then(|| view! {
                            <button type="button" class="button-small button-danger" on:click=move |_| {
                                if confirm(&i18n.t("door.admin.revoke_confirm")) {
                                    spawn_local(async move { done(super::admin_door_revoke_key(id).await) });
                                }
                            }>{move || i18n.t("door.admin.revoke")}</button>
                        })}</td>
                    </tr>
                }
            }).collect_view()}
        </Table>
        <p><button type="button" class="button-secondary door-rotate" on:click=move |_| {
            spawn_local(async move { done(super::admin_door_rotate_key().await) });
        }>{move || i18n.t("door.admin.rotate")}</button></p>
    }
}
