//! The door without the server: what a device keeps (`DoorData`, refreshed by `door_sync`), the
//! entries it makes offline (`OfflineEntry`, sent later, once per nonce), and the answer it gives
//! (`answer`): signature → key → revocation → the list → validity → the list's rule
//! (`checkin::rules`, the server's own) over the entries known here.
//! Its tests are in `offline/tests.rs`.
use super::{signed, Outcome};
use crate::checkin::{
    rules::{self, Decision, Gate, History, Mark},
    Direction, Rule,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// A check-in list as the door's phones keep it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorList {
    pub id: Uuid,
    pub name: String,
    pub rule: Rule,
    pub all_passes: bool,
    /// The passes' door numbers, when not all.
    pub passes: Vec<u16>,
    /// The list's own hours (ms since the epoch).
    pub opens_ms: Option<i64>,
    pub closes_ms: Option<i64>,
    /// A workshop's list: the tickets with a seat.
    pub booked: Option<Vec<Uuid>>,
}

/// A ticket's entries on one list, as far as the rule needs them: the first entry, the last entry,
/// the last mark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListMark {
    pub list: Uuid,
    pub mark: Mark,
}

/// A verifying key as devices get it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorKey {
    pub id: u8,
    /// The 32 bytes of the Ed25519 public key, hex.
    pub public_key: String,
    pub revoked: bool,
}

/// A pass as the door needs it: its number in signed codes, name and validity (Unix minutes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorPass {
    pub no: u16,
    pub name: String,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
}

/// A ticket's state at the door.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DoorStatus {
    Valid,
    Used,
    Canceled,
    Refunded,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorTicket {
    pub id: Uuid,
    pub pass_no: u16,
    /// The current issue: a code of an older issue was replaced (revoked).
    pub issue: u16,
    pub status: DoorStatus,
    /// When it was let in (ms since the epoch) and by whom ("Samir Staff · Door A").
    pub used_at_ms: Option<i64>,
    pub used_by: Option<String>,
    /// The holder's name, only when the organiser chose to put names on the door's devices.
    pub holder: Option<String>,
    /// The SHA-256 of its current legacy token (codes mailed before signed tickets).
    pub legacy_hash: Option<String>,
    /// Its entries that matter, per list.
    #[serde(default)]
    pub marks: Vec<ListMark>,
}

/// A ticket let in twice, as the devices and the back office show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorConflict {
    pub ticket_id: Uuid,
    pub pass: String,
    pub first_at_ms: Option<i64>,
    /// The same instant in the conference's time zone ("10/06 09:12").
    pub first_at_local: Option<String>,
    pub first_by: Option<String>,
    pub second_at_ms: i64,
    pub second_at_local: String,
    pub second_by: String,
    /// The list and the conference day of the double entry.
    #[serde(default)]
    pub list: Option<String>,
    #[serde(default)]
    pub day: Option<String>,
}

/// What `door_sync` answers: the keys, passes and conflicts whole, the tickets changed since the
/// cursor (all of them when `full`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DoorDelta {
    pub cursor: i64,
    pub full: bool,
    pub server_time_ms: i64,
    pub grace_minutes: i64,
    pub keys: Vec<DoorKey>,
    pub passes: Vec<DoorPass>,
    pub tickets: Vec<DoorTicket>,
    /// The nonces of the entries the server now has (the device drops them from its outbox).
    pub received: Vec<Uuid>,
    /// Double entries that involve this device.
    pub conflicts: Vec<DoorConflict>,
    /// The check-in lists not archived.
    pub lists: Vec<DoorList>,
    /// The conference's offset from UTC now, in minutes: the phone's conference day.
    pub utc_offset_minutes: i32,
}

/// An entry made at the door without the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineEntry {
    pub nonce: Uuid,
    /// The code scanned or typed…
    pub code: Option<String>,
    /// The ticket chosen by name, or the one the device read from the code (the server reads
    /// the code again and trusts only that).
    pub ticket_id: Option<Uuid>,
    /// The device's clock, ms since the epoch.
    pub at_ms: i64,
    /// What the device answered.
    pub answer: Outcome,
    /// The list it was scanned on (none: the default one) and whether it was an exit.
    #[serde(default)]
    pub list_id: Option<Uuid>,
    #[serde(default)]
    pub direction: Direction,
}

/// The most entries one sync carries (a device sends the rest at the next one).
pub const MAX_ENTRIES_PER_SYNC: usize = 200;

