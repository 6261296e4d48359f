//! Messages to attendees (`/admin/messages`): written in French and English (each recipient reads
//! their language), sent to the ticket holders a filter chooses (passes, order status, checked in or
//! not, the answer to a question), now or at a time, through the mail outbox at
//! `MESSAGE_RATE_PER_MINUTE`. Practical messages go to every holder chosen, promotional ones only to
//! those whose account opts in to marketing, with a link that unsubscribes without logging in
//! (`/unsubscribe/<token>`). `service` chooses the recipients and queues the mails (server),
//! `admin_page` writes, previews and follows them, `unsubscribe_page` is the link's page.
pub mod admin_page;
#[cfg(feature = "ssr")]
pub mod service;
pub mod unsubscribe_page;

use crate::{accounts::text_enum, error::AppError, i18n::Locale};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

text_enum!(
    /// Who a message may reach: every holder the filter chooses, or only those who opted in.
    MessageKind { Practical => "PRACTICAL", Promotional => "PROMOTIONAL" }
);

text_enum!(
    /// SCHEDULED until its time, then SENT (its mails in the outbox); DRAFT once canceled.
    MessageStatus { Draft => "DRAFT", Scheduled => "SCHEDULED", Sending => "SENDING", Sent => "SENT" }
);

text_enum!(
    /// Which orders' tickets: paid ones (tickets not canceled), refunded ones (a refunded order,
    /// or a ticket refunded alone), or both.
    OrderFilter { Paid => "PAID", Refunded => "REFUNDED", All => "ALL" }
);

text_enum!(
    /// Checked in: the ticket has an entry (or is used), or not, or either.
    CheckedIn { Any => "ANY", Yes => "YES", No => "NO" }
);

impl MessageKind {
    pub fn label_key(self) -> &'static str {
        match self {
            MessageKind::Practical => "messages.kind.practical",
            MessageKind::Promotional => "messages.kind.promotional",
        }
    }
}

impl MessageStatus {
    pub fn label_key(self) -> &'static str {
        match self {
            MessageStatus::Draft => "messages.status.draft",
            MessageStatus::Scheduled => "messages.status.scheduled",
            MessageStatus::Sending => "messages.status.sending",
            MessageStatus::Sent => "messages.status.sent",
        }
    }
}

impl OrderFilter {
    pub fn label_key(self) -> &'static str {
        match self {
            OrderFilter::Paid => "messages.order.paid",
            OrderFilter::Refunded => "messages.order.refunded",
            OrderFilter::All => "messages.order.all",
        }
    }
}

impl CheckedIn {
    pub fn label_key(self) -> &'static str {
        match self {
            CheckedIn::Any => "messages.checked_in.any",
            CheckedIn::Yes => "messages.checked_in.yes",
            CheckedIn::No => "messages.checked_in.no",
        }
    }
}

/// Who a message goes to, as it is kept with the message (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Tickets of these passes; empty: every pass.
    pub passes: Vec<Uuid>,
    pub order_status: OrderFilter,
    pub checked_in: CheckedIn,
    /// Tickets whose answer to this question is `answer` (empty: any answer given).
    pub question_id: Option<Uuid>,
    pub answer: String,
}

/// The form as typed (the server checks every field); a field not sent is empty. The preview, the
/// test and the sending take it whole, its fields flat in the request (`kind=…&subject_fr=…`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageDraft {
    pub kind: String,
    pub subject_fr: String,
    pub subject_en: String,
    pub body_fr: String,
    pub body_en: String,
    /// Pass ids separated by commas; empty: every pass.
    pub passes: String,
    pub order_status: String,
    pub checked_in: String,
    pub question_id: String,
    pub answer: String,
}

/// What a message would do, before it is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePreview {
    /// Addresses it goes to (one mail each), and how many read it in French and in English.
    pub count: i64,
    pub count_fr: i64,
    pub count_en: i64,
    /// Holders the filter chose whom a promotional message leaves out (no marketing consent).
    pub without_consent: i64,
    /// The first few addresses, masked ("a***@example.org").
    pub sample: Vec<String>,
    /// The subject as French and as English readers get it.
    pub subject_fr: String,
    pub subject_en: String,
}

