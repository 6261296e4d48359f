//! The back office's shared UI: its tabs, the shell of a spreadsheet page, and the cells edited in
//! place (`EditableCell`, `CheckCell`, `SelectCell`) with their `CellState`.
use crate::ui::prelude::*;

mod saves;
pub use saves::{after_saves, cell_saver, save_field, EditedRow};

/// One cell edited in a back-office table, as the browser sends it (flat in the request:
/// `id`, `field`, `value`, `version`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CellChange {
    pub id: uuid::Uuid,
    pub field: String,
    pub value: String,
    /// The row's version the editor read.
    #[serde(deserialize_with = "whole")]
    pub version: i64,
}

/// A whole number given as a number or as text (a flattened form field arrives as text).
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Whole {
        Number(i64),
        Text(String),
    }
    match <Whole as serde::Deserialize>::deserialize(d)? {
        Whole::Number(n) => Ok(n),
        Whole::Text(t) => t.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl CellChange {
    pub fn new(id: uuid::Uuid, field: &str, value: &str, version: i64) -> Self {
        let (field, value) = (field.to_string(), value.to_string());
        CellChange {
            id,
            field,
            value,
            version,
        }
    }

    /// The edit made by `by`, for the services.
    #[cfg(feature = "ssr")]
    pub fn by(&self, by: uuid::Uuid) -> crate::server::state::CellEdit<'_> {
        crate::server::state::CellEdit::new(by, self.id, &self.field, &self.value, self.version)
    }
}

/// A table cell of (name, value) pairs: an audit line's meta, an attendee's answers.
#[component]
pub fn PairsCell(
    pairs: Vec<(String, String)>,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let pairs = pairs
        .into_iter()
        .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> });
    view! { <td><dl class=format!("meta {class}")>{pairs.collect_view()}</dl></td> }
}

/// The "from" and "to" dates of a back-office search form, filled in from the page's query.
#[component]
pub fn DateFilter() -> impl IntoView {
    let i18n = use_i18n();
    let query = leptos_router::hooks::use_query_map();
    view! {
        <label class="date-filter">{move || i18n.t("admin.orders_from")}
            <input type="date" name="from" value=move || query.read().get("from")/>
        </label>
        <label class="date-filter">{move || i18n.t("admin.orders_to")}
            <input type="date" name="to" value=move || query.read().get("to")/>
        </label>
    }
}

/// A back-office page: its title (the tab's and the heading, a translation key), the back
/// office's tabs, then the page; `class` adds to `admin-page`.
#[component]
pub fn AdminPage(
    title: &'static str,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let i18n = use_i18n();
    let class = if class.is_empty() {
        "admin-page".to_string()
    } else {
        format!("admin-page {class}")
    };
    view! {
        <Title text=page_title(move || i18n.t(title))/>
        <section class=class>
            <AdminTabs/>
            <h1>{move || i18n.t(title)}</h1>
            {children()}
        </section>
    }
}

#[component]
pub(crate) fn AdminTabs() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="admin-tabs">
            <a href="/admin">{move || i18n.t("dashboard.title")}</a>
            <a href="/admin/users">{move || i18n.t("admin.users")}</a>
            <a href="/admin/programme">{move || i18n.t("admin.programme")}</a>
            <a href="/admin/schedule">{move || i18n.t("schedule.admin.title")}</a>
            <a href="/admin/orders">{move || i18n.t("admin.orders")}</a>
            <a href="/admin/tickets">{move || i18n.t("admin.passes")}</a>
            <a href="/admin/vouchers">{move || i18n.t("vouchers.admin.title")}</a>
            <a href="/admin/invoices">{move || i18n.t("invoice.admin.title")}</a>
            <a href="/admin/waitlist">{move || i18n.t("waitlist.admin.title")}</a>
            <a href="/admin/attendees">{move || i18n.t("admin.attendees")}</a>
            <a href="/admin/questions">{move || i18n.t("questions.admin.title")}</a>
            <a href="/admin/messages">{move || i18n.t("messages.admin.title")}</a>
            <a href="/admin/audit">{move || i18n.t("admin.audit")}</a>
            <a href="/admin/mail">{move || i18n.t("admin.mail")}</a>
            <a href="/admin/privacy">{move || i18n.t("privacy.admin.title")}</a>
            <a href="/admin/door">{move || i18n.t("door.admin.title")}</a>
            <a href="/admin/api">{move || i18n.t("api.admin.title")}</a>
            <a href="/scan">{move || i18n.t("nav.scan")}</a>
        </nav>
    }
}

