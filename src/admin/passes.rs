//! The passes editor (`/admin/tickets`): ticket types edited cell by cell. Each save names one
//! field, carries the version the admin saw (two admins never overwrite each other silently), is
//! checked on the server (capacity never below the seats sold or reserved), and is audited with
//! before/after (`UPDATE_PRICE`, `UPDATE_QUOTA`, `UPDATE_TICKET_TYPE`).
use super::ui::CellChange;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A pass as the editor shows it; instants as `YYYY-MM-DDTHH:MM` in the conference's time zone
/// (what an `<input type="datetime-local">` reads and writes), empty when unset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub capacity: i64,
    pub sold: i64,
    pub reserved: i64,
    /// Seats held by vouchers and waiting-list offers.
    pub held: i64,
    /// People on the waiting list.
    pub waiting: i64,
    pub is_active: bool,
    /// Sold only through a voucher that unlocks it.
    pub is_hidden: bool,
    /// Each ticket needs its holder's name and e-mail at checkout.
    pub names_required: bool,
    pub sales_start_at: String,
    pub sales_end_at: String,
    pub valid_from: String,
    pub valid_until: String,
    pub version: i64,
    /// Its VAT rate in percent ("20", "5.5"); empty: the settings' default.
    pub vat_rate: String,
    /// The settings' default rate, in percent.
    pub vat_default: String,
}

/// The fields a cell edits.
pub const FIELDS: [&str; 13] = [
    "name",
    "description",
    "price",
    "currency",
    "vat_rate",
    "capacity",
    "is_active",
    "is_hidden",
    "names_required",
    "sales_start_at",
    "sales_end_at",
    "valid_from",
    "valid_until",
];

#[server(prefix = "/api", endpoint = "admin_passes")]
pub async fn admin_passes() -> Result<Vec<PassRow>, AppError> {
    crate::accounts::session::admin_read(service::passes).await
}

/// Saves one field of a pass; refused when the pass changed since `version` was read.
#[server(prefix = "/api", endpoint = "admin_update_pass")]
pub async fn admin_update_pass(#[server(flatten)] cell: CellChange) -> Result<PassRow, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    let edit = cell.by(admin.id);
    let row = service::update(&state, edit).await?;
    if matches!(cell.field.as_str(), "capacity" | "is_active") {
        // Seats added go to the waiting list first.
        crate::waitlist::service::offer_seats_soon(&state).await;
    }
    Ok(row)
}

/// Adds a new pass, not on sale until it is made active.
#[server(prefix = "/api", endpoint = "admin_create_pass")]
pub async fn admin_create_pass() -> Result<PassRow, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::create(&state.db, &state.config, admin.id).await
}

#[cfg(feature = "ssr")]
pub mod service;

#[cfg(test)]
mod tests {
    #[test]
    fn prices_are_parsed_to_exact_cents() {
        use crate::money::parse_price;
        for (typed, cents) in [
            ("120", 12_000),
            ("120,5", 12_050),
            (" 1 200,05 € ", 120_005),
            ("0.99", 99),
        ] {
            assert_eq!(parse_price(typed), Some(cents), "{typed}");
        }
        for bad in ["", "-1", "1.999", "abc", "1,2,3", "12e3"] {
            assert_eq!(parse_price(bad), None, "{bad}");
        }
        assert_eq!(crate::money::price_text(12_050), "120.50");
    }
}