/// A pass the filter may choose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassChoice {
    pub id: Uuid,
    pub name: String,
}

/// A question the filter may choose, with the answers it offers (French texts; YES_NO: yes, no).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionChoice {
    pub id: Uuid,
    pub kind: String,
    pub label_fr: String,
    pub label_en: String,
    pub options: Vec<String>,
}

impl QuestionChoice {
    pub fn label(&self, locale: Locale) -> String {
        if locale == Locale::En && !self.label_en.trim().is_empty() {
            self.label_en.clone()
        } else {
            self.label_fr.clone()
        }
    }
}

/// A message as the back office lists it, with its delivery figures (from its mails' statuses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: Uuid,
    pub kind: MessageKind,
    pub subject: String,
    pub status: MessageStatus,
    /// When it goes (or went) out, conference time: "10/06 09:12".
    pub send_at: String,
    pub recipients: i64,
    /// Mails gone out; failed (and retried); not tried yet (waiting for their turn).
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
}

/// `/admin/messages`: the messages, newest first, and what the form may choose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagesAdmin {
    pub messages: Vec<MessageRow>,
    pub passes: Vec<PassChoice>,
    pub questions: Vec<QuestionChoice>,
    /// `MESSAGE_RATE_PER_MINUTE`.
    pub rate_per_minute: i64,
}

/// What the unsubscribe page says of its link's account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeInfo {
    /// The account's address, masked.
    pub email: String,
    /// Whether it currently receives promotional messages.
    pub subscribed: bool,
}

#[server(prefix = "/api", endpoint = "admin_messages")]
pub async fn admin_messages() -> Result<MessagesAdmin, AppError> {
    crate::accounts::session::admin_read(service::admin_view).await
}

/// How many would receive the message, in which language, and a few of them (masked). Admins only.
#[server(prefix = "/api", endpoint = "admin_message_preview")]
pub async fn admin_message_preview(
    #[server(flatten)] draft: MessageDraft,
) -> Result<MessagePreview, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::preview(&state.db, &draft).await
}

/// Sends the message to the calling admin alone, in their language; answers their address.
/// Audited `SEND_TEST_MESSAGE`.
#[server(prefix = "/api", endpoint = "admin_message_test")]
pub async fn admin_message_test(
    #[server(flatten)] draft: MessageDraft,
) -> Result<String, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::send_test(&state, &admin, &draft).await
}

/// Sends the message now (`send_at` empty) or schedules it (`send_at`: `YYYY-MM-DDTHH:MM`,
/// conference time, in the future). Audited `CREATE_MESSAGE`; answers its id.
#[server(prefix = "/api", endpoint = "admin_message_send")]
pub async fn admin_message_send(
    #[server(flatten)] draft: MessageDraft,
    #[server(default)] send_at: String,
) -> Result<Uuid, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::create(&state, &admin, &draft, &send_at).await
}

/// Cancels a scheduled message before it goes out. Audited `CANCEL_MESSAGE`.
#[server(prefix = "/api", endpoint = "admin_message_cancel")]
pub async fn admin_message_cancel(message_id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::cancel(&state.db, admin.id, message_id).await
}

/// The account an unsubscribe link names (no login: the link is the proof).
#[server(prefix = "/api", endpoint = "unsubscribe_check")]
pub async fn unsubscribe_check(token: String) -> Result<UnsubscribeInfo, AppError> {
    let state = crate::server::state()?;
    service::unsubscribe_info(&state, &token).await
}

/// Withdraws the marketing consent of the link's account (no login), then shows it done.
#[server(prefix = "/api", endpoint = "unsubscribe")]
pub async fn unsubscribe(token: String) -> Result<(), AppError> {
    let state = crate::server::state()?;
    service::unsubscribe(&state, &token).await?;
    leptos_axum::redirect(&format!(
        "/unsubscribe/{}?done=1",
        crate::ui::encode_query(token.trim())
    ));
    Ok(())
}
