//! `/admin/questions`: the questions asked per ticket at checkout. One form per question (a new
//! one first), plain forms that work without JavaScript.
use super::{AdminQuestionArchive, AdminQuestionSave, Question, QuestionKind};
use crate::admin::ui::AdminPage;
use crate::ui::prelude::*;
use uuid::Uuid;

const FIELDS: &[&str] = &[
    "kind", "label_fr", "label_en", "help_fr", "help_en", "options", "passes", "position",
];

#[component]
pub fn AdminQuestionsPage() -> impl IntoView {
    let i18n = use_i18n();
    let (save, error) = form_action::<AdminQuestionSave>();
    let archive = ServerAction::<AdminQuestionArchive>::new();
    let list = Resource::new(
        move || (save.version().get(), archive.version().get()),
        |_| super::admin_questions(),
    );
    view! {
        <AdminPage title="questions.admin.title" class="questions-admin">
            <p class="hint">{move || i18n.t("questions.admin.hint")}</p>
            <FormError error fields=FIELDS/>
            {loaded(list, move |admin| {
                let passes = admin.passes.clone();
                view! {
                    <details class="card question-new" open=admin.questions.is_empty()>
                        <summary>{move || i18n.t("questions.admin.new")}</summary>
                        <QuestionForm question=None passes=passes.clone() save error/>
                    </details>
                    <Table class="data-table questions-table" keys=["questions.admin.label", "questions.admin.kind", "questions.admin.required", "questions.admin.passes", ""]>
                        {admin.questions.into_iter().map(|q| view! { <QuestionLine q passes=passes.clone() save error archive/> }).collect_view()}
                    </Table>
                }
            })}
        </AdminPage>
    }
}

#[component]
fn QuestionLine(
    q: Question,
    passes: Vec<(Uuid, String)>,
    save: ServerAction<AdminQuestionSave>,
    error: Signal<Option<AppError>>,
    archive: ServerAction<AdminQuestionArchive>,
) -> impl IntoView {
    let i18n = use_i18n();
    let names = if q.all_passes {
        i18n.t("questions.admin.all_passes")
    } else {
        passes
            .iter()
            .filter(|(id, _)| q.passes.contains(id))
            .map(|(_, n)| n.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (id, archived, kind, required) = (q.id, q.archived, q.kind, q.required);
    let label = q.label_fr.clone();
    view! {
        <tr data-question=id.to_string() class:archived=archived>
            <td>
                <details>
                    <summary>{label}</summary>
                    <QuestionForm question=Some(q) passes save error/>
                </details>
            </td>
            <td>{move || i18n.t(&kind.label_key())}</td>
            <td>{move || if required { i18n.t("questions.admin.yes") } else { String::new() }}</td>
            <td>{names}</td>
            <td>
                <ActionForm action=archive attr:class="inline-form">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="archived" value=(!archived).to_string()/>
                    <button type="submit" class="button-secondary question-archive">
                        {move || i18n.t(if archived { "questions.admin.restore" } else { "questions.admin.archive" })}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// A question's form: a new one when `question` is none.
#[component]
fn QuestionForm(
    question: Option<Question>,
    passes: Vec<(Uuid, String)>,
    save: ServerAction<AdminQuestionSave>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let q = StoredValue::new(question.clone());
    let get =
        move |f: fn(&Question) -> String| q.with_value(|q| q.as_ref().map(f).unwrap_or_default());
    let kind = question.as_ref().map_or(QuestionKind::Text, |q| q.kind);
    let chosen: Vec<Uuid> = question
        .as_ref()
        .map(|q| q.passes.clone())
        .unwrap_or_default();
    let all = question.as_ref().is_none_or(|q| q.all_passes);
    let (required, on_badge) = question
        .as_ref()
        .map_or((false, false), |q| (q.required, q.on_badge));
    // The passes as the server reads them: `all`, or ids separated by commas (one hidden field
    // kept in step with the boxes; without JavaScript, "all" stays).
    let picked = RwSignal::new(if all {
        "all".to_string()
    } else {
        chosen
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    let toggle = move |id: Uuid, on: bool| {
        picked.update(|p| {
            let mut ids: Vec<String> = p
                .split(',')
                .filter(|s| !s.is_empty() && *s != "all")
                .map(str::to_string)
                .collect();
            ids.retain(|s| *s != id.to_string());
            if on {
                ids.push(id.to_string());
            }
            *p = if ids.is_empty() {
                "all".into()
            } else {
                ids.join(",")
            };
        })
    };
    view! {
        <ActionForm action=save attr:class="stack-form question-form">
            {question.as_ref().map(|q| view! { <input type="hidden" name="id" value=q.id.to_string()/> })}
            <Labelled label="questions.admin.kind">
                <select name="kind">
                    {QuestionKind::ALL.iter().map(|k| {
                        let k = *k;
                        view! { <option value=k.as_str() selected=k == kind>{move || i18n.t(&k.label_key())}</option> }
                    }).collect_view()}
                </select>
            </Labelled>
            <Labelled label="questions.admin.label_fr"><input type="text" name="label_fr" maxlength="200" value=get(|q| q.label_fr.clone())/></Labelled>
            <FieldError error field="label_fr"/>
            <Labelled label="questions.admin.label_en"><input type="text" name="label_en" maxlength="200" value=get(|q| q.label_en.clone())/></Labelled>
            <FieldError error field="label_en"/>
            <Labelled label="questions.admin.help_fr"><input type="text" name="help_fr" maxlength="500" value=get(|q| q.help_fr.clone())/></Labelled>
            <Labelled label="questions.admin.help_en"><input type="text" name="help_en" maxlength="500" value=get(|q| q.help_en.clone())/></Labelled>
            <Labelled label="questions.admin.options">
                <textarea name="options" rows="4" placeholder="Végétarien | Vegetarian">{get(|q| super::options_text(&q.options))}</textarea>
            </Labelled>
            <small class="hint">{move || i18n.t("questions.admin.options_hint")}</small>
            <FieldError error field="options"/>
            <label class="check"><input type="checkbox" name="required" checked=required/>" "{move || i18n.t("questions.admin.required")}</label>
            <label class="check"><input type="checkbox" name="on_badge" checked=on_badge/>" "{move || i18n.t("questions.admin.on_badge")}</label>
            <fieldset class="question-passes">
                <legend>{move || i18n.t("questions.admin.passes")}</legend>
                <input type="hidden" name="passes" prop:value=move || picked.get() value=picked.get_untracked()/>
                {passes.into_iter().map(|(id, name)| {
                    let on = chosen.contains(&id);
                    view! { <label class="check"><input type="checkbox" checked=on on:change=move |ev| toggle(id, event_target_checked(&ev))/>" "{name}</label> }
                }).collect_view()}
                <small class="hint">{move || i18n.t("questions.admin.passes_hint")}</small>
            </fieldset>
            <FieldError error field="passes"/>
            <Labelled label="questions.admin.position"><input type="number" name="position" min="0" max="10000" value=get(|q| q.position.to_string())/></Labelled>
            <FieldError error field="position"/>
            <SubmitButton label="form.save" pending=save.pending()/>
        </ActionForm>
    }
}
