//! `/admin/programme`: the talks edited in place, overlaps flagged, descriptions in a side panel.
use super::ui::{CellState, EditableCell, SpreadsheetPage};
use crate::admin::ui::{after_saves, cell_saver, save_field, EditedRow};
use crate::ui::prelude::*;

/// `/admin/programme`: the talks as a table edited in place; overlaps in a room are flagged.
#[component]
pub fn AdminProgrammePage() -> impl IntoView {
    view! {
        <SpreadsheetPage title="admin.programme" class="admin-page admin-programme" load=super::talks::admin_talks
            table=|list| view! { <TalksTable list/> }/>
    }
}

#[component]
fn TalksTable(list: Vec<super::talks::TalkRow>) -> impl IntoView {
    let i18n = use_i18n();
    let rows = RwSignal::new(list.into_iter().map(RwSignal::new).collect::<Vec<_>>());
    let notice = RwSignal::new(None::<AppError>);
    let panel = RwSignal::new(None::<RwSignal<super::talks::TalkRow>>);
    let add = move |_| {
        leptos::task::spawn_local(async move {
            match super::talks::admin_create_talk().await {
                Ok(row) => rows.update(|r| r.push(RwSignal::new(row))),
                Err(e) => notice.set(Some(e)),
            }
        });
    };
    let headers = [
        "admin.talks.title",
        "admin.talks.theme",
        "admin.talks.start",
        "admin.talks.end",
        "admin.talks.room",
        "admin.talks.speaker",
        "admin.talks.saved_by",
        "admin.actions",
    ];
    view! {
        <ScrollTable error=notice class="data-table talks-table" keys=headers>
            <For each=move || rows.get() key=|r| r.get_untracked().id let:row>
                <TalkLine row rows notice panel/>
            </For>
        </ScrollTable>
        {move || panel.get().map(|row| view! { <DescriptionPanel row panel/> })}
        <button type="button" class="button-secondary add-talk" on:click=add>{move || i18n.t("admin.talks.add")}</button>
    }
}

#[component]
fn TalkLine(
    row: RwSignal<super::talks::TalkRow>,
    rows: RwSignal<Vec<RwSignal<super::talks::TalkRow>>>,
    notice: RwSignal<Option<AppError>>,
    panel: RwSignal<Option<RwSignal<super::talks::TalkRow>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let clashes = move || {
        let all: Vec<_> = rows.with(|r| r.iter().map(|s| s.get()).collect());
        super::talks::overlaps(&all, &row.get())
    };
    // Set from the confirmed click to the answer (which may first wait for the row's saves).
    let deleting = RwSignal::new(false);
    let delete = move |_| {
        let talk = row.get_untracked();
        let question = i18n.t_with(
            "admin.talks.delete_confirm",
            &[
                ("title", &talk.title),
                ("count", &talk.saved_by.to_string()),
            ],
        );
        if !crate::ui::confirm(&question) {
            return;
        }
        deleting.set(true);
        after_saves(row, move |talk| {
            leptos::task::spawn_local(async move {
                let done = super::talks::admin_delete_talk(talk.id, talk.version).await;
                deleting.set(false);
                match done {
                    Ok(()) => rows.update(|r| r.retain(|s| s.get_untracked().id != talk.id)),
                    Err(e) => notice.set(Some(e)),
                }
            })
        });
    };
    let duplicate = move |_| {
        after_saves(row, move |talk| {
            let id = talk.id;
            leptos::task::spawn_local(async move {
                match super::talks::admin_duplicate_talk(id).await {
                    Ok(copy) => rows.update(|r| {
                        let at = r
                            .iter()
                            .position(|s| s.get_untracked().id == id)
                            .map_or(r.len(), |i| i + 1);
                        r.insert(at, RwSignal::new(copy));
                    }),
                    Err(e) => notice.set(Some(e)),
                }
            })
        });
    };
    view! {
        <tr data-talk=move || row.get().title class:talk-overlap=move || !clashes().is_empty()>
            {super::talks::FIELDS.map(|field| view! { <TalkCell row field/> }).collect_view()}
            <td class="saved-by">{move || row.get().saved_by}</td>
            <td>
                {move || {
                    let c = clashes();
                    (!c.is_empty()).then(|| view! {
                        <p class="overlap-warning" role="note">{i18n.t_with("admin.talks.overlap", &[("titles", &c.join(", "))])}</p>
                    })
                }}
                <button type="button" class="button-small edit-description" on:click=move |_| panel.set(Some(row))>{move || i18n.t("admin.talks.description")}</button>
                <button type="button" class="button-small duplicate-talk" on:click=duplicate>{move || i18n.t("admin.talks.duplicate")}</button>
                <button type="button" class="button-small button-danger" disabled=move || deleting.get() on:click=delete>{move || i18n.t("admin.talks.delete")}</button>
            </td>
        </tr>
    }
}