/// Shown by role-guarded pages to a caller the server refused.
pub fn is_refusal(e: &AppError) -> bool {
    matches!(e, AppError::Forbidden | AppError::Unauthorized)
}

/// The shell of a page holding a table edited in place: tabs, title, the editing hint, the rows
/// loaded once by `load`, then drawn by `table`.
#[component]
pub(crate) fn SpreadsheetPage<T, Fut, V>(
    title: &'static str,
    class: &'static str,
    load: fn() -> Fut,
    table: fn(Vec<T>) -> V,
) -> impl IntoView
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>, AppError>> + Send + 'static,
    V: IntoView + 'static,
{
    let i18n = use_i18n();
    let rows = Resource::new(|| (), move |_| load());
    view! {
        <Title text=page_title(move || i18n.t(title))/>
        <section class=class>
            <AdminTabs/>
            <h1>{move || i18n.t(title)}</h1>
            <p class="hint">{move || i18n.t("admin.passes.hint")}</p>
            {loaded(rows, move |list| table(list).into_any())}
        </section>
    }
}

/// The state of one spreadsheet cell, owned by whoever saves it.
#[derive(Clone, Copy)]
pub struct CellState {
    pub editing: RwSignal<bool>,
    pub draft: RwSignal<String>,
    pub error: RwSignal<Option<AppError>>,
    pub saving: RwSignal<bool>,
    /// The value the server last refused, while the cell shows why.
    pub refused: RwSignal<Option<String>>,
}

impl Default for CellState {
    fn default() -> CellState {
        CellState::new()
    }
}

impl CellState {
    pub fn new() -> CellState {
        CellState {
            editing: RwSignal::new(false),
            draft: RwSignal::new(String::new()),
            error: RwSignal::new(None),
            saving: RwSignal::new(false),
            refused: RwSignal::new(None),
        }
    }

    /// Sends `value` to `on_save`; the cell shows it is saving until [`settle`](Self::settle).
    pub fn save(self, on_save: Callback<String>, value: String) {
        self.saving.set(true);
        on_save.run(value)
    }

    /// The server's answer: accepted closes the cell; refused reopens it with what was typed and why.
    pub fn settle(self, typed: String, result: Result<(), AppError>) {
        self.saving.set(false);
        match result {
            Ok(()) => {
                self.error.set(None);
                self.refused.set(None);
            }
            Err(e) => {
                self.error.set(Some(e));
                self.refused.set(Some(typed.clone()));
                self.draft.set(typed);
                self.editing.set(true);
            }
        }
    }
}