/// What a device knows: the last sync's data, merged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DoorData {
    pub cursor: i64,
    pub synced_at_ms: i64,
    /// The server's clock minus this device's, at the last sync: a phone whose clock is wrong
    /// still judges "valid today" (and dates its entries) by the server's time.
    pub clock_offset_ms: i64,
    pub grace_minutes: i64,
    pub keys: Vec<DoorKey>,
    pub passes: Vec<DoorPass>,
    pub tickets: HashMap<Uuid, DoorTicket>,
    pub conflicts: Vec<DoorConflict>,
    pub lists: Vec<DoorList>,
    pub utc_offset_minutes: i32,
}

impl DoorData {
    /// Takes in a sync's answer, received at `local_now_ms` by this device's clock.
    pub fn merge(&mut self, delta: DoorDelta, local_now_ms: i64) {
        self.clock_offset_ms = delta.server_time_ms.saturating_sub(local_now_ms);
        if delta.full {
            self.tickets.clear();
        }
        for t in delta.tickets {
            self.tickets.insert(t.id, t);
        }
        self.cursor = delta.cursor;
        self.synced_at_ms = delta.server_time_ms;
        self.grace_minutes = delta.grace_minutes;
        self.keys = delta.keys;
        self.passes = delta.passes;
        self.conflicts = delta.conflicts;
        self.lists = delta.lists;
        self.utc_offset_minutes = delta.utc_offset_minutes;
    }

    /// The list a scan is for: the one chosen if this device knows it, else the default one, else
    /// the first.
    pub fn list(&self, chosen: Option<Uuid>) -> Option<&DoorList> {
        chosen
            .and_then(|id| self.lists.iter().find(|l| l.id == id))
            .or_else(|| self.lists.iter().find(|l| l.id == crate::checkin::ENTRANCE))
            .or_else(|| self.lists.first())
    }

    /// Now by the server's clock, from this device's clock and the last sync's offset.
    pub fn server_now(&self, local_now_ms: i64) -> i64 {
        local_now_ms.saturating_add(self.clock_offset_ms)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn pass(&self, no: u16) -> Option<&DoorPass> {
        self.passes.iter().find(|p| p.no == no)
    }
}

/// The answer a device gives on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalAnswer {
    pub outcome: Outcome,
    pub ticket_id: Option<Uuid>,
    pub pass: Option<String>,
    pub holder: Option<String>,
    pub used_at_ms: Option<i64>,
    pub used_by: Option<String>,
    /// The list answered on, and its name.
    pub list: Option<Uuid>,
    pub list_name: Option<String>,
    pub day: String,
}

impl LocalAnswer {
    fn unknown() -> LocalAnswer {
        LocalAnswer {
            outcome: Outcome::Unknown,
            ticket_id: None,
            pass: None,
            holder: None,
            used_at_ms: None,
            used_by: None,
            list: None,
            list_name: None,
            day: String::new(),
        }
    }
}

/// What the door has in front of it.
#[derive(Clone, Copy, Debug)]
pub enum Presented<'a> {
    Code(&'a str),
    Ticket(Uuid),
}

/// An entry or exit this device made and the server has not confirmed yet (from its outbox).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalEntry {
    pub ticket_id: Uuid,
    /// The list it was made on (resolved: never the "default" placeholder).
    pub list: Uuid,
    pub mark: Mark,
}

/// The steward's choice: a list (none: the default one) and, on an in/out list, the direction.
#[derive(Clone, Copy, Debug, Default)]
pub struct DoorChoice {
    pub list: Option<Uuid>,
    pub direction: Direction,
}

/// The answer on the default list (entries).
pub fn answer(
    data: &DoorData,
    mine: &[LocalEntry],
    presented: Presented<'_>,
    now_ms: i64,
) -> LocalAnswer {
    answer_on(data, mine, presented, DoorChoice::default(), now_ms)
}

