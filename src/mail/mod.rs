//! Mail: every mail goes through the outbox (written in the transaction that causes it) and is sent
//! by a background worker with retries; `/dev/mailbox` shows them to admins in dev when no SMTP is set.
pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{accounts::text_enum, error::AppError};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

text_enum!(
    /// The kinds of mail, as `email_logs.type` records them.
    MailKind {
        OrderConfirmed => "ORDER_CONFIRMED",
        TicketSent => "TICKET_SENT",
        ResetPassword => "RESET_PASSWORD",
        VerifyEmail => "VERIFY_EMAIL",
        ChangeEmail => "CHANGE_EMAIL",
        AccountExists => "ACCOUNT_EXISTS",
        ProgrammeChanged => "PROGRAMME_CHANGED",
        OrderRefunded => "ORDER_REFUNDED",
        EmailChanged => "EMAIL_CHANGED",
        AccountDeleted => "ACCOUNT_DELETED",
        WaitlistOffer => "WAITLIST_OFFER",
        InvoiceDocument => "INVOICE_DOCUMENT",
        WorkshopSeat => "WORKSHOP_SEAT",
        HolderTicket => "HOLDER_TICKET",
        TicketRefunded => "TICKET_REFUNDED",
        AttendeeMessage => "ATTENDEE_MESSAGE",
    }
);

impl MailKind {
    /// The prefix of its translation keys: `mail.verify_email.subject`, `.body`, `.action`.
    pub fn key(self) -> String {
        format!("mail.{}", self.as_str().to_ascii_lowercase())
    }
}

/// A mail as the dev mailbox shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevMail {
    pub id: Uuid,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// The newest mails, for `/dev/mailbox`: admins only (the mails hold reset and verification links),
/// and not at all outside dev mode.
#[server(prefix = "/api", endpoint = "dev_mailbox")]
pub async fn dev_mailbox() -> Result<Vec<DevMail>, AppError> {
    let state = crate::server::state()?;
    if !state.config.is_dev() {
        return Err(AppError::NotFound);
    }
    crate::accounts::session::require_role(&[crate::accounts::Role::Admin]).await?;
    service::dev_mailbox(&state.db).await
}