/// Arrow keys move between the cells of an editable table, as in a spreadsheet: left and right
/// along the row, up and down to the same field of the row above or below. True when it moved.
fn move_focus(ev: &leptos::ev::KeyboardEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::web_sys::{Element, HtmlElement};
        let Some(cell) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<Element>().ok())
        else {
            return false;
        };
        let field = cell.get_attribute("data-field").unwrap_or_default();
        let row = || cell.closest("tr").ok().flatten();
        let same_field = |r: Option<Element>| {
            r.and_then(|r| {
                r.query_selector(&format!("td.cell[data-field=\"{field}\"]"))
                    .ok()
                    .flatten()
            })
        };
        let target = match ev.key().as_str() {
            "ArrowLeft" => cell
                .previous_element_sibling()
                .filter(|e| e.class_list().contains("cell")),
            "ArrowRight" => cell
                .next_element_sibling()
                .filter(|e| e.class_list().contains("cell")),
            "ArrowUp" => same_field(row().and_then(|r| r.previous_element_sibling())),
            "ArrowDown" => same_field(row().and_then(|r| r.next_element_sibling())),
            _ => None,
        };
        target
            .and_then(|t| t.dyn_into::<HtmlElement>().ok())
            .is_some_and(|t| t.focus().is_ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// One cell edited in place: click or Enter edits, Enter or leaving saves, Escape cancels. The
/// owner's `on_save` shows the new value at once and calls [`CellState::settle`] with the answer;
/// a refusal puts the old value back with the reason in the cell (and a reload link on a conflict).
#[component]
pub fn EditableCell(
    field: &'static str,
    kind: &'static str,
    #[prop(into)] text: Signal<String>,
    #[prop(into)] raw: Signal<String>,
    state: CellState,
    on_save: Callback<String>,
) -> impl IntoView {
    let CellState {
        editing,
        draft,
        error,
        saving,
        refused,
    } = state;
    let input = NodeRef::<leptos::html::Input>::new();
    let save = move |value: String| {
        editing.set(false);
        if value == raw.get_untracked() && error.get_untracked().is_none() {
            return;
        }
        state.save(on_save, value);
    };
    let start = move || {
        if !editing.get_untracked() {
            draft.set(raw.get_untracked());
            editing.set(true);
        }
    };
    Effect::new(move |_| {
        if editing.get() {
            #[cfg(feature = "hydrate")]
            if let Some(el) = input.get() {
                let _ = el.focus();
            }
        }
    });
    view! {
        <td class="cell" data-field=field tabindex="0"
            class:cell-editing=move || editing.get() class:cell-saving=move || saving.get() class:cell-error=move || error.get().is_some()
            on:click=move |_| start()
            on:keydown=move |ev| if !editing.get_untracked() {
                if ev.key() == "Enter" { ev.prevent_default(); start() } else if move_focus(&ev) { ev.prevent_default() }
            }>
            {move || if editing.get() {
                view! {
                    <input node_ref=input type=kind class="cell-input" prop:value=move || draft.get()
                        aria-invalid=move || error.get().is_some().to_string()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=move |ev| match ev.key().as_str() {
                            // Stopped here: the cell's own Enter (start editing) must not see it.
                            "Enter" => { ev.prevent_default(); ev.stop_propagation(); save(draft.get_untracked()) }
                            "Escape" => { ev.prevent_default(); ev.stop_propagation(); editing.set(false); error.set(None) }
                            _ => {}
                        }
                        // Leaving a refused cell as it was does not send it again (two refused
                        // cells would take the focus from each other and resend for ever); Enter does.
                        on:blur=move |_| if editing.get_untracked() {
                            let value = draft.get_untracked();
                            if refused.get_untracked().as_ref() == Some(&value) { editing.set(false) } else { save(value) }
                        }/>
                }
                .into_any()
            } else {
                view! { <span class="cell-value">{move || text.get()}</span> }.into_any()
            }}
            <CellError error/>
        </td>
    }
}

/// The reason a cell's save was refused, under its value; a conflict (someone else saved the row
/// meanwhile) comes with a link that reloads the page.
#[component]
pub fn CellError(error: RwSignal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let location = leptos_router::hooks::use_location();
    move || {
        error.get().map(|e| {
            let conflict = e.message_key().ends_with(".changed_meanwhile");
            view! {
                <p class="field-error" role="alert">
                    {e.message(i18n.locale.get())}
                    {conflict.then(|| view! { " "<a href=location.pathname.get_untracked() rel="external">{move || i18n.t("admin.reload")}</a> })}
                </p>
            }
        })
    }
}

/// A yes/no cell: saved as soon as it is ticked or unticked ("true"/"false"); the owner's
/// `on_save` settles `state` with the server's answer, a refusal shows its reason in the cell.
#[component]
pub fn CheckCell(
    field: &'static str,
    /// The translation key of the box's accessible name.
    label: &'static str,
    #[prop(into)] checked: Signal<bool>,
    state: CellState,
    on_save: Callback<String>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ControlCell field state>
            <input type="checkbox" checked=move || checked.get() prop:checked=move || checked.get()
                disabled=move || disabled.get() aria-label=move || i18n.t(label)
                on:change=move |ev| state.save(on_save, event_target_checked(&ev).to_string())/>
        </ControlCell>
    }
}

/// The cell around a control saved as soon as it changes: marked while saving and when refused,
/// with the refusal's reason under the control.
#[component]
fn ControlCell(field: &'static str, state: CellState, children: Children) -> impl IntoView {
    let CellState { error, saving, .. } = state;
    view! {
        <td class="cell" data-field=field class:cell-error=move || error.get().is_some() class:cell-saving=move || saving.get()>
            {children()}
            <CellError error/>
        </td>
    }
}

/// A cell choosing one of `options` (value, text): saved as soon as another is picked.
#[component]
pub fn SelectCell(
    field: &'static str,
    /// The translation key of the list's accessible name.
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    #[prop(optional, into)] disabled: Signal<bool>,
    state: CellState,
    on_save: Callback<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ControlCell field state>
            <select aria-label=move || i18n.t(label) disabled=move || disabled.get()
                on:change=move |ev| state.save(on_save, event_target_value(&ev))>
                {move || options.get().into_iter().map(|(v, text)| {
                    let on = v.clone();
                    let is = move || value.get() == on;
                    view! { <option value=v selected=is.clone() prop:selected=is>{text}</option> }
                }).collect_view()}
            </select>
        </ControlCell>
    }
}
