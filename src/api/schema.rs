//! What the REST API's JSON holds, in and out, and so its OpenAPI schemas: the rows of its lists
//! (passes, orders, attendees, check-ins, talks), a page and its cursor, what a check-in or a
//! talk's change sends and gets, and an error.
use crate::server::prelude::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Where a page starts: after the row made at `at` with id `id` (opaque to clients).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// Before every row.
    pub fn start() -> Cursor {
        Cursor {
            at: DateTime::<Utc>::UNIX_EPOCH,
            id: Uuid::nil(),
        }
    }

    pub fn encode(&self) -> String {
        let raw = format!("{}|{}", self.at.to_rfc3339(), self.id);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// A cursor given back by a client: 422 on `cursor` unless it is one of ours.
    pub fn decode(raw: &str) -> Result<Cursor, AppError> {
        let bad = || AppError::invalid("cursor", "api.error.cursor");
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once('|').ok_or_else(bad)?;
        Ok(Cursor {
            at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

/// One page of a list, and the cursor of the next (none: this was the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Where the next page starts (after this page's last row): give it back as `cursor`, now
    /// for the next page, or later for the rows made since (none: the list is empty).
    pub next_cursor: Option<String>,
    /// Whether more rows follow now.
    pub has_more: bool,
}

/// A row's place in its list.
pub trait Keyed {
    fn key(&self) -> Cursor;
}

/// A row keyed by its creation (`at`) and its `id`.
macro_rules! keyed {
    ($row:ty, $at:ident, $id:ident) => {
        impl Keyed for $row {
            fn key(&self) -> Cursor {
                let (at, id) = (self.$at, self.$id);
                Cursor { at, id }
            }
        }
    };
}

/// A pass (ticket type).
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Pass {
    pub id: Uuid,
    pub name: String,
    pub price_cents: i64,
    #[schema(example = "eur")]
    pub currency: String,
    pub capacity: i64,
    pub sold: i64,
    #[schema(example = "2027-06-10T00:00:00Z")]
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

keyed!(Pass, created_at, id);

/// A line of an order: so many seats of a pass at a unit price.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct OrderLine {
    #[serde(skip)]
    pub order_id: Uuid,
    pub pass_id: Uuid,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

/// An order and its lines.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Order {
    pub id: Uuid,
    /// DRAFT, PENDING_PAYMENT, PAID, CANCELED or REFUNDED.
    #[schema(example = "PAID")]
    pub status: String,
    pub total_cents: i64,
    pub discount_cents: i64,
    pub currency: String,
    #[schema(example = "ada@example.org")]
    pub buyer_email: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub lines: Vec<OrderLine>,
}

keyed!(Order, created_at, id);

/// A ticket's answer to one of the organiser's questions.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Answer {
    #[serde(skip)]
    pub ticket_id: Uuid,
    pub question_id: Uuid,
    /// The question, in the request's `Accept-Language` (French when it has no English label).
    pub question: String,
    /// The answer as given: a choice by its option's French label (several: one per line), a
    /// yes/no question `yes` or `no`.
    #[schema(example = "Végétarien")]
    pub answer: String,
}

/// Who comes: a ticket, its holder (the named holder, else the buyer) and their answers.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Attendee {
    #[sqlx(rename = "id")]
    pub ticket_id: Uuid,
    pub order_id: Uuid,
    pub pass_id: Uuid,
    /// VALID, USED or CANCELED.
    #[schema(example = "VALID")]
    pub status: String,
    pub name: Option<String>,
    #[schema(example = "grace@example.org")]
    pub email: String,
    pub issued_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    #[sqlx(skip)]
    pub answers: Vec<Answer>,
}

keyed!(Attendee, issued_at, ticket_id);

/// An entry (or exit) on a check-in list.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Checkin {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub list_id: Uuid,
    pub at: DateTime<Utc>,
    /// The conference day it counts for (YYYY-MM-DD).
    #[schema(example = "2027-06-10")]
    pub day: String,
    /// IN or OUT.
    #[schema(example = "IN")]
    pub direction: String,
    /// Scanned by a phone without network, sent later.
    pub offline: bool,
    /// When the server recorded it (the list's order: a phone's offline entries come late).
    pub recorded_at: DateTime<Utc>,
}

keyed!(Checkin, recorded_at, id);

/// A talk of the programme.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Talk {
    pub id: Uuid,
    /// The id other tools (pretalx, frab, schedule readers) know it by.
    pub guid: Uuid,
    pub title: String,
    pub description: String,
    #[schema(example = "Rust")]
    pub theme: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    #[schema(example = "Salle Lumière")]
    pub room: Option<String>,
    pub speaker: Option<String>,
    #[schema(example = "fr")]
    pub language: Option<String>,
    /// Give it back when changing the talk: a talk changed meanwhile is not overwritten.
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

keyed!(Talk, created_at, id);

/// What an error says: its code (a translation key), the message in the caller's language, and
/// the field at fault.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(example = "api.error.limit")]
    pub error: String,
    pub message: String,
    #[schema(example = "limit")]
    pub field: Option<String>,
}

/// A page of a list: `limit` rows (1 to 200, 50 by default) after `cursor` (the `next_cursor` of
/// the page before; none: from the start).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(example = "50")]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// A ticket to let in (or out): its QR code's text (`code`) or its id (`ticket_id`), on a list
/// (none: the default one), in a direction (`IN` by default). `scan_id`, when given, makes a retry
/// safe: the same scan sent twice lets the ticket in once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheckin {
    pub code: Option<String>,
    pub ticket_id: Option<Uuid>,
    pub list_id: Option<Uuid>,
    #[schema(example = "IN")]
    pub direction: Option<String>,
    pub scan_id: Option<Uuid>,
}

/// What the door decided: `entered` when the ticket was let in now (or by this same scan before).
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckinResult {
    pub scan_id: Uuid,
    /// OK, ALREADY_USED, CANCELED, REFUNDED, NOT_VALID_TODAY, NOT_ON_LIST, EXIT or UNKNOWN.
    #[schema(example = "OK")]
    pub outcome: String,
    pub entered: bool,
    pub ticket_id: Option<Uuid>,
    pub holder: Option<String>,
    #[schema(example = "Pass 2 jours")]
    pub pass: Option<String>,
    pub list: Option<String>,
    #[schema(example = "2027-06-11")]
    pub day: Option<String>,
    pub used_at: Option<DateTime<Utc>>,
    pub repeated: bool,
}

/// The fields of a talk to change (the others are left as they are), and the `version` read: a
/// talk changed meanwhile is refused (422 on `version`). Times are instants (RFC 3339).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TalkPatch {
    pub version: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub theme: Option<String>,
    #[schema(example = "Salle Horizon")]
    pub room: Option<String>,
    pub speaker: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
}
