//! Personal data (RGPD/GDPR): a person downloads their data (`GET /me/data.json`), withdraws or
//! gives marketing consent, accepts new terms when `CONSENT_VERSION` changes, and deletes their
//! account; an admin sees what the automatic retention will do, runs it, reads its history and
//! erases an account on request. The retention job itself runs in the background on every
//! instance and does its work once (a lease in `job_leases`). Every server function here checks
//! its caller on the server.
pub mod admin_page;
pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{accounts::ConsentType, error::AppError};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::accounts::{consent_path, CONSENT_PAGE};

/// Where [`delete_my_account`] sends the browser once the account is gone.
pub const DELETED_PAGE: &str = "/account/deleted";

/// One consent row, as `/account` lists the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentView {
    pub kind: ConsentType,
    pub version: String,
    pub accepted_at: DateTime<Utc>,
    /// `false`: the marketing opt-in was withdrawn at that date.
    pub granted: bool,
}

/// What `/account` shows in its "personal data" part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyStatus {
    /// The version of the terms and privacy policy in force (`CONSENT_VERSION`).
    pub consent_version: String,
    /// The person accepted an older version: the consent page must be shown before going on.
    pub consent_required: bool,
    /// Whether the person currently accepts marketing mail (latest marketing row, none: no).
    pub marketing: bool,
    /// Every consent row, newest first: the proof.
    pub consents: Vec<ConsentView>,
    /// Valid tickets for an event not over yet: deleting the account cancels them (no refund
    /// unless an admin grants one); the page warns and the deletion asks for a confirmation.
    pub tickets_at_risk: i64,
    /// Paid (or refunded) orders, kept as accounting records after a deletion.
    pub paid_orders: i64,
    /// How long accounting records are kept after the end of their financial year.
    pub accounting_retention_years: i64,
    /// How long after the event the automatic retention anonymises inactive attendee accounts.
    pub retention_days_after_event: i64,
    /// An admin cannot delete their account: another admin must take the role away first.
    pub must_be_demoted: bool,
}

/// What one retention run does (or would do), per kind of data. Every field is a number of rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionCounts {
    /// Attendee accounts anonymised (role USER, not logged in since the event, the window passed).
    pub accounts: i64,
    /// Tickets of the past event whose holder name and email were erased.
    pub ticket_holders: i64,
    /// Audit entries older than the window whose details named people (door searches, resent
    /// tickets' addresses), redacted.
    pub scan_details: i64,
    /// Sent mails older than the window whose bodies were erased.
    pub mail_bodies: i64,
    /// Sessions and consents older than the window whose IP hash was erased.
    pub ip_hashes: i64,
    /// Expired sessions deleted.
    pub expired_sessions: i64,
    /// Expired one-time links (verification, reset, change of address) deleted.
    pub expired_tokens: i64,
    /// Mails of erased accounts (their last confirmation mail, once sent) whose address was erased.
    pub erased_mail_addresses: i64,
    /// Orders past `ACCOUNTING_RETENTION_YEARS` after their financial year, reduced to amounts,
    /// dates and ids (detached from the person, payment references erased).
    pub orders_reduced: i64,
}

impl RetentionCounts {
    pub fn total(&self) -> i64 {
        self.accounts
            + self.ticket_holders
            + self.scan_details
            + self.mail_bodies
            + self.ip_hashes
            + self.expired_sessions
            + self.expired_tokens
            + self.erased_mail_addresses
            + self.orders_reduced
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// The admin page's summary: the policy, when it becomes due, and what the next run will do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionOverview {
    pub retention_days_after_event: i64,
    pub accounting_retention_years: i64,
    /// The end of the conference's last talk (none: no programme yet).
    pub event_end: Option<DateTime<Utc>>,
    /// When attendee accounts and ticket holders become due: `event_end` + the window.
    pub due_at: Option<DateTime<Utc>>,
    pub due: bool,
    /// Orders placed before this instant are past their accounting retention.
    pub accounting_cutoff: Option<DateTime<Utc>>,
    /// When the oldest order still whole becomes due for reduction.
    pub next_accounting_due: Option<DateTime<Utc>>,
    /// When a run last finished (any instance; none: never).
    pub last_run_at: Option<DateTime<Utc>>,
    /// What a run now would do.
    pub next: RetentionCounts,
}

/// One past run, from its `RETENTION_RUN` audit entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRunView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who ran it: an admin ("run now"), or the system account (the scheduled job).
    pub actor_email: String,
    /// `schedule` or `admin`.
    pub trigger: String,
    pub counts: RetentionCounts,
}

