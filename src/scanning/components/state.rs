//! The door's state (`Door`, `Screen`) and how it answers: offline answers, sync.
use super::*;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Screen {
    Idle,
    Checking(Uuid),
    Unconfirmed(Uuid),
    Answer(ScanAnswer),
}

/// The door's state and what it does; every part is a signal, so it is `Copy`.
#[derive(Clone, Copy)]
pub(crate) struct Door {
    pub(crate) screen: RwSignal<Screen>,
    pub(crate) history: RwSignal<Vec<ScanAnswer>>,
    pub(crate) pending: RwSignal<Vec<PendingScan>>,
    pub(crate) inflight: RwSignal<Vec<Uuid>>,
    pub(crate) notice: RwSignal<Option<AppError>>,
    pub(crate) counters: RwSignal<u32>,
    pub(crate) last_seen: StoredValue<Option<(String, f64)>>,
    /// From the code seen to the answer on screen, in ms (shown small; read by the tests).
    pub(crate) answer_ms: RwSignal<Option<f64>>,
    /// The last sync's data: keys, passes, tickets (empty until the first sync).
    pub(crate) data: StoredValue<DoorData>,
    /// Whether there is door data to answer from without the server.
    pub(crate) ready: RwSignal<bool>,
    /// Entries answered here without the server, not yet received by it.
    pub(crate) outbox: RwSignal<Vec<OfflineEntry>>,
    /// Since when (ms) the server cannot be reached; `None` while it can.
    pub(crate) offline_since: RwSignal<Option<f64>>,
    /// Double entries this device took part in, from the last sync.
    pub(crate) conflicts: RwSignal<Vec<offline::DoorConflict>>,
    syncing: StoredValue<bool>,
    /// The staff member's name, for this device's own entries ("Samir Staff").
    pub(crate) me: StoredValue<String>,
    /// "Appareil" / "Device", for the device's name until the steward gives one.
    pub(crate) device_word: StoredValue<String>,
    /// The check-in list the steward picked (kept on the phone) and, on an in/out list, whether
    /// scans are exits.
    pub(crate) list: RwSignal<Option<Uuid>>,
    pub(crate) direction: RwSignal<Direction>,
    /// The lists the server offers (or, offline, the last sync's).
    pub(crate) lists: RwSignal<Vec<DoorList>>,
}

impl Door {
    pub(crate) fn new() -> Door {
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
    pub(crate) fn current_list(self) -> Option<DoorList> {
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
    pub(crate) fn current_list_id(self) -> Option<Uuid> {
        if self.lists.with(Vec::is_empty) {
            return self.list.get();
        }
        self.current_list().map(|l| l.id)
    }

    /// The direction of the next scan (always IN but on an in/out list).
    pub(crate) fn current_direction(self) -> Direction {
        match self.current_list() {
            Some(l) if l.rule == Rule::InOut => self.direction.get(),
            _ => Direction::In,
        }
    }

    /// Answers on this device alone: the entry goes to the outbox (kept on the device before the
    /// answer shows), and the answer takes the screen as an online one would.
    pub(crate) fn answer_offline(self, scan: PendingScan) {
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
    pub(crate) fn answered(self, scan: &PendingScan, answer: ScanAnswer) {
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
    pub(crate) fn sync(self) {
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
            match crate::scanning::door_sync(store::device_id(), label, cursor, entries).await {
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
}
