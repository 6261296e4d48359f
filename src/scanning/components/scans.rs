//! The door's scans: a code seen, sent to the server (retried), the answer shown.
use super::*;

impl Door {
    /// A code decoded from the camera: sent once while it stays in view.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(crate) fn seen(self, text: String) {
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

    pub(crate) fn submit(self, token: Option<String>, ticket_id: Option<Uuid>) {
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

    pub(crate) fn forget(self, scan_id: Uuid) {
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
            let place = crate::scanning::ScanPlace {
                scan_id: scan.scan_id,
                list_id: scan.list_id,
                direction: Some(scan.direction.as_str().into()),
            };
            let result = match (&scan.token, scan.ticket_id) {
                (Some(token), _) => crate::scanning::scan_redeem(token.clone(), place).await,
                (None, Some(id)) => crate::scanning::scan_redeem_ticket(id, place).await,
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

    pub(crate) fn show(self, answer: ScanAnswer) {
        #[cfg(feature = "hydrate")]
        crate::scanning::camera::signal(answer.outcome);
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

    pub(crate) fn retry_all(self) {
        for scan in self.pending.get_untracked() {
            self.send(scan);
        }
    }
}
