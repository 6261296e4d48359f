//! `/scan`: the door. The camera decodes tickets in the browser; each answer takes the whole screen
//! in its own colour, with its sound and vibration. Scans the server has not confirmed stay queued
//! (and survive a reload) and are retried; they are never shown as OK.
use super::{
    offline::{self, DoorChoice, DoorData, DoorList, LocalEntry, OfflineEntry, Presented},
    queue::{self, PendingScan},
    store, HolderTicket, Outcome, ScanAnswer,
};
use crate::checkin::{
    rules::{self, Mark},
    Direction, Rule,
};
use crate::{
    accounts::{
        components::{use_auth, LoginRequired},
        Role,
    },
    ui::{ActionErrorNotice, ErrorNotice, Loading},
    error::AppError,
    i18n::{page_title, use_i18n},
    ticketing::TicketStatus,
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use std::time::Duration;
use uuid::Uuid;

/// The same code seen again within this time is the same person still in front of the camera.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const DEBOUNCE_MS: f64 = 3000.0;
/// How long an answer stays full screen (a tap dismisses it sooner).
const OK_SCREEN_MS: u64 = 2500;
const REFUSAL_SCREEN_MS: u64 = 5000;
/// Counters and the retry queue are looked at this often.
const POLL: Duration = Duration::from_secs(5);
/// Entries made offline are sent this often (and at once when the network comes back); the door
/// data is refreshed at least every minute.
const SYNC: Duration = Duration::from_secs(15);
const REFRESH_MS: f64 = 60_000.0;

#[derive(Clone, Debug, PartialEq)]
enum Screen {
    Idle,
    Checking(Uuid),
    Unconfirmed(Uuid),
    Answer(ScanAnswer),
}

#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum CameraState {
    Off,
    Starting,
    Running,
    Failed(&'static str),
}

/// The door's state and what it does; every part is a signal, so it is `Copy`.
#[derive(Clone, Copy)]
struct Door {
    screen: RwSignal<Screen>,
    history: RwSignal<Vec<ScanAnswer>>,
    pending: RwSignal<Vec<PendingScan>>,
    inflight: RwSignal<Vec<Uuid>>,
    notice: RwSignal<Option<AppError>>,
    counters: RwSignal<u32>,
    last_seen: StoredValue<Option<(String, f64)>>,
    /// From the code seen to the answer on screen, in ms (shown small; read by the tests).
    answer_ms: RwSignal<Option<f64>>,
    /// The last sync's data: keys, passes, tickets (empty until the first sync).
    data: StoredValue<DoorData>,
    /// Whether there is door data to answer from without the server.
    ready: RwSignal<bool>,
    /// Entries answered here without the server, not yet received by it.
    outbox: RwSignal<Vec<OfflineEntry>>,
    /// Since when (ms) the server cannot be reached; `None` while it can.
    offline_since: RwSignal<Option<f64>>,
    /// Double entries this device took part in, from the last sync.
    conflicts: RwSignal<Vec<offline::DoorConflict>>,
    syncing: StoredValue<bool>,
    /// The staff member's name, for this device's own entries ("Samir Staff").
    me: StoredValue<String>,
    /// "Appareil" / "Device", for the device's name until the steward gives one.
    device_word: StoredValue<String>,
    /// The check-in list the steward picked (kept on the phone) and, on an in/out list, whether
    /// scans are exits.
    list: RwSignal<Option<Uuid>>,
    direction: RwSignal<Direction>,
    /// The lists the server offers (or, offline, the last sync's).
    lists: RwSignal<Vec<DoorList>>,
}

fn retryable(e: &AppError) -> bool {
    matches!(e, AppError::ServerFn(_) | AppError::Internal)
}

impl Door {
    fn new() -> Door {
        Door {
            screen: RwSignal::new(Screen::Idle),
            history: RwSignal::new(vec![]),
            pending: RwSignal::new(vec![]),
            inflight: RwSignal::new(vec![]),
            notice: RwSignal::new(None),
            counters: RwSignal::new(0),
            last_seen: StoredValue::new(None),
            answer_ms: RwSignal::new(None),
            data: StoredValue::new(DoorData::default()),
            ready: RwSignal::new(false),
            outbox: RwSignal::new(vec![]),
            offline_since: RwSignal::new(None),
            conflicts: RwSignal::new(vec![]),
            syncing: StoredValue::new(false),
            me: StoredValue::new(String::new()),
            device_word: StoredValue::new(String::new()),
            list: RwSignal::new(None),
            direction: RwSignal::new(Direction::In),
            lists: RwSignal::new(vec![]),
        }
    }

    /// The list scans go to: the one picked if still offered, else the first offered.
    fn current_list(self) -> Option<DoorList> {
        let chosen = self.list.get();
        self.lists.with(|ls| {
            chosen
                .and_then(|id| ls.iter().find(|l| l.id == id))
                .or_else(|| ls.first())
                .cloned()
        })
    }

    /// The id scans name: the list picked (before the first sync, the one kept on the phone; the
    /// server checks it), else the first offered.
    fn current_list_id(self) -> Option<Uuid> {
        if self.lists.with(Vec::is_empty) {
            return self.list.get();
        }
        self.current_list().map(|l| l.id)
    }

    /// The direction of the next scan (always IN but on an in/out list).
    fn current_direction(self) -> Direction {
        match self.current_list() {
            Some(l) if l.rule == Rule::InOut => self.direction.get(),
            _ => Direction::In,
        }
    }

    /// Answers on this device alone: the entry goes to the outbox (kept on the device before the
    /// answer shows), and the answer takes the screen as an online one would.
    fn answer_offline(self, scan: PendingScan) {
        self.went_offline();
        let me = self.me.get_value();
        let (offset, default_list) = self.data.with_value(|d| {
            (
                d.utc_offset_minutes,
                d.list(None).map_or(crate::checkin::ENTRANCE, |l| l.id),
            )
        });
        let mine: Vec<LocalEntry> = self.outbox.with_untracked(|o| {
            o.iter()
                .filter(|e| matches!(e.answer, Outcome::Ok | Outcome::Exit))
                .filter_map(|e| {
                    Some(LocalEntry {
                        ticket_id: e.ticket_id?,
                        list: e.list_id.unwrap_or(default_list),
                        mark: Mark {
                            at_ms: e.at_ms,
                            day: rules::day_of(e.at_ms, offset),
                            direction: if e.answer == Outcome::Exit {
                                Direction::Out
                            } else {
                                Direction::In
                            },
                            by: Some(me.clone()),
                        },
                    })
                })
                .collect()
        });
        let presented = match (&scan.token, scan.ticket_id) {
            (Some(code), _) => Presented::Code(code),
            (None, Some(id)) => Presented::Ticket(id),
            (None, None) => return,
        };
        let now = self.data.with_value(|d| d.server_now(scan.at_ms as i64));
        let choice = DoorChoice {
            list: scan.list_id,
            direction: scan.direction,
        };
        let local = self
            .data
            .with_value(|d| offline::answer_on(d, &mine, presented, choice, now));
        let entry = OfflineEntry {
            nonce: scan.scan_id,
            code: scan.token.clone(),
            ticket_id: scan.ticket_id.or(local.ticket_id),
            at_ms: now,
            answer: local.outcome,
            list_id: local.list,
            direction: scan.direction,
        };
        self.outbox.update(|o| {
            if !o.iter().any(|e| e.nonce == entry.nonce) {
                o.push(entry);
            }
        });
        self.forget(scan.scan_id);
        let answer = ScanAnswer {
            scan_id: scan.scan_id,
            outcome: local.outcome,
            ticket_id: local.ticket_id,
            holder: local.holder,
            pass: local.pass,
            used_at: local
                .used_at_ms
                .and_then(chrono::DateTime::from_timestamp_millis),
            used_at_local: local.used_at_ms.map(local_short),
            used_by: local.used_by,
            valid_days: None,
            undo_until: None,
            repeated: false,
            offline: true,
            list: local.list_name,
            day: Some(local.day),
        };
        spawn_local(async move {
            let kept = store::save_outbox(&self.outbox.get_untracked()).await;
            if !kept {
                self.notice.set(Some(AppError::Internal));
            }
            self.answered(&scan, answer);
        });
    }

    /// An answer, the server's or the phone's: into the history, and on screen if the door is
    /// still waiting for this scan.
    fn answered(self, scan: &PendingScan, answer: ScanAnswer) {
        self.history.update(|h| {
            h.insert(0, answer.clone());
            h.truncate(8);
        });
        let waiting = match self.screen.get_untracked() {
            Screen::Idle => true,
            Screen::Checking(id) | Screen::Unconfirmed(id) => id == scan.scan_id,
            Screen::Answer(_) => false,
        };
        if waiting {
            self.answer_ms.set(Some(queue::now_ms() - scan.at_ms));
            self.show(answer);
        }
    }

    fn went_offline(self) {
        if self.offline_since.get_untracked().is_none() {
            self.offline_since.set(Some(queue::now_ms()));
        }
    }

    /// Sends the outbox and takes in what changed; quietly does nothing when the server cannot be
    /// reached (the banner says since when).
    fn sync(self) {
        if self.syncing.get_value() {
            return;
        }
        self.syncing.set_value(true);
        spawn_local(async move {
            let entries: Vec<OfflineEntry> = self.outbox.with_untracked(|o| {
                o.iter()
                    .take(offline::MAX_ENTRIES_PER_SYNC)
                    .cloned()
                    .collect()
            });
            let cursor = self.data.with_value(|d| d.cursor);
            let label = store::label()
                .unwrap_or_else(|| store::default_label(&self.device_word.get_value()));
            match super::door_sync(store::device_id(), label, cursor, entries).await {
                Ok(delta) => {
                    let received = delta.received.clone();
                    self.outbox
                        .update(|o| o.retain(|e| !received.contains(&e.nonce)));
                    store::save_outbox(&self.outbox.get_untracked()).await;
                    self.conflicts.set(delta.conflicts.clone());
                    self.data
                        .update_value(|d| d.merge(delta, queue::now_ms() as i64));
                    self.lists.set(self.data.with_value(|d| d.lists.clone()));
                    store::save_data(&self.data.get_value()).await;
                    self.ready.set(!self.data.with_value(|d| d.is_empty()));
                    self.offline_since.set(None);
                    self.counters.update(|v| *v += 1);
                }
                Err(e) if retryable(&e) => self.went_offline(),
                // Logged out elsewhere, or no longer door staff: the tickets leave this phone.
                Err(e @ (AppError::Unauthorized | AppError::Forbidden)) => {
                    store::wipe().await;
                    self.data.set_value(DoorData::default());
                    self.ready.set(false);
                    self.notice.set(Some(e));
                }
                Err(e) => self.notice.set(Some(e)),
            }
            self.syncing.set_value(false);
        });
    }

    /// A code decoded from the camera: sent once while it stays in view.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn seen(self, text: String) {
        let text = text.trim().to_string();
        if text.is_empty() || text.len() > 512 {
            return;
        }
        let now = queue::now_ms();
        let repeat = self.last_seen.with_value(|l| {
            l.as_ref()
                .is_some_and(|(t, at)| *t == text && now - at < DEBOUNCE_MS)
        });
        self.last_seen.set_value(Some((text.clone(), now)));
        if !repeat {
            self.submit(Some(text), None);
        }
    }

    fn submit(self, token: Option<String>, ticket_id: Option<Uuid>) {
        let scan = PendingScan {
            scan_id: queue::new_scan_id(),
            token,
            ticket_id,
            at_ms: queue::now_ms(),
            attempts: 0,
            list_id: self.current_list_id(),
            direction: self.current_direction(),
        };
        self.notice.set(None);
        self.screen.set(Screen::Checking(scan.scan_id));
        self.pending.update(|p| p.push(scan.clone()));
        queue::save(&self.pending.get_untracked());
        self.send(scan);
    }

    fn forget(self, scan_id: Uuid) {
        self.pending.update(|p| p.retain(|s| s.scan_id != scan_id));
        queue::save(&self.pending.get_untracked());
    }

    fn send(self, scan: PendingScan) {
        if self.inflight.with_untracked(|f| f.contains(&scan.scan_id)) {
            return;
        }
        // No network: no need to wait for a call that cannot get through.
        if !store::online() && self.ready.get_untracked() {
            self.answer_offline(scan);
            return;
        }
        self.inflight.update(|f| f.push(scan.scan_id));
        spawn_local(async move {
            let result = match (&scan.token, scan.ticket_id) {
                (Some(token), _) => {
                    super::scan_redeem(
                        token.clone(),
                        scan.scan_id,
                        scan.list_id,
                        Some(scan.direction.as_str().into()),
                    )
                    .await
                }
                (None, Some(id)) => {
                    super::scan_redeem_ticket(
                        id,
                        scan.scan_id,
                        scan.list_id,
                        Some(scan.direction.as_str().into()),
                    )
                    .await
                }
                (None, None) => Err(AppError::NotFound),
            };
            self.inflight.update(|f| f.retain(|id| *id != scan.scan_id));
            match result {
                Ok(answer) => {
                    self.forget(scan.scan_id);
                    self.counters.update(|v| *v += 1);
                    self.answered(&scan, answer);
                }
                // The server cannot be reached: the device answers from its door data.
                Err(e) if retryable(&e) && self.ready.get_untracked() => self.answer_offline(scan),
                Err(e) if retryable(&e) => {
                    let attempts = scan.attempts + 1;
                    self.pending.update(|p| {
                        if let Some(s) = p.iter_mut().find(|s| s.scan_id == scan.scan_id) {
                            s.attempts = attempts;
                        }
                    });
                    queue::save(&self.pending.get_untracked());
                    if self.screen.get_untracked() == Screen::Checking(scan.scan_id) {
                        self.screen.set(Screen::Unconfirmed(scan.scan_id));
                    }
                    let retry = PendingScan { attempts, ..scan };
                    set_timeout(
                        move || {
                            if self
                                .pending
                                .with_untracked(|p| p.iter().any(|s| s.scan_id == retry.scan_id))
                            {
                                self.send(retry);
                            }
                        },
                        Duration::from_millis(queue::retry_delay_ms(attempts) as u64),
                    );
                }
                Err(e) => {
                    self.forget(scan.scan_id);
                    if matches!(self.screen.get_untracked(), Screen::Checking(id) | Screen::Unconfirmed(id) if id == scan.scan_id)
                    {
                        self.screen.set(Screen::Idle);
                    }
                    self.notice.set(Some(e));
                }
            }
        });
    }

    fn show(self, answer: ScanAnswer) {
        #[cfg(feature = "hydrate")]
        super::camera::signal(answer.outcome);
        let (scan_id, ms) = (
            answer.scan_id,
            if answer.outcome == Outcome::Ok {
                OK_SCREEN_MS
            } else {
                REFUSAL_SCREEN_MS
            },
        );
        self.screen.set(Screen::Answer(answer));
        set_timeout(
            move || {
                if matches!(self.screen.get_untracked(), Screen::Answer(a) if a.scan_id == scan_id)
                {
                    self.screen.set(Screen::Idle);
                }
            },
            Duration::from_millis(ms),
        );
    }

    fn retry_all(self) {
        for scan in self.pending.get_untracked() {
            self.send(scan);
        }
    }
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
fn Scanner(is_admin: bool, me: String) -> impl IntoView {
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
                let hooks = super::camera::Hooks {
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
                match super::camera::start(v, c, chosen, hooks).await {
                    Ok(()) => {
                        camera.set(CameraState::Running);
                        cameras.set(super::camera::cameras().await);
                        torch.set(super::camera::has_torch().then_some(false));
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
        super::camera::stop();
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
            super::camera::unlock_audio();
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
                            super::camera::set_torch(!on);
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

/// The full-screen answer: its colour, the big word, who, which pass; tap to go on.
#[component]
fn ResultScreen(door: Door, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        match door.screen.get() {
        Screen::Idle => ().into_any(),
        Screen::Checking(_) => view! {
            <div class="scan-result scan-checking" data-outcome="CHECKING" role="status">
                <p class="scan-result-title">{move || i18n.t("scan.checking")}</p>
            </div>
        }
        .into_any(),
        Screen::Unconfirmed(_) => view! {
            <div class="scan-result scan-unconfirmed" data-outcome="UNCONFIRMED" role="alert" on:click=move |_| door.screen.set(Screen::Idle)>
                <p class="scan-result-title">{move || i18n.t("scan.unconfirmed")}</p>
                <p>{move || i18n.t("scan.unconfirmed_hint")}</p>
            </div>
        }
        .into_any(),
        Screen::Answer(a) => {
            let class = format!("scan-result scan-{}", a.outcome.as_str().to_lowercase().replace('_', "-"));
            view! {
                <div class=class data-outcome=a.outcome.as_str() data-answer-ms=move || door.answer_ms.get().map(|ms| format!("{ms:.0}"))
                    role="alert" on:click=move |_| door.screen.set(Screen::Idle)>
                    <p class="scan-result-title">{move || i18n.t(a.outcome.title_key())}</p>
                    <AnswerDetails answer=a.clone()/>
                    <UndoButton door answer=a.clone() is_admin/>
                    {a.ticket_id.filter(|_| is_admin && a.outcome == Outcome::Ok).map(|t| view! {
                        <a class="button-secondary scan-badge" href=format!("/admin/badges.pdf?ticket={t}") target="_blank"
                            on:click=|ev| ev.stop_propagation()>{move || i18n.t("checkin.badge")}</a>
                    })}
                    <p class="scan-result-hint">{move || i18n.t("scan.tap_to_continue")}</p>
                </div>
            }
            .into_any()
        }
    }
    }
}

#[component]
fn AnswerDetails(answer: ScanAnswer) -> impl IntoView {
    let i18n = use_i18n();
    let ScanAnswer {
        holder,
        pass,
        used_at_local,
        used_by,
        valid_days,
        repeated,
        offline,
        list,
        ..
    } = answer;
    view! {
        {holder.map(|h| view! { <p class="scan-holder">{h}</p> })}
        {list.map(|l| view! { <p class="scan-list">{l}</p> })}
        {pass.map(|p| view! { <p class="scan-pass">{p}</p> })}
        {used_at_local.map(|at| {
            let by = used_by.unwrap_or_default();
            view! { <p class="scan-used">{move || i18n.t_with("scan.used_at_by", &[("when", &at), ("who", &by)])}</p> }
        })}
        {valid_days.map(|(from, until)| view! {
            <p class="scan-valid-days">{move || {
                if from == until {
                    i18n.t_with("scan.valid_on", &[("day", &i18n.date_long(from))])
                } else {
                    i18n.t_with("scan.valid_between", &[("from", &i18n.date_long(from)), ("until", &i18n.date_long(until))])
                }
            }}</p>
        })}
        {repeated.then(|| view! { <p class="scan-repeated">{move || i18n.t("scan.repeated")}</p> })}
        {offline.then(|| view! { <p class="scan-offline-answer">{move || i18n.t("scan.offline_answer")}</p> })}
    }
}

/// Undo of an entry: by the staff member who made it within the window, by an admin any time
/// (the server decides; this only offers it).
#[component]
fn UndoButton(door: Door, answer: ScanAnswer, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    let (Some(ticket_id), true) = (
        answer.ticket_id,
        !answer.offline
            && (answer.outcome == Outcome::Ok
                || (is_admin && answer.outcome == Outcome::AlreadyUsed)),
    ) else {
        return ().into_any();
    };
    let undone = RwSignal::new(false);
    view! {
        <button type="button" class="button-secondary scan-undo" disabled=move || undone.get() on:click=move |ev| {
            ev.stop_propagation();
            undone.set(true);
            spawn_local(async move {
                match super::scan_undo(ticket_id, door.current_list_id()).await {
                    Ok(()) => {
                        door.history.update(|h| h.retain(|a| a.ticket_id != Some(ticket_id) || a.outcome != Outcome::Ok));
                        door.counters.update(|v| *v += 1);
                        door.screen.set(Screen::Idle);
                        door.last_seen.set_value(None);
                        door.notice.set(None);
                    }
                    Err(e) => {
                        undone.set(false);
                        door.notice.set(Some(e));
                        door.screen.set(Screen::Idle);
                    }
                }
            });
        }>{move || i18n.t("scan.undo")}</button>
    }
    .into_any()
}

/// "Offline since 10:42 — 37 entries to send", and whether the door works without the network.
#[component]
fn OfflineBanner(door: Door, persisted: RwSignal<Option<bool>>) -> impl IntoView {
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
fn DeviceName(door: Door) -> impl IntoView {
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
fn Conflicts(door: Door) -> impl IntoView {
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

/// "10/06 09:12" in the device's time zone.
fn local_short(ms: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        format!(
            "{:02}/{:02} {:02}:{:02}",
            d.get_date(),
            d.get_month() + 1,
            d.get_hours(),
            d.get_minutes()
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%d/%m %H:%M").to_string())
            .unwrap_or_default()
    }
}

/// "10:42" in the device's time zone.
fn local_hm(ms: f64) -> String {
    local_short(ms as i64)
        .split_once(' ')
        .map(|(_, hm)| hm.to_string())
        .unwrap_or_default()
}

/// Scans sent but not confirmed: never counted as in.
#[component]
fn PendingList(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let pending = door.pending.get();
        (!pending.is_empty()).then(|| view! {
            <div class="notice notice-warning scan-pending" data-pending=pending.len().to_string()>
                <p>{move || i18n.t_with("scan.pending", &[("count", &door.pending.with(|p| p.len()).to_string())])}</p>
                <button type="button" class="button-small" on:click=move |_| door.retry_all()>{move || i18n.t("scan.retry_now")}</button>
            </div>
        })
    }
}

/// For a broken screen: the token typed or pasted.
#[component]
fn ManualEntry(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(false);
    view! {
        <form class="scan-manual" on:submit=move |ev| {
            ev.prevent_default();
            let t = token.get_untracked().trim().to_string();
            error.set(t.is_empty());
            if !t.is_empty() {
                door.submit(Some(t), None);
                token.set(String::new());
            }
        }>
            <label for="scan-token">{move || i18n.t("scan.manual")}</label>
            <div class="inline-fields">
                <input id="scan-token" name="token" autocomplete="off" autocapitalize="off" spellcheck="false"
                    prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))
                    aria-invalid=move || error.get().to_string()/>
                <button type="submit" class="button-primary">{move || i18n.t("scan.check")}</button>
            </div>
            {move || error.get().then(|| view! { <p class="field-error" role="alert">{i18n.t("scan.error.token_empty")}</p> })}
        </form>
    }
}

/// A search by name or email, for someone whose phone cannot show the code.
#[component]
fn HolderSearch(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    let query = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Result<Vec<HolderTicket>, AppError>>);
    view! {
        <form class="scan-search" on:submit=move |ev| {
            ev.prevent_default();
            let q = query.get_untracked();
            spawn_local(async move { results.set(Some(super::scan_search(q).await)); });
        }>
            <label for="scan-query">{move || i18n.t("scan.search")}</label>
            <div class="inline-fields">
                <input id="scan-query" type="search" name="query" prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
                <button type="submit" class="button-secondary">{move || i18n.t("form.search")}</button>
            </div>
        </form>
        {move || results.get().map(|r| match r {
            Ok(list) if list.is_empty() => view! { <p class="empty">{move || i18n.t("scan.search_empty")}</p> }.into_any(),
            Ok(list) => view! {
                <ul class="scan-search-results">
                    {list.into_iter().map(|t| {
                        let status = t.status;
                        view! {
                            <li data-ticket=t.ticket_id.to_string()>
                                <strong>{t.holder}</strong>" · "{t.email}" · "{t.pass}" · "
                                <span class=format!("ticket-status status-{}", status.as_str().to_lowercase())>
                                    {move || i18n.t(&format!("tickets.status.{}", status.as_str().to_lowercase()))}
                                </span>
                                {t.used_at_local.map(|at| view! { " "<small>{at}</small> })}
                                {(status == TicketStatus::Valid).then(|| view! {
                                    " "<button type="button" class="button-small button-primary" on:click=move |_| {
                                        door.submit(None, Some(t.ticket_id));
                                        results.set(None);
                                    }>{move || i18n.t("scan.let_in")}</button>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any(),
            Err(AppError::Invalid { key, .. }) => view! { <p class="field-error" role="alert">{move || i18n.t(&key)}</p> }.into_any(),
            Err(e) => view! { <p class="notice notice-error" role="alert">{e.message(i18n.locale.get())}</p> }.into_any(),
        })}
    }
}

/// The last answers, newest first, each with its undo while allowed.
#[component]
fn History(door: Door, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let history = door.history.get();
        (!history.is_empty()).then(|| view! {
            <section class="scan-history">
                <h2>{move || i18n.t("scan.history")}</h2>
                <ul>
                    {history.into_iter().map(|a| {
                        let outcome = a.outcome;
                        view! {
                            <li class=format!("scan-history-{}", outcome.as_str().to_lowercase().replace('_', "-")) data-outcome=outcome.as_str()>
                                <strong>{move || i18n.t(outcome.title_key())}</strong>
                                " "{a.holder.clone().unwrap_or_default()}" "<small>{a.pass.clone().unwrap_or_default()}</small>
                                " "<UndoButton door answer=a.clone() is_admin/>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}

/// The list the steward scans for (kept on the phone) and, on an in/out list, entry or exit.
#[component]
fn ListPicker(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let lists = door.lists.get();
        let current = door.current_list();
        let inout = current.as_ref().is_some_and(|l| l.rule == Rule::InOut);
        let current_id = current.map(|l| l.id);
        (!lists.is_empty()).then(|| view! {
            <div class="scan-list-picker">
                <label>
                    {move || i18n.t("checkin.pick_list")}" "
                    <select name="list" on:change=move |ev| {
                        let id = Uuid::parse_str(&event_target_value(&ev)).ok();
                        door.list.set(id);
                        door.direction.set(Direction::In);
                        // The person in front of the camera is scanned again, for this list.
                        door.last_seen.set_value(None);
                        store::set_chosen_list(id);
                        door.counters.update(|v| *v += 1);
                    }>
                        {lists.into_iter().map(|l| {
                            let selected = Some(l.id) == current_id;
                            view! { <option value=l.id.to_string() selected=selected>{l.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                {inout.then(|| view! {
                    <div class="scan-direction" role="group">
                        <button type="button" class="scan-direction-in" aria-pressed=move || (door.direction.get() == Direction::In).to_string()
                            on:click=move |_| { door.direction.set(Direction::In); door.last_seen.set_value(None) }>{move || i18n.t("checkin.direction.in")}</button>
                        <button type="button" class="scan-direction-out" aria-pressed=move || (door.direction.get() == Direction::Out).to_string()
                            on:click=move |_| { door.direction.set(Direction::Out); door.last_seen.set_value(None) }>{move || i18n.t("checkin.direction.out")}</button>
                    </div>
                })}
            </div>
        })
    }
}

/// The list's counters today: checked in / expected per pass, who is inside; refreshed after each
/// answer and every few seconds.
#[component]
fn Counters(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    let counts = Resource::new(
        move || (door.counters.get(), door.current_list_id()),
        |(_, list)| async move {
            match list {
                Some(list) => crate::checkin::checkin_counters(list).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <section class="scan-counters">
            <h2>{move || i18n.t("scan.counters")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match counts.await {
                        Ok(None) => ().into_any(),
                        Ok(Some(c)) => {
                            let (checked, expected) = (c.checked_in, c.expected);
                            view! {
                                <p class="scan-total" data-checked-in=checked.to_string() data-expected=expected.to_string()
                                    data-inside=c.inside.map(|n| n.to_string())>
                                    {move || i18n.t_with("scan.checked_in", &[("in", &checked.to_string()), ("expected", &expected.to_string())])}
                                    {c.inside.map(|n| view! { " · " {move || i18n.t_with("checkin.inside", &[("n", &n.to_string())])} })}
                                </p>
                                <ul class="scan-per-pass">
                                    {c.rows.into_iter().map(|c| view! {
                                        <li>
                                            <span>{c.pass}</span>
                                            <meter min="0" max=c.expected.max(1).to_string() value=c.checked_in.to_string()></meter>
                                            <span>{format!("{} / {}", c.checked_in, c.expected)}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
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
