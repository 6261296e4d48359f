//! The device: offline banner, its name in the back office, double entries.
use super::*;

/// "Offline since 10:42 — 37 entries to send", and whether the door works without the network.
#[component]
pub(crate) fn OfflineBanner(door: Door, persisted: RwSignal<Option<bool>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="scan-offline-state" data-ready=move || door.ready.get().to_string()
            data-offline=move || door.offline_since.get().is_some().to_string()
            data-outbox=move || door.outbox.with(|o| o.len()).to_string()
            data-persisted=move || persisted.get().map(|p| p.to_string()).unwrap_or_default()>
            {move || {
                let count = door.outbox.with(|o| o.len()).to_string();
                match door.offline_since.get() {
                    Some(since) => view! {
                        <p class="notice notice-warning scan-offline" role="status">
                            {i18n.t_with("scan.offline_since", &[("since", &local_hm(since)), ("count", &count)])}
                        </p>
                    }.into_any(),
                    None if count != "0" => view! {
                        <p class="notice scan-outbox" role="status">{i18n.t_with("scan.outbox", &[("count", &count)])}</p>
                    }.into_any(),
                    None => ().into_any(),
                }
            }}
            <p class="scan-offline-ready">
                <small>{move || i18n.t(if door.ready.get() { "scan.offline_ready" } else { "scan.offline_not_ready" })}</small>
            </p>
            <DeviceName door/>
        </div>
    }
}

/// The name this phone has in the back office ("Porte A"), kept on the phone.
#[component]
pub(crate) fn DeviceName(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    let name = RwSignal::new(String::new());
    Effect::new(move |_| name.set(store::label().unwrap_or_default()));
    view! {
        <label class="scan-device-name">
            <small>{move || i18n.t("scan.device_name")}</small>" "
            <input name="device" maxlength="80" autocomplete="off" placeholder=move || i18n.t("scan.device_placeholder")
                prop:value=move || name.get()
                on:change=move |ev| {
                    let v = event_target_value(&ev).trim().to_string();
                    store::set_label(&v);
                    name.set(v);
                    door.sync();
                }/>
        </label>
    }
}

/// Tickets let in twice while devices were offline, as the last sync reported them.
#[component]
pub(crate) fn Conflicts(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let list = door.conflicts.get();
        let count = list.len().to_string();
        (!list.is_empty()).then(|| view! {
            <section class="notice notice-error scan-conflicts" data-conflicts=count role="alert">
                <h2>{move || i18n.t("scan.conflicts")}</h2>
                <ul>
                    {list.into_iter().map(|c| {
                        let first = match (c.first_at_local.clone(), c.first_by.clone()) {
                            (Some(at), Some(by)) => format!("{at} · {by}"),
                            (Some(at), None) => at,
                            _ => "?".into(),
                        };
                        let second = format!("{} · {}", c.second_at_local, c.second_by);
                        view! {
                            <li data-ticket=c.ticket_id.to_string()>
                                <strong>{c.pass}</strong>" "
                                {move || i18n.t_with("scan.conflict", &[("first", &first), ("second", &second)])}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}