/// My consents, marketing choice and what deleting my account would do (for `/account`).
#[server(prefix = "/api", endpoint = "my_privacy")]
pub async fn my_privacy() -> Result<PrivacyStatus, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::status(&state.db, &state.config, &user).await
}

/// Deletes (erases) my account: checks the password, and, when I hold valid tickets for an event
/// not over yet, that I ticked `cancel_tickets`. Then logs me out and goes to [`DELETED_PAGE`].
#[server(prefix = "/api", endpoint = "delete_my_account")]
pub async fn delete_my_account(
    password: String,
    cancel_tickets: Option<String>,
) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::delete_own_account(&state, &user, &password, cancel_tickets.is_some()).await?;
    crate::accounts::session::clear_session_cookie(&state.config);
    leptos_axum::redirect(DELETED_PAGE);
    Ok(())
}

/// Gives (`granted=true`) or withdraws marketing consent; each change is a new consent row.
#[server(prefix = "/api", endpoint = "set_marketing_consent")]
pub async fn set_marketing_consent(granted: bool) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::set_marketing(&state, user.id, granted).await
}

/// Accepts the terms and privacy policy of the current `CONSENT_VERSION` (new consent rows), then
/// goes on to `next` when given (a path of this site only).
#[server(prefix = "/api", endpoint = "accept_current_terms")]
pub async fn accept_current_terms(next: Option<String>) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::accept_terms(&state, user.id).await?;
    if next.is_some() {
        leptos_axum::redirect(&crate::accounts::safe_next(next.as_deref()));
    }
    Ok(())
}

/// The retention policy, its due dates and what the next run will do (admins only).
#[server(prefix = "/api", endpoint = "privacy_overview")]
pub async fn privacy_overview() -> Result<RetentionOverview, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::overview(&state.db, &state.config, crate::server::state::now()).await
}

/// What a run now would do, counted without changing anything (admins only).
#[server(prefix = "/api", endpoint = "retention_dry_run")]
pub async fn retention_dry_run() -> Result<RetentionCounts, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    Ok(
        service::retention_plan(&state.db, &state.config, crate::server::state::now())
            .await?
            .counts,
    )
}

/// Runs the retention now (admins only, `confirm=true` required); audited `RETENTION_RUN`. Refused
/// while another instance runs it.
#[server(prefix = "/api", endpoint = "retention_run_now")]
pub async fn retention_run_now(confirm: bool) -> Result<RetentionCounts, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    if !confirm {
        return Err(AppError::invalid(
            "confirm",
            "privacy.error.confirm_required",
        ));
    }
    match service::run_retention(
        &state,
        crate::server::state::now(),
        false,
        service::Trigger::Admin(admin.id),
    )
    .await?
    {
        service::RetentionOutcome::Ran(counts) | service::RetentionOutcome::DryRun(counts) => {
            Ok(counts)
        }
        service::RetentionOutcome::Skipped => Err(AppError::invalid(
            "confirm",
            "privacy.error.run_in_progress",
        )),
    }
}

/// The past runs, newest first (admins only).
#[server(prefix = "/api", endpoint = "retention_history")]
pub async fn retention_history() -> Result<Vec<RetentionRunView>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::history(&state.db).await
}

/// Erases a person's account on their request (admins only): the same erasure as the
/// self-service deletion, the confirmation mail included; audited `ERASE_ACCOUNT`. An admin's
/// account must be demoted first.
#[server(prefix = "/api", endpoint = "erase_account")]
pub async fn erase_account(user_id: Uuid) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::erase_user(&state, user_id, admin.id, "admin_request").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consent_page_carries_next_as_one_query_value() {
        assert_eq!(consent_path("/"), "/account/consent?next=/");
        assert_eq!(
            consent_path("/me/programme?day=2&x=%2F"),
            "/account/consent?next=/me/programme%3Fday%3D2%26x%3D%252F"
        );
    }

    #[test]
    fn counts_add_up() {
        let c = RetentionCounts {
            accounts: 2,
            orders_reduced: 1,
            ..Default::default()
        };
        assert_eq!(c.total(), 3);
        assert!(!c.is_empty());
        assert!(RetentionCounts::default().is_empty());
    }
}
