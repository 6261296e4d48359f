//! The saves of one edited row, sent one after the other. A row carries one version for all its
//! cells; an admin who types a title, presses Enter and goes on to the start time before the
//! title's answer is back must not be refused as a conflict with themself. So each save waits
//! for the one before it on the same row and goes with the version that one got back; a change
//! by someone else meanwhile is still refused, as the version the first save read is stale.
//! A delete or a copy of the row waits for its saves the same way (`after_saves`).
use super::CellState;
use crate::ui::prelude::*;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A row of a table edited in place: its id and the version the server last gave it.
pub trait EditedRow: Clone + Send + Sync + 'static {
    fn id(&self) -> uuid::Uuid;
    fn version(&self) -> i64;
}

type Answer<R> = Pin<Box<dyn Future<Output = Result<R, AppError>>>>;
/// Sends a save with the row's id and the version of the row as the server last gave it.
type Sender<R> = Box<dyn FnOnce(uuid::Uuid, i64) -> Answer<R>>;
/// Told the server's answer (the cell or panel that asked stops showing it is saving).
pub type Answered = Box<dyn FnOnce(Result<(), AppError>)>;

/// One field's save, waiting for its turn or on its way.
struct Edit<R> {
    field: &'static str,
    value: String,
    /// Puts a field's new value in a row (what the table shows until the answer).
    apply: fn(&mut R, &str, &str),
    /// Taken when the save is sent.
    send: Option<Sender<R>>,
    answered: Answered,
}

/// A row with saves not yet answered: the row as the server last gave it, and the saves in
/// order (the first is on its way).
struct Line<R> {
    /// The row's signal in the table shown now (a table drawn again gets new ones).
    row: RwSignal<R>,
    saved: R,
    edits: VecDeque<Edit<R>>,
    /// Told the row as the server last gave it once its saves are all answered (a delete, a
    /// copy: they go with the version those saves got back).
    then: Vec<Box<dyn FnOnce(R)>>,
}

type Shared<R> = Rc<RefCell<Line<R>>>;

thread_local! {
    /// The rows with saves under way, by (type of row, id); a row leaves when its last save is answered.
    static LINES: RefCell<HashMap<(std::any::TypeId, uuid::Uuid), Box<dyn std::any::Any>>> =
        RefCell::new(HashMap::new());
}

/// What saves one cell of `row` (its `field`): the row shows the new value at once; the save is
/// sent when those before it on the same row are answered, with the version they got back.
/// Accepted, the row becomes what the server saved; refused, the cell says why and the row goes
/// back to the server's (with the values of the saves still to come).
pub fn cell_saver<R, Fut>(
    row: RwSignal<R>,
    state: CellState,
    field: &'static str,
    apply: fn(&mut R, &str, &str),
    send: fn(super::CellChange) -> Fut,
) -> impl Fn(String) + Copy + 'static
where
    R: EditedRow,
    Fut: Future<Output = Result<R, AppError>> + 'static,
{
    move |value: String| {
        let typed = value.clone();
        let answered = Box::new(move |result| state.settle(typed, result));
        save_field(row, field, value, apply, send, answered)
    }
}

/// Saves one field of `row` in turn with the row's other saves (see [`cell_saver`]); `answered`
/// is told the server's answer, unless a later save of the same field, still to come, replaced it.
pub fn save_field<R, Fut>(
    row: RwSignal<R>,
    field: &'static str,
    value: String,
    apply: fn(&mut R, &str, &str),
    send: fn(super::CellChange) -> Fut,
    answered: Answered,
) where
    R: EditedRow,
    Fut: Future<Output = Result<R, AppError>> + 'static,
{
    let current = row.get_untracked();
    let key = (std::any::TypeId::of::<R>(), current.id());
    let typed = value.clone();
    let edit = Edit {
        field,
        value: value.clone(),
        apply,
        send: Some(Box::new(move |id, version| {
            Box::pin(send(super::CellChange::new(id, field, &typed, version))) as Answer<R>
        })),
        answered,
    };
    row.update(|r| apply(r, field, &value));
    let (line, first) = LINES.with(|lines| {
        let mut lines = lines.borrow_mut();
        let entry = lines.entry(key).or_insert_with(|| {
            Box::new(Rc::new(RefCell::new(Line {
                row,
                saved: current,
                edits: VecDeque::new(),
                then: Vec::new(),
            })))
        });
        let Some(line) = entry.downcast_ref::<Shared<R>>() else {
            return (None, false);
        };
        let mut l = line.borrow_mut();
        l.row = row;
        l.edits.push_back(edit);
        let first = l.edits.len() == 1;
        drop(l);
        (Some(line.clone()), first)
    });
    if let (Some(line), true) = (line, first) {
        guard_leaving();
        send_first(key, line);
    }
}

