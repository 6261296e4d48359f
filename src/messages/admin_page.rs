//! `/admin/messages`: a message to attendees written in French and English, its recipients chosen
//! (passes, order status, checked in or not, the answer to a question), previewed (how many, in
//! which language, a few addresses masked), tried on oneself, then sent now or scheduled; below,
//! every message with its delivery figures.
use super::{
    admin_message_cancel, admin_message_preview, admin_message_send, admin_message_test,
    admin_messages, CheckedIn, MessageDraft, MessageKind, MessagePreview, MessageRow,
    MessageStatus, OrderFilter, PassChoice, QuestionChoice,
};
use crate::admin::ui::AdminPage;
use crate::ui::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

/// The fields whose errors show next to them (the others' above the buttons).
const FIELDS: &[&str] = &[
    "kind",
    "subject_fr",
    "subject_en",
    "body_fr",
    "body_en",
    "passes",
    "order_status",
    "checked_in",
    "question_id",
    "answer",
    "send_at",
];

/// The form's fields, kept at the page's level: they outlive the list's reloads.
#[derive(Clone, Copy)]
struct Fields {
    kind: RwSignal<String>,
    subject_fr: RwSignal<String>,
    subject_en: RwSignal<String>,
    body_fr: RwSignal<String>,
    body_en: RwSignal<String>,
    passes: RwSignal<Vec<Uuid>>,
    order_status: RwSignal<String>,
    checked_in: RwSignal<String>,
    question_id: RwSignal<String>,
    answer: RwSignal<String>,
    /// `YYYY-MM-DDTHH:MM`, conference time; empty: now.
    send_at: RwSignal<String>,
}

impl Fields {
    fn new() -> Fields {
        let text = || RwSignal::new(String::new());
        Fields {
            kind: RwSignal::new(MessageKind::Practical.as_str().to_string()),
            subject_fr: text(),
            subject_en: text(),
            body_fr: text(),
            body_en: text(),
            passes: RwSignal::new(vec![]),
            order_status: RwSignal::new(OrderFilter::Paid.as_str().to_string()),
            checked_in: RwSignal::new(CheckedIn::Any.as_str().to_string()),
            question_id: text(),
            answer: text(),
            send_at: text(),
        }
    }

    fn draft(&self) -> MessageDraft {
        MessageDraft {
            kind: self.kind.get_untracked(),
            subject_fr: self.subject_fr.get_untracked(),
            subject_en: self.subject_en.get_untracked(),
            body_fr: self.body_fr.get_untracked(),
            body_en: self.body_en.get_untracked(),
            passes: self
                .passes
                .get_untracked()
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(","),
            order_status: self.order_status.get_untracked(),
            checked_in: self.checked_in.get_untracked(),
            question_id: self.question_id.get_untracked(),
            answer: self.answer.get_untracked(),
        }
    }

    /// After a message went: a blank form (the filter's choices too).
    fn clear(&self) {
        for text in [
            self.subject_fr,
            self.subject_en,
            self.body_fr,
            self.body_en,
            self.question_id,
            self.answer,
            self.send_at,
        ] {
            text.set(String::new());
        }
        self.kind.set(MessageKind::Practical.as_str().to_string());
        self.order_status
            .set(OrderFilter::Paid.as_str().to_string());
        self.checked_in.set(CheckedIn::Any.as_str().to_string());
        self.passes.set(vec![]);
    }
}