/// The answer for what is presented at `now_ms` on the steward's list, from the door data and
/// this device's entries not yet sent (`mine`).
pub fn answer_on(
    data: &DoorData,
    mine: &[LocalEntry],
    presented: Presented<'_>,
    door: DoorChoice,
    now_ms: i64,
) -> LocalAnswer {
    let mut out = LocalAnswer::unknown();
    // A list picked that this phone does not know (made after its last sync): no answer by
    // another list's rules.
    let unknown_list = door
        .list
        .is_some_and(|id| !data.lists.is_empty() && !data.lists.iter().any(|l| l.id == id));
    if unknown_list {
        return out;
    }
    let list = data.list(door.list);
    out.list = list.map(|l| l.id);
    out.list_name = list.map(|l| l.name.clone());
    out.day = rules::day_of(now_ms, data.utc_offset_minutes);
    let (ticket_id, claims) = match presented {
        Presented::Ticket(id) => (id, None),
        Presented::Code(text) if signed::is_signed(text) => {
            let key = |id: u8| {
                data.keys
                    .iter()
                    .find(|k| k.id == id && !k.revoked)
                    .and_then(|k| data_encoding::HEXLOWER.decode(k.public_key.as_bytes()).ok())
                    .and_then(|b| signed::public_key(&b))
            };
            match signed::verify(text, key) {
                Ok(c) => (c.ticket_id, Some(c)),
                Err(_) => return out,
            }
        }
        Presented::Code(text) => {
            let hash = signed::legacy_hash(text);
            match data
                .tickets
                .values()
                .find(|t| t.legacy_hash.as_deref() == Some(hash.as_str()))
            {
                Some(t) => (t.id, None),
                None => return out,
            }
        }
    };
    let known = data.tickets.get(&ticket_id);
    if known.is_none() && claims.is_none() {
        return out;
    }
    out.ticket_id = Some(ticket_id);
    let pass_no = known.map(|t| t.pass_no).or(claims.map(|c| c.pass_no));
    let pass = pass_no.and_then(|no| data.pass(no));
    out.pass = pass.map(|p| p.name.clone());
    out.holder = known.and_then(|t| t.holder.clone());
    // Revoked: a code of an older issue, or a ticket canceled since.
    let gate = match known {
        Some(t) if claims.is_some_and(|c| c.issue < t.issue) => Gate::Canceled,
        Some(t) if t.status == DoorStatus::Canceled => Gate::Canceled,
        Some(t) if t.status == DoorStatus::Refunded => Gate::Refunded,
        _ => Gate::Open,
    };
    let on_list = list.is_none_or(|l| {
        (l.all_passes || pass_no.is_some_and(|no| l.passes.contains(&no)))
            && l.booked.as_ref().is_none_or(|b| b.contains(&ticket_id))
    });
    // Valid now: the pass's window as last synced wins over the one in the code.
    let minute = now_ms.div_euclid(60_000);
    let window = match (pass, claims) {
        (Some(p), _) => (p.valid_from, p.valid_until),
        (None, Some(c)) => (c.valid_from.map(i64::from), c.valid_until.map(i64::from)),
        (None, None) => (None, None),
    };
    let opens = window
        .0
        .map_or(i64::MIN, |f| f.saturating_sub(data.grace_minutes));
    let closes = window.1.unwrap_or(i64::MAX);
    let list_open = list.is_none_or(|l| {
        l.opens_ms.is_none_or(|o| o <= now_ms) && l.closes_ms.is_none_or(|c| now_ms < c)
    });
    let gate = match gate {
        Gate::Open if !on_list => Gate::NotOnList,
        Gate::Open if minute < opens || minute >= closes || !list_open => Gate::NotValidNow,
        g => g,
    };
    // Entries known: as of the last sync, and this device's own not sent yet.
    let list_id = list.map_or(crate::checkin::ENTRANCE, |l| l.id);
    let synced = known
        .into_iter()
        .flat_map(|t| t.marks.iter())
        .filter(|m| m.list == list_id)
        .map(|m| &m.mark);
    let own = mine
        .iter()
        .filter(|e| e.ticket_id == ticket_id && e.list == list_id)
        .map(|e| &e.mark);
    // A ticket let in before lists existed, on a phone whose data predates them: its first entry
    // stands for the default list's.
    let legacy = known
        .filter(|t| {
            t.marks.is_empty()
                && t.status == DoorStatus::Used
                && list_id == crate::checkin::ENTRANCE
        })
        .and_then(|t| {
            let at_ms = t.used_at_ms?;
            Some(Mark {
                at_ms,
                day: rules::day_of(at_ms, data.utc_offset_minutes),
                direction: Direction::In,
                by: t.used_by.clone(),
            })
        });
    let history = History::of(synced.chain(own).chain(legacy.as_ref()), &out.day);
    let rule = list.map_or(Rule::Daily, |l| l.rule);
    out.outcome = match rules::decide(rule, door.direction, gate, &history) {
        Decision::LetIn => Outcome::Ok,
        Decision::LetOut => Outcome::Exit,
        Decision::Already(m) => {
            out.used_at_ms = Some(m.at_ms);
            out.used_by = m.by;
            Outcome::AlreadyUsed
        }
        Decision::Refuse(Gate::Canceled) => Outcome::Canceled,
        Decision::Refuse(Gate::Refunded) => Outcome::Refunded,
        Decision::Refuse(Gate::NotOnList) => Outcome::NotOnList,
        Decision::Refuse(Gate::NotValidNow) => Outcome::NotValidToday,
        Decision::Refuse(Gate::Unknown | Gate::Open) => Outcome::Unknown,
    };
    out
}

#[cfg(all(test, feature = "ssr"))]
mod tests;
