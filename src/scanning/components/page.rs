//! The page itself: `ScanPage` (who may scan) and `Scanner` (the camera and every panel).
use super::*;
use crate::ui::LoginRequired;

#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) enum CameraState {
    Off,
    Starting,
    Running,
    Failed(&'static str),
}

/// The page: staff and admins get the scanner; others are told why not (the server refuses them anyway).
#[component]
pub fn ScanPage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    view! {
        <Title text=page_title(move || i18n.t("scan.title"))/>
        <leptos_meta::Link rel="manifest" href="/scan.webmanifest"/>
        <Transition fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(user)) if matches!(user.role, Role::StaffScan | Role::Admin) => {
                        let me = user.display_name();
                        view! { <Scanner is_admin=user.role == Role::Admin me/> }.into_any()
                    }
                    Ok(Some(_)) => view! { <ErrorNotice error=AppError::Forbidden/> }.into_any(),
                    _ => view! { <LoginRequired/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub(crate) fn Scanner(is_admin: bool, me: String) -> impl IntoView {
    let i18n = use_i18n();
    let door = Door::new();
    let persisted = RwSignal::new(None::<bool>);
    let video = NodeRef::<leptos::html::Video>::new();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let camera = RwSignal::new(CameraState::Off);
    let cameras = RwSignal::new(Vec::<(String, String)>::new());
    let device = RwSignal::new(None::<String>);
    let torch = RwSignal::new(None::<bool>);
    let decode_ms = RwSignal::new(Vec::<f64>::new());

    // The camera starts once the video element is in the page, and again when another is picked.
    Effect::new(move |_| {
        let chosen = device.get();
        #[cfg(feature = "hydrate")]
        if let (Some(v), Some(c)) = (video.get(), canvas.get()) {
            use std::rc::Rc;
            camera.set(CameraState::Starting);
            spawn_local(async move {
                let hooks = crate::scanning::camera::Hooks {
                    on_text: Rc::new(move |t| door.seen(t)),
                    on_decode_ms: Rc::new(move |ms| {
                        decode_ms.update(|v| {
                            v.push(ms);
                            if v.len() > 31 {
                                v.remove(0);
                            }
                        })
                    }),
                };
                match crate::scanning::camera::start(v, c, chosen, hooks).await {
                    Ok(()) => {
                        camera.set(CameraState::Running);
                        cameras.set(crate::scanning::camera::cameras().await);
                        torch.set(crate::scanning::camera::has_torch().then_some(false));
                    }
                    Err(key) => camera.set(CameraState::Failed(key)),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (chosen, video, canvas);
    });
    // Scans left unconfirmed by an earlier visit are retried at once; the queue is looked at, and
    // the counters refreshed, every few seconds.
    Effect::new(move |_| {
        door.me.set_value(me.clone());
        door.device_word.set_value(i18n.t("scan.device"));
        door.list.set(store::chosen_list());
        spawn_local(async move {
            let data = store::load_data().await;
            door.lists.set(data.lists.clone());
            door.ready.set(!data.is_empty());
            door.conflicts.set(data.conflicts.clone());
            door.data.set_value(data);
            door.outbox.set(store::load_outbox().await);
            door.sync();
            persisted.set(Some(store::install().await));
        });
        let sync_handle = set_interval_with_handle(
            move || {
                let since = door
                    .data
                    .with_value(|d| d.server_now(queue::now_ms() as i64) - d.synced_at_ms);
                let stale = since as f64 > REFRESH_MS;
                if !door.outbox.with_untracked(|o| o.is_empty())
                    || stale
                    || door.offline_since.get_untracked().is_some()
                {
                    door.sync();
                }
            },
            SYNC,
        );
        if let Ok(handle) = sync_handle {
            on_cleanup(move || handle.clear());
        }
        let online = window_event_listener(leptos::ev::online, move |_| door.sync());
        on_cleanup(move || online.remove());
        door.pending.set(queue::load());
        door.retry_all();
        if let Ok(handle) = set_interval_with_handle(
            move || {
                door.retry_all();
                door.counters.update(|v| *v += 1);
            },
            POLL,
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    on_cleanup(|| {
        #[cfg(feature = "hydrate")]
        crate::scanning::camera::stop();
    });
    let median_ms = move || {
        decode_ms.with(|v| {
            let mut v = v.clone();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).map(|m| format!("{m:.0}"))
        })
    };
    view! {
        <section class="scan-page" on:click=move |_| {
            #[cfg(feature = "hydrate")]
            crate::scanning::camera::unlock_audio();
        }>
            <h1>{move || i18n.t("scan.title")}</h1>
            <div class="scan-camera" data-camera=move || format!("{:?}", camera.get()).to_lowercase()>
                <video node_ref=video class="scan-video" muted=true autoplay=true playsinline=true aria-label=move || i18n.t("scan.camera.label")></video>
                <canvas node_ref=canvas class="scan-canvas" hidden=true></canvas>
                <div class="scan-aim" aria-hidden="true"></div>
                <p class="scan-camera-status" role="status">
                    {move || match camera.get() {
                        CameraState::Off | CameraState::Starting => i18n.t("scan.camera.starting"),
                        CameraState::Running => i18n.t("scan.camera.running"),
                        CameraState::Failed(key) => i18n.t(key),
                    }}
                    {move || median_ms().map(|ms| view! { " · " <span class="scan-decode" data-decode-ms=ms.clone()>{i18n.t_with("scan.decode_ms", &[("ms", &ms)])}</span> })}
                </p>
                <div class="scan-camera-tools">
                    {move || (cameras.get().len() > 1).then(|| view! {
                        <label>
                            {move || i18n.t("scan.camera.pick")}" "
                            <select on:change=move |ev| device.set(Some(event_target_value(&ev)))>
                                {cameras.get().into_iter().enumerate().map(|(i, (id, label))| {
                                    let label = if label.is_empty() { i18n.t_with("scan.camera.nth", &[("n", &(i + 1).to_string())]) } else { label };
                                    let selected = device.get_untracked().as_deref() == Some(id.as_str());
                                    view! { <option value=id selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    })}
                    {move || torch.get().map(|on| view! {
                        <button type="button" class="button-secondary" aria-pressed=on.to_string() on:click=move |_| {
                            torch.set(Some(!on));
                            #[cfg(feature = "hydrate")]
                            crate::scanning::camera::set_torch(!on);
                        }>{move || i18n.t(if on { "scan.torch_off" } else { "scan.torch_on" })}</button>
                    })}
                </div>
            </div>
            <ListPicker door/>
            <ActionErrorNotice error=door.notice/>
            <OfflineBanner door persisted/>
            <Conflicts door/>
            <PendingList door/>
            <ManualEntry door/>
            <HolderSearch door/>
            <History door is_admin/>
            <Counters door/>
            <ResultScreen door is_admin/>
        </section>
    }
}
