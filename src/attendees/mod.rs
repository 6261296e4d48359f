//! Attendees' data: the questions an organiser asks per ticket (`/admin/questions`), asked at
//! checkout for each seat with its holder's name and e-mail when the pass wants them, and the
//! answers a buyer or a holder may change until `QUESTIONS_EDITABLE_UNTIL`. `service` keeps and
//! checks them (server); `admin_page` edits the questions; `components` are the fields the shop and
//! the tickets page show.
pub mod admin_page;
pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{accounts::text_enum, error::AppError, i18n::Locale};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

text_enum!(
    /// What kind of answer a question takes.
    QuestionKind {
        Text => "TEXT",
        LongText => "LONG_TEXT",
        Choice => "CHOICE",
        Multiple => "MULTIPLE",
        YesNo => "YES_NO",
        Country => "COUNTRY",
        Number => "NUMBER",
    }
);

impl QuestionKind {
    pub fn label_key(self) -> String {
        format!("questions.kind.{}", self.as_str().to_ascii_lowercase())
    }

    /// Whether it offers a list of options.
    pub fn has_options(self) -> bool {
        matches!(self, QuestionKind::Choice | QuestionKind::Multiple)
    }
}

/// One option of a CHOICE or MULTIPLE question: its French text (what an answer keeps) and its
/// English text (empty: the French one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionOption {
    pub fr: String,
    pub en: String,
}

/// A question, as the back office edits it and as the shop and the tickets page ask it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: Uuid,
    pub kind: QuestionKind,
    pub label_fr: String,
    pub label_en: String,
    pub help_fr: String,
    pub help_en: String,
    pub options: Vec<QuestionOption>,
    pub required: bool,
    /// Asked for every pass, or only for `passes`.
    pub all_passes: bool,
    pub passes: Vec<Uuid>,
    /// Printed on badges.
    pub on_badge: bool,
    pub position: i64,
    pub archived: bool,
}

/// The text in the reader's language, the French one when there is no English.
fn in_locale<'a>(locale: Locale, fr: &'a str, en: &'a str) -> &'a str {
    if locale == Locale::En && !en.trim().is_empty() {
        en
    } else {
        fr
    }
}

impl Question {
    pub fn label(&self, locale: Locale) -> &str {
        in_locale(locale, &self.label_fr, &self.label_en)
    }

    pub fn help(&self, locale: Locale) -> &str {
        in_locale(locale, &self.help_fr, &self.help_en)
    }

    /// Whether it is asked for tickets of `pass`.
    pub fn asked_for(&self, pass: Uuid) -> bool {
        !self.archived && (self.all_passes || self.passes.contains(&pass))
    }

    /// An answer as the reader reads it: options in their language, "yes"/"no" as words.
    pub fn answer_text(&self, answer: &str, locale: Locale) -> String {
        match self.kind {
            QuestionKind::Choice | QuestionKind::Multiple => answer
                .lines()
                .map(|a| {
                    self.options
                        .iter()
                        .find(|o| o.fr == a)
                        .map_or(a, |o| in_locale(locale, &o.fr, &o.en))
                })
                .collect::<Vec<_>>()
                .join(", "),
            QuestionKind::YesNo => crate::i18n::tr(locale, &format!("questions.answer.{answer}")),
            _ => answer.to_string(),
        }
    }
}

/// The options as an admin types them: one per line, "français | English".
pub fn options_text(options: &[QuestionOption]) -> String {
    options
        .iter()
        .map(|o| {
            if o.en.is_empty() {
                o.fr.clone()
            } else {
                format!("{} | {}", o.fr, o.en)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the buyer types for one seat at checkout (`attendees[p<pass index>s<seat>][…]`): the pass,
/// the holder's name and e-mail, and the answers by `q<question id>`. A MULTIPLE question's ticked
/// options come as `answers[q<question id>~<n>]`, one field per option.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttendeeInput {
    pub ticket_type_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    pub answers: HashMap<String, String>,
}

/// The questions of the back office, with the passes they can be asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionsAdmin {
    pub questions: Vec<Question>,
    pub passes: Vec<(Uuid, String)>,
}

/// A ticket's questions with their current answers, and whether the reader may change them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerSheet {
    pub ticket_id: Uuid,
    pub answers: Vec<(Question, String)>,
    pub editable: bool,
}

/// Every question (archived ones last), with the passes. Admins only.
#[server(prefix = "/api", endpoint = "admin_questions")]
pub async fn admin_questions() -> Result<QuestionsAdmin, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::admin_list(&state.db).await
}

/// Creates (no id) or changes a question. `passes`: empty or `all` for every pass, else pass ids
/// separated by commas; checkboxes post "on" when ticked. Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_question_save")]
#[allow(clippy::too_many_arguments)]
pub async fn admin_question_save(
    id: Option<Uuid>,
    kind: String,
    label_fr: String,
    #[server(default)] label_en: String,
    #[server(default)] help_fr: String,
    #[server(default)] help_en: String,
    #[server(default)] options: String,
    #[server(default)] required: Option<String>,
    #[server(default)] passes: Option<String>,
    #[server(default)] on_badge: Option<String>,
    #[server(default)] position: Option<String>,
) -> Result<Uuid, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    let draft = service::QuestionDraft {
        id,
        kind,
        label_fr,
        label_en,
        help_fr,
        help_en,
        options,
        required: required.is_some_and(|v| !v.is_empty() && v != "false"),
        passes: passes.unwrap_or_default(),
        on_badge: on_badge.is_some_and(|v| !v.is_empty() && v != "false"),
        position: position.unwrap_or_default(),
    };
    service::save(&state.db, admin.id, &draft).await
}

/// Archives a question (no longer asked; its answers stay) or brings it back. Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_question_archive")]
pub async fn admin_question_archive(id: Uuid, archived: bool) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::archive(&state.db, admin.id, id, archived).await
}

/// A ticket's questions and answers: for its buyer and for the account that claimed it.
#[server(prefix = "/api", endpoint = "ticket_answers")]
pub async fn ticket_answers(ticket_id: Uuid) -> Result<AnswerSheet, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::of_ticket(&state.db, &state.config, user.id, ticket_id).await
}

/// Changes a ticket's answers (its buyer or the account that claimed it, until
/// `QUESTIONS_EDITABLE_UNTIL`). Audited.
#[server(prefix = "/api", endpoint = "set_ticket_answers")]
pub async fn set_ticket_answers(
    ticket_id: Uuid,
    #[server(default)] answers: HashMap<String, String>,
) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::set_answers(&state.db, &state.config, user.id, ticket_id, &answers).await
}