/// Calls `then` with `row` as the server last gave it, once the row's saves under way are all
/// answered (at once when there are none): a delete or a copy goes with the version the admin's
/// own last save got back, and copies what it saved.
pub fn after_saves<R: EditedRow>(row: RwSignal<R>, then: impl FnOnce(R) + 'static) {
    let key = (std::any::TypeId::of::<R>(), row.get_untracked().id());
    let mut then: Option<Box<dyn FnOnce(R)>> = Some(Box::new(then));
    LINES.with(|lines| {
        if let Some(line) = lines
            .borrow()
            .get(&key)
            .and_then(|l| l.downcast_ref::<Shared<R>>())
        {
            line.borrow_mut().then.extend(then.take());
        }
    });
    if let Some(then) = then {
        then(row.get_untracked());
    }
}

/// While a save waits or is on its way, leaving the page (a reload, a plain link or form) asks
/// first, with the browser's own "changes may not be saved"; staying, the saves go on.
fn guard_leaving() {
    #[cfg(feature = "hydrate")]
    {
        thread_local!(static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if !GUARDED.with(|g| g.replace(true)) {
            // Kept for the page's life: it asks only while saves are under way.
            let _listening = window_event_listener(leptos::ev::beforeunload, |ev| {
                if LINES.with(|lines| !lines.borrow().is_empty()) {
                    ev.prevent_default();
                }
            });
        }
    }
}

/// Sends the first save of a line; its answer settles its cell and sends the next one.
fn send_first<R: EditedRow>(key: (std::any::TypeId, uuid::Uuid), line: Shared<R>) {
    // The line is never borrowed across a call out (a signal's subscribers may save again).
    let (sender, id, version) = {
        let mut l = line.borrow_mut();
        let sender = l.edits.front_mut().and_then(|e| e.send.take());
        (sender, l.saved.id(), l.saved.version())
    };
    let Some(sender) = sender else { return };
    let answer = sender(id, version);
    leptos::task::spawn_local(async move {
        let result = answer.await;
        let (row, shown, done, next, then) = {
            let mut l = line.borrow_mut();
            let done = l.edits.pop_front();
            if let Ok(saved) = &result {
                l.saved = saved.clone();
            }
            // What the table shows: the server's row with the values still on their way.
            let mut shown = l.saved.clone();
            for e in &l.edits {
                (e.apply)(&mut shown, e.field, &e.value);
            }
            // A later value of the same field answers for the cell: an earlier one refused (a
            // typo corrected at once) must not reopen it over the value now on its way.
            let done = done.filter(|d| l.edits.iter().all(|e| e.field != d.field));
            let next = !l.edits.is_empty();
            let then = if next {
                Vec::new()
            } else {
                std::mem::take(&mut l.then)
            };
            (l.row, shown, done, next, then)
        };
        if !next {
            LINES.with(|lines| lines.borrow_mut().remove(&key));
        }
        // With no save left, the row shown is the server's: what waited is told that row itself,
        // not the table's signal (the table that asked may be gone by now, its signals with it).
        let saved = (!then.is_empty()).then(|| shown.clone());
        row.set(shown);
        if let Some(done) = done {
            (done.answered)(result.map(|_| ()));
        }
        if next {
            send_first(key, line);
        }
        if let Some(saved) = saved {
            for then in then {
                then(saved.clone());
            }
        }
    });
}