/// A talk's description in a side panel: edited in a text area with a live preview, as attendees
/// will read it; saved with the version the admin opened (a change meanwhile is refused).
#[component]
fn DescriptionPanel(
    row: RwSignal<super::talks::TalkRow>,
    panel: RwSignal<Option<RwSignal<super::talks::TalkRow>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let draft = RwSignal::new(row.get_untracked().description);
    let error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    // In turn with the row's cell saves: the version the last of them got back goes with it.
    let save = move |_| {
        saving.set(true);
        let answered = Box::new(move |result: Result<(), AppError>| {
            saving.set(false);
            match result {
                Ok(()) => {
                    error.set(None);
                    panel.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
        let (text, update) = (draft.get_untracked(), super::talks::admin_update_talk);
        save_field(row, "description", text, apply, update, answered);
    };
    view! {
        <aside class="side-panel description-panel" role="dialog" aria-label=move || i18n.t("admin.talks.description")>
            <h2>{move || row.get().title}</h2>
            <label class="field">{move || i18n.t("admin.talks.description")}
                <textarea rows="12" prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
            </label>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e.message(i18n.locale.get())}</p> })}
            <h3>{move || i18n.t("admin.talks.preview")}</h3>
            <div class="description-preview"><crate::programme::talk_page::TalkDescription text=draft/></div>
            <div class="panel-actions">
                <button type="button" class="button-primary save-description" on:click=save disabled=move || saving.get()>{move || i18n.t("form.save")}</button>
                <button type="button" class="button-secondary" on:click=move |_| panel.set(None)>{move || i18n.t("form.cancel")}</button>
            </div>
        </aside>
    }
}

#[component]
fn TalkCell(row: RwSignal<super::talks::TalkRow>, field: &'static str) -> impl IntoView {
    let state = CellState::new();
    let value_of = move |r: &super::talks::TalkRow| match field {
        "title" => r.title.clone(),
        "theme" => r.theme.clone(),
        "start_at" => r.start_at.clone(),
        "end_at" => r.end_at.clone(),
        "location" => r.location.clone(),
        _ => r.speaker_name.clone(),
    };
    let save = cell_saver(row, state, field, apply, super::talks::admin_update_talk);
    let kind = if matches!(field, "start_at" | "end_at") {
        "datetime-local"
    } else {
        "text"
    };
    view! {
        <EditableCell field kind state
            text=Signal::derive(move || {
                let v = value_of(&row.get());
                if kind == "datetime-local" { v.replace('T', " ") } else { v }
            })
            raw=Signal::derive(move || value_of(&row.get()))
            on_save=Callback::new(save)/>
    }
}

/// Puts a cell's new value in a talk's row.
fn apply(r: &mut super::talks::TalkRow, field: &str, value: &str) {
    let value = value.to_string();
    match field {
        "title" => r.title = value,
        "theme" => r.theme = value,
        "start_at" => r.start_at = value,
        "end_at" => r.end_at = value,
        "location" => r.location = value,
        "description" => r.description = value,
        _ => r.speaker_name = value,
    }
}

impl EditedRow for super::talks::TalkRow {
    fn id(&self) -> uuid::Uuid {
        self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
}