/// What the page answers: the last error, the preview, a success notice (key, value), and whether
/// a call is under way.
#[derive(Clone, Copy)]
struct Feedback {
    error: RwSignal<Option<AppError>>,
    preview: RwSignal<Option<MessagePreview>>,
    notice: RwSignal<Option<(&'static str, String)>>,
    busy: RwSignal<bool>,
}

impl Feedback {
    /// Sends one call: busy meanwhile, then `done` with its answer, or its error shown.
    fn call<T: 'static>(
        self,
        answer: impl std::future::Future<Output = Result<T, AppError>> + 'static,
        done: impl FnOnce(T) + 'static,
    ) {
        self.busy.set(true);
        self.notice.set(None);
        spawn_local(async move {
            let answer = answer.await;
            self.busy.set(false);
            match answer {
                Ok(value) => {
                    self.error.set(None);
                    done(value);
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }
}

#[component]
pub fn AdminMessagesPage() -> impl IntoView {
    let i18n = use_i18n();
    let reload = RwSignal::new(0u32);
    let data = Resource::new(move || reload.get(), |_| admin_messages());
    let fields = Fields::new();
    let ui = Feedback {
        error: RwSignal::new(None),
        preview: RwSignal::new(None),
        notice: RwSignal::new(None),
        busy: RwSignal::new(false),
    };
    view! {
        <AdminPage title="messages.admin.title" class="admin-messages">
            <p class="hint">{move || i18n.t("messages.admin.hint")}</p>
            {loaded(data, move |d| view! {
                <Composer fields ui passes=d.passes.clone() questions=d.questions.clone() rate=d.rate_per_minute reload/>
                <History messages=d.messages ui reload/>
            })}
        </AdminPage>
    }
}

/// A select's option, chosen when `signal` holds its value.
fn choice(signal: RwSignal<String>, value: &'static str, label: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let is = move || signal.get() == value;
    view! { <option value=value selected=is prop:selected=is>{move || i18n.t(label)}</option> }
}

#[component]
fn Composer(
    fields: Fields,
    ui: Feedback,
    passes: Vec<PassChoice>,
    questions: Vec<QuestionChoice>,
    rate: i64,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let Feedback {
        error,
        preview,
        notice,
        busy,
    } = ui;
    let err = Signal::derive(move || error.get());
    let on_preview = move |_: leptos::ev::MouseEvent| {
        preview.set(None);
        ui.call(admin_message_preview(fields.draft()), move |p| {
            preview.set(Some(p))
        });
    };
    let on_test = move |_: leptos::ev::MouseEvent| {
        ui.call(admin_message_test(fields.draft()), move |to| {
            notice.set(Some(("messages.admin.test_sent", to)))
        });
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = fields.draft();
        let at = fields.send_at.get_untracked();
        let now = at.trim().is_empty();
        let question = if now {
            "messages.admin.confirm_now"
        } else {
            "messages.admin.confirm_schedule"
        };
        if !crate::ui::confirm(&i18n.t(question)) {
            return;
        }
        ui.call(admin_message_send(d, at.clone()), move |_| {
            preview.set(None);
            fields.clear();
            let key = if now {
                "messages.admin.sent_notice"
            } else {
                "messages.admin.scheduled_notice"
            };
            notice.set(Some((key, at.replace('T', " "))));
            reload.update(|v| *v += 1);
        });
    };
    let questions = StoredValue::new(questions);
    let text_input = move |name: &'static str, label: &'static str, signal: RwSignal<String>| {
        view! {
            <label>{move || i18n.t(label)}
                <input name=name maxlength="200" prop:value=move || signal.get()
                    on:input=move |ev| signal.set(event_target_value(&ev))/>
            </label>
            <FieldError error=err field=name/>
        }
    };
    let text_area = move |name: &'static str, label: &'static str, signal: RwSignal<String>| {
        view! {
            <label>{move || i18n.t(label)}
                <textarea name=name rows="8" prop:value=move || signal.get()
                    on:input=move |ev| signal.set(event_target_value(&ev))></textarea>
            </label>
            <FieldError error=err field=name/>
        }
    };
    view! {
        <form class="stack-form message-form" on:submit=on_submit>
            <Labelled label="messages.admin.kind">
                <select name="kind" on:change=move |ev| fields.kind.set(event_target_value(&ev))>
                    {MessageKind::ALL.iter().map(|k| choice(fields.kind, k.as_str(), k.label_key())).collect_view()}
                </select>
            </Labelled>
            <p class="hint">{move || i18n.t(if fields.kind.get() == MessageKind::Promotional.as_str() {
                "messages.admin.promotional_hint"
            } else {
                "messages.admin.practical_hint"
            })}</p>
            <FieldError error=err field="kind"/>
            <div class="row">
                <div>{text_input("subject_fr", "messages.admin.subject_fr", fields.subject_fr)}</div>
                <div>{text_input("subject_en", "messages.admin.subject_en", fields.subject_en)}</div>
            </div>
            <div class="row">
                <div>{text_area("body_fr", "messages.admin.body_fr", fields.body_fr)}</div>
                <div>{text_area("body_en", "messages.admin.body_en", fields.body_en)}</div>
            </div>
            <p class="hint">{move || i18n.t("messages.admin.english_hint")}</p>
            <fieldset class="message-passes">
                <legend>{move || i18n.t("messages.admin.passes")}</legend>
                {passes.into_iter().map(|p| {
                    let id = p.id;
                    let on = move || fields.passes.with(|l| l.contains(&id));
                    view! {
                        <label class="checkbox">
                            <input type="checkbox" name="pass" value=id.to_string() checked=on prop:checked=on
                                on:change=move |ev| {
                                    let ticked = event_target_checked(&ev);
                                    fields.passes.update(|l| {
                                        l.retain(|x| *x != id);
                                        if ticked {
                                            l.push(id);
                                        }
                                    });
                                }/>
                            " "<span>{p.name}</span>
                        </label>
                    }
                }).collect_view()}
                <p class="hint">{move || i18n.t("messages.admin.passes_hint")}</p>
            </fieldset>
            <FieldError error=err field="passes"/>
            <div class="row">
                <Labelled label="messages.admin.order_status">
                    <select name="order_status" on:change=move |ev| fields.order_status.set(event_target_value(&ev))>
                        {OrderFilter::ALL.iter().map(|o| choice(fields.order_status, o.as_str(), o.label_key())).collect_view()}
                    </select>
                </Labelled>
                <Labelled label="messages.admin.checked_in">
                    <select name="checked_in" on:change=move |ev| fields.checked_in.set(event_target_value(&ev))>
                        {CheckedIn::ALL.iter().map(|c| choice(fields.checked_in, c.as_str(), c.label_key())).collect_view()}
                    </select>
                </Labelled>
            </div>
            <FieldError error=err field="order_status"/>
            <FieldError error=err field="checked_in"/>
            <div class="row">
                <Labelled label="messages.admin.question">
                    <select name="question_id" on:change=move |ev| {
                        fields.question_id.set(event_target_value(&ev));
                        fields.answer.set(String::new());
                    }>
                        <option value="">{move || i18n.t("messages.admin.no_question")}</option>
                        {questions.get_value().into_iter().map(|q| {
                            let value = q.id.to_string();
                            let is = {
                                let value = value.clone();
                                move || fields.question_id.get() == value
                            };
                            view! { <option value=value selected=is.clone() prop:selected=is>{move || q.label(i18n.locale.get())}</option> }
                        }).collect_view()}
                    </select>
                </Labelled>
                <div>{move || answer_field(fields, questions)}</div>
            </div>
            <FieldError error=err field="question_id"/>
            <FieldError error=err field="answer"/>
            <Labelled label="messages.admin.send_at">
                <input type="datetime-local" name="send_at" prop:value=move || fields.send_at.get()
                    on:input=move |ev| fields.send_at.set(event_target_value(&ev))/>
                <small class="hint">{move || i18n.t("messages.admin.send_at_hint")}</small>
            </Labelled>
            <FieldError error=err field="send_at"/>
            <p class="hint">{move || i18n.t_with("messages.admin.rate", &[("rate", &rate.to_string())])}</p>
            <FormError error=err fields=FIELDS/>
            <p class="message-actions">
                <button type="button" class="button-secondary message-preview-button" disabled=move || busy.get() on:click=on_preview>
                    {move || i18n.t("messages.admin.preview")}
                </button>
                " "
                <button type="button" class="button-secondary message-test-button" disabled=move || busy.get() on:click=on_test>
                    {move || i18n.t("messages.admin.test")}
                </button>
                " "
                <button type="submit" class="button-primary message-send-button" disabled=move || busy.get()>
                    {move || i18n.t(if fields.send_at.get().trim().is_empty() { "messages.admin.send_now" } else { "messages.admin.schedule" })}
                </button>
            </p>
            {move || notice.get().map(|(key, value)| view! {
                <p class="notice notice-success message-notice" role="status">{move || i18n.t_with(key, &[("value", &value)])}</p>
            })}
            {move || preview.get().map(|p| view! { <Preview p/> })}
        </form>
    }
}

/// The answer the filter asks for: one of the question's options (or yes / no), else typed.
fn answer_field(fields: Fields, questions: StoredValue<Vec<QuestionChoice>>) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = fields.question_id.get();
    let question =
        questions.with_value(|qs| qs.iter().find(|q| q.id.to_string() == chosen).cloned());
    question.map(|q| {
        if q.options.is_empty() {
            return view! {
                <Labelled label="messages.admin.answer">
                    <input name="answer" maxlength="500" prop:value=move || fields.answer.get()
                        on:input=move |ev| fields.answer.set(event_target_value(&ev))/>
                    <small class="hint">{move || i18n.t("messages.admin.answer_hint")}</small>
                </Labelled>
            }
            .into_any();
        }
        let yes_no = q.kind == "YES_NO";
        view! {
            <Labelled label="messages.admin.answer">
                <select name="answer" on:change=move |ev| fields.answer.set(event_target_value(&ev))>
                    <option value="">{move || i18n.t("messages.admin.any_answer")}</option>
                    {q.options.into_iter().map(|o| {
                        let label = o.clone();
                        let is = {
                            let o = o.clone();
                            move || fields.answer.get() == o
                        };
                        view! {
                            <option value=o selected=is.clone() prop:selected=is>
                                {move || if yes_no { i18n.t(&format!("messages.admin.answer_{label}")) } else { label.clone() }}
                            </option>
                        }
                    }).collect_view()}
                </select>
            </Labelled>
        }
        .into_any()
    })
}

/// What a message would do: how many it reaches, in which language, a few of them.
#[component]
fn Preview(p: MessagePreview) -> impl IntoView {
    let i18n = use_i18n();
    let MessagePreview {
        count,
        count_fr,
        count_en,
        without_consent,
        sample,
        subject_fr,
        subject_en,
    } = p;
    let (n, fr, en) = (
        count.to_string(),
        count_fr.to_string(),
        count_en.to_string(),
    );
    let left_out = without_consent.to_string();
    view! {
        <div class="card message-preview" data-count=count.to_string()>
            <p class="message-preview-count">
                {move || i18n.t_with("messages.admin.preview_count", &[("n", &n), ("fr", &fr), ("en", &en)])}
            </p>
            {(without_consent > 0).then(|| view! {
                <p class="hint message-preview-left-out">
                    {move || i18n.t_with("messages.admin.preview_without_consent", &[("n", &left_out)])}
                </p>
            })}
            <p>{move || i18n.t("messages.admin.subject_fr")}" : "<strong class="message-preview-subject">{subject_fr}</strong></p>
            <p>{move || i18n.t("messages.admin.subject_en")}" : "<strong>{subject_en}</strong></p>
            <ul class="message-preview-sample">
                {sample.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn History(messages: Vec<MessageRow>, ui: Feedback, reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h2>{move || i18n.t("messages.admin.history")}</h2>
        {if messages.is_empty() {
            view! { <p class="empty">{move || i18n.t("messages.admin.none")}</p> }.into_any()
        } else {
            view! {
                <Table class="data-table messages-table" keys=["messages.admin.when", "messages.admin.kind", "messages.admin.subject", "admin.status", "messages.admin.recipients", "messages.admin.sent", "messages.admin.failed", "messages.admin.pending", ""]>
                    {messages.into_iter().map(|m| view! { <MessageLine m ui reload/> }).collect_view()}
                </Table>
            }
            .into_any()
        }}
    }
}

#[component]
fn MessageLine(m: MessageRow, ui: Feedback, reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let (id, status, kind) = (m.id, m.status, m.kind);
    // Queued, with mails still to go out (or retried): under way.
    let under_way = status == MessageStatus::Sent && (m.pending > 0 || m.failed > 0);
    let label = if under_way {
        MessageStatus::Sending.label_key()
    } else {
        status.label_key()
    };
    let cancel = move |_: leptos::ev::MouseEvent| {
        if !crate::ui::confirm(&i18n.t("messages.admin.cancel_confirm")) {
            return;
        }
        spawn_local(async move {
            match admin_message_cancel(id).await {
                Ok(()) => {
                    ui.error.set(None);
                    reload.update(|v| *v += 1);
                }
                Err(e) => ui.error.set(Some(e)),
            }
        });
    };
    view! {
        <tr data-message=id.to_string() data-status=status.as_str() data-recipients=m.recipients.to_string() data-sent=m.sent.to_string()>
            <td>{m.send_at.clone()}</td>
            <td>{move || i18n.t(kind.label_key())}</td>
            <td>{m.subject.clone()}</td>
            <td>{move || i18n.t(label)}</td>
            <td>{m.recipients.to_string()}</td>
            <td>{m.sent.to_string()}</td>
            <td>{m.failed.to_string()}</td>
            <td>{m.pending.to_string()}</td>
            <td>
                {(status == MessageStatus::Scheduled).then(|| view! {
                    <button type="button" class="button-small message-cancel" on:click=cancel>
                        {move || i18n.t("messages.admin.cancel")}
                    </button>
                })}
            </td>
        </tr>
    }
}
