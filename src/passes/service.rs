//! Passes as stored, and what can be sold of them now.
use super::Availability;
use crate::server::config::Config;
use crate::server::db::Tx;
use crate::tx_run;
use chrono::{DateTime, Offset, Utc};
use uuid::Uuid;

/// A ticket type as stored (the shop reads it; the passes editor edits it, `version` included).
#[derive(sqlx::FromRow)]
pub struct TypeRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub price_cents: i64,
    pub currency: String,
    pub capacity: i64,
    pub reserved_count: i64,
    pub sold_count: i64,
    pub held_count: i64,
    /// People waiting on the pass's list (freed seats are theirs first).
    pub waiting: i64,
    pub is_active: bool,
    pub is_hidden: bool,
    /// Each ticket needs its holder's name and e-mail at checkout.
    pub names_required: bool,
    pub sales_start_at: Option<DateTime<Utc>>,
    pub sales_end_at: Option<DateTime<Utc>>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub version: i64,
    /// NULL: the default rate of the settings.
    pub vat_rate_bp: Option<i64>,
}

pub const TYPE_COLUMNS: &str = "id, name, description, price_cents, currency, capacity, reserved_count, sold_count, held_count, \
     (SELECT COUNT(*) FROM waitlist_entries w WHERE w.ticket_type_id = ticket_types.id AND w.status = 'WAITING') AS waiting, \
     is_active, is_hidden, names_required, sales_start_at, sales_end_at, valid_from, valid_until, version, vat_rate_bp";

impl TypeRow {
    /// The VAT rate one seat is sold at, and what the buyer pays for it before any voucher (the
    /// price plus its VAT when prices are entered without it). `None`: too large to add up.
    pub fn sale_price(&self, config: &Config) -> Option<(i64, i64)> {
        let rate = config.invoice.rate_for(self.vat_rate_bp);
        Some((rate, config.invoice.unit_gross(self.price_cents, rate)?))
    }

    /// Whether the public can buy, and how many seats: those nobody reserved, bought, holds (a
    /// voucher, an offer) or waits for.
    pub fn availability(&self, now: DateTime<Utc>) -> Availability {
        self.availability_with(now, 0)
    }

    /// The same for a buyer whose voucher holds `held_for_me` seats of this pass.
    pub fn availability_with(&self, now: DateTime<Utc>, held_for_me: i64) -> Availability {
        if let Some(closed) = self.closed(now) {
            return closed;
        }
        match self
            .capacity
            .saturating_sub(self.reserved_count)
            .saturating_sub(self.sold_count)
            .saturating_sub(self.held_count)
            .saturating_sub(self.waiting)
            .max(0)
            .saturating_add(held_for_me)
        {
            n if n > 0 => Availability::OnSale { left: n },
            _ => Availability::SoldOut,
        }
    }

    /// Not on sale now, whatever the seats: before its sale opens, after it ends, or inactive.
    pub fn closed(&self, now: DateTime<Utc>) -> Option<Availability> {
        if let Some(opens) = self.sales_start_at.filter(|s| *s > now) {
            Some(Availability::NotYet { opens })
        } else if !self.is_active || self.sales_end_at.is_some_and(|e| e <= now) {
            Some(Availability::Ended)
        } else {
            None
        }
    }
}

/// The days a validity window covers, in the conference's time zone.
pub fn valid_days(
    config: &Config,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
    // Checked: an instant the local calendar cannot show is no day (never a panic).
    let day = |t: DateTime<Utc>| {
        t.naive_utc()
            .checked_add_offset(t.with_timezone(&config.timezone).offset().fix())
            .map(|local| local.date())
    };
    Some((day(from?)?, day(until?)?))
}

/// Whether every one of `passes` exists (inside the transaction that is about to name them).
pub async fn all_exist(tx: &mut Tx, passes: &[Uuid]) -> Result<bool, sqlx::Error> {
    for p in passes {
        let known: Option<(Uuid,)> = tx_run!(tx, c => sqlx::query_as("SELECT id FROM ticket_types WHERE id = $1")
            .bind(p).fetch_optional(c).await)?;
        if known.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}
