//! The fields of attendees' data: one question's input, one seat's fields at checkout (holder's
//! name and e-mail, then the questions), and a ticket's answers on the tickets page.
use super::{Question, QuestionKind, SetTicketAnswers};
use crate::ui::prelude::*;
use uuid::Uuid;

/// One question's input, named `<prefix>[q<question id>]` (a MULTIPLE question: one checkbox per
/// option, `<prefix>[q<question id>~<n>]`), its help and its error under it. The keys start with a
/// letter: the form decoder reads a key starting with a digit as a list index.
#[component]
pub fn QuestionField(
    question: Question,
    prefix: String,
    #[prop(optional)] value: String,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let name = format!("{prefix}[q{}]", question.id);
    let q = StoredValue::new(question.clone());
    let label = move || q.with_value(|q| q.label(i18n.locale.get()).to_string());
    let help = move || q.with_value(|q| q.help(i18n.locale.get()).to_string());
    let option_text = move |n: usize| {
        q.with_value(|q| {
            let o = &q.options[n];
            if i18n.locale.get() == crate::i18n::Locale::En && !o.en.is_empty() {
                o.en.clone()
            } else {
                o.fr.clone()
            }
        })
    };
    let input = match question.kind {
        QuestionKind::Text => view! { <input type="text" name=name.clone() value=value.clone() maxlength="200"/> }.into_any(),
        QuestionKind::LongText => view! { <textarea name=name.clone() rows="3" maxlength="2000">{value.clone()}</textarea> }.into_any(),
        QuestionKind::Number => view! { <input type="text" name=name.clone() value=value.clone() inputmode="decimal" maxlength="20"/> }.into_any(),
        QuestionKind::Country => view! { <input type="text" name=name.clone() value=value.clone() maxlength="2" size="3" autocomplete="country" placeholder="FR"/> }.into_any(),
        QuestionKind::YesNo => {
            let is = |v: &str| value == v;
            view! {
                <select name=name.clone()>
                    <option value="">"—"</option>
                    <option value="yes" selected=is("yes")>{move || i18n.t("questions.answer.yes")}</option>
                    <option value="no" selected=is("no")>{move || i18n.t("questions.answer.no")}</option>
                </select>
            }
            .into_any()
        }
        QuestionKind::Choice => view! {
            <select name=name.clone()>
                <option value="">"—"</option>
                {question.options.iter().enumerate().map(|(n, o)| {
                    view! { <option value=o.fr.clone() selected=value == o.fr>{move || option_text(n)}</option> }
                }).collect_view()}
            </select>
        }
        .into_any(),
        QuestionKind::Multiple => {
            let chosen: Vec<&str> = value.lines().collect();
            view! {
                <span class="question-options">
                    {question.options.iter().enumerate().map(|(n, o)| {
                        let box_name = format!("{prefix}[q{}~{n}]", question.id);
                        view! { <label class="check"><input type="checkbox" name=box_name value=o.fr.clone() checked=chosen.contains(&o.fr.as_str())/>" "{move || option_text(n)}</label> }
                    }).collect_view()}
                </span>
            }
            .into_any()
        }
    };
    view! {
        <div class="question" data-question=question.id.to_string() data-kind=question.kind.as_str()>
            <label>
                <span class="question-label">{label}{question.required.then_some(" *")}</span>
                {input}
            </label>
            {move || Some(help()).filter(|h| !h.is_empty()).map(|h| view! { <small class="hint">{h}</small> })}
            <FieldError error field=name/>
        </div>
    }
}

/// One seat at checkout (`attendees[<key>][…]`, the key `p<pass index>s<seat>`): the holder's name and e-mail (required when the
/// pass names its tickets), then the questions asked for its pass.
#[component]
pub fn SeatFields(
    key: String,
    pass: Uuid,
    pass_name: String,
    number: usize,
    needs_names: bool,
    questions: Vec<Question>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let field = |f: &str| format!("attendees[{key}][{f}]");
    let seat = (number + 1).to_string();
    view! {
        <fieldset class="seat" data-seat=key.clone()>
            <legend>{move || i18n.t_with("questions.seat", &[("pass", &pass_name), ("n", &seat)])}</legend>
            <input type="hidden" name=field("ticket_type_id") value=pass.to_string()/>
            <label>
                {move || i18n.t("tickets.holder_name")}{needs_names.then_some(" *")}
                <input type="text" name=field("name") maxlength="120" autocomplete="name"/>
            </label>
            <FieldError error field=field("name")/>
            <label>
                {move || i18n.t("form.email")}{needs_names.then_some(" *")}
                <input type="email" name=field("email") maxlength="254" autocomplete="email"/>
            </label>
            <FieldError error field=field("email")/>
            {questions.into_iter().map(|question| view! { <QuestionField question prefix=field("answers") error/> }).collect_view()}
        </fieldset>
    }
}

/// A ticket's answers on the tickets page: a form while they may change, else the answers.
#[component]
pub fn TicketAnswersBox(ticket_id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let (save, error) = form_action::<SetTicketAnswers>();
    let answers = Resource::new(
        move || save.version().get(),
        move |_| super::ticket_answers(ticket_id),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(t) = answers.await else { return ().into_any() };
                if t.answers.is_empty() {
                    return ().into_any();
                }
                let saved = move || save.value().get().is_some_and(|r| r.is_ok());
                if !t.editable {
                    return view! {
                        <dl class="ticket-answers">
                            {t.answers.into_iter().map(|(q, a)| {
                                let locale = i18n.locale.get_untracked();
                                view! { <dt>{q.label(locale).to_string()}</dt><dd>{q.answer_text(&a, locale)}</dd> }
                            }).collect_view()}
                        </dl>
                    }
                    .into_any();
                }
                view! {
                    <details class="no-print ticket-answers-form">
                        <summary>{move || i18n.t("questions.my_answers")}</summary>
                        <ActionForm action=save attr:class="stack-form">
                            <input type="hidden" name="ticket_id" value=ticket_id.to_string()/>
                            {t.answers.into_iter().map(|(question, value)| view! { <QuestionField question prefix="answers".to_string() value error/> }).collect_view()}
                            <FieldError error field="answers"/>
                            <button type="submit" class="button-small">{move || i18n.t("form.save")}</button>
                            {move || saved().then(|| view! { <span class="saved" role="status">{move || i18n.t("questions.saved")}</span> })}
                        </ActionForm>
                    </details>
                }
                .into_any()
            })}
        </Transition>
    }
}
