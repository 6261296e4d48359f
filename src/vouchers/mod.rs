//! Vouchers: codes that lower a pass's price (percentage, amount off, set price), unlock a hidden
//! pass (speakers), or hold seats for someone (sponsors; the waiting list's offers are personal
//! one-seat vouchers). A use is a seat; uses are counted by one conditional UPDATE inside the
//! order's transaction and given back when the order is released or refunded.
pub mod admin_page;
pub mod components;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{accounts::text_enum, admin::ui::CellChange, error::AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

text_enum!(
    /// What a voucher does to the price of each seat it covers.
    VoucherEffect { Percent => "PERCENT", Amount => "AMOUNT", Price => "PRICE" }
);

impl VoucherEffect {
    /// The price of one seat of a pass listed at `list` cents: never below 0, never above `list`;
    /// a percentage rounds the discount half up to the cent. Checked: no input reaches an overflow.
    pub fn unit_price(self, value: i64, list: i64) -> Option<i64> {
        let value = value.max(0);
        let price = match self {
            VoucherEffect::Percent => {
                let off = list.checked_mul(value.min(100))?.checked_add(50)? / 100;
                list.checked_sub(off)?
            }
            VoucherEffect::Amount => list.checked_sub(value.min(list))?,
            VoucherEffect::Price => value.min(list),
        };
        Some(price.clamp(0, list.max(0)))
    }
}

/// A valid code as the shop shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedVoucher {
    pub code: String,
    pub effect: VoucherEffect,
    pub value: i64,
    /// The pass it applies to (all when `None`).
    pub pass_name: Option<String>,
    /// Seats it still covers.
    pub uses_left: i64,
    /// A waiting-list offer: the seat is held until then ("26/11 10:42", conference time).
    pub personal_until: Option<String>,
}

/// A voucher as the back office lists it; instants as `YYYY-MM-DDTHH:MM` in the conference's time
/// zone, empty when unset; the value as typed (percent, or an amount like "25.00").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherRow {
    pub id: Uuid,
    pub code: String,
    pub tag: String,
    pub ticket_type_id: Option<Uuid>,
    pub pass_name: Option<String>,
    pub effect: VoucherEffect,
    pub value: String,
    pub max_uses: i64,
    pub uses: i64,
    pub valid_from: String,
    pub valid_until: String,
    pub unlocks_hidden: bool,
    pub holds_seats: bool,
    /// Seats it holds now (0 once its hold ended).
    pub held: i64,
    /// A waiting-list offer, for this person.
    pub personal: bool,
    /// Orders that used it (a voucher once used is ended, never deleted).
    pub orders: i64,
    pub version: i64,
}

/// The fields a cell of the vouchers table edits.
pub const FIELDS: [&str; 10] = [
    "code",
    "tag",
    "ticket_type_id",
    "effect",
    "value",
    "max_uses",
    "valid_from",
    "valid_until",
    "unlocks_hidden",
    "holds_seats",
];

/// The largest batch made at once.
pub const MAX_BATCH: i64 = 500;

#[server(prefix = "/api", endpoint = "admin_vouchers")]
pub async fn admin_vouchers(tag: Option<String>) -> Result<Vec<VoucherRow>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::list(&state.db, &state.config, tag.as_deref().unwrap_or("")).await
}

/// Creates `count` vouchers (1: with `code` if given, else generated; more: generated, grouped by
/// `tag`), all with the same effect, pass and uses (by default: 0 % off every pass, once, so that
/// nothing is given away before the admin says what the codes do). Audited `CREATE_VOUCHER`.
#[server(prefix = "/api", endpoint = "admin_create_vouchers")]
pub async fn admin_create_vouchers(
    count: String,
    code: String,
    tag: String,
    #[server(default)] effect: Option<String>,
    #[server(default)] value: Option<String>,
    #[server(default)] ticket_type_id: Option<String>,
    #[server(default)] max_uses: Option<String>,
) -> Result<Vec<VoucherRow>, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    let batch = service::Batch {
        count: &count,
        code: &code,
        tag: &tag,
        effect: effect.as_deref().unwrap_or(""),
        value: value.as_deref().unwrap_or(""),
        pass: ticket_type_id.as_deref().unwrap_or(""),
        max_uses: max_uses.as_deref().unwrap_or(""),
    };
    service::create(&state.db, &state.config, admin.id, &batch).await
}

/// Saves one field of a voucher, refused when it changed since `version`; held seats follow
/// (taken from the pass only if free). Audited `UPDATE_VOUCHER` with before/after.
#[server(prefix = "/api", endpoint = "admin_update_voucher")]
pub async fn admin_update_voucher(
    #[server(flatten)] cell: CellChange,
) -> Result<VoucherRow, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::update(&state, cell.by(admin.id)).await
}

/// Deletes a voucher no order used (its held seats go back); a used one can only be ended (its
/// end date set to now). Audited `DELETE_VOUCHER`.
#[server(prefix = "/api", endpoint = "admin_delete_voucher")]
pub async fn admin_delete_voucher(id: Uuid, version: i64) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::delete(&state.db, admin.id, id, version).await
}

/// The passes a voucher can name (hidden ones included), for the table's select: (id, name, hidden).
#[server(prefix = "/api", endpoint = "admin_voucher_passes")]
pub async fn admin_voucher_passes() -> Result<Vec<(Uuid, String, bool)>, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::passes(&state.db).await
}
