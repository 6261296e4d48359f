//! Vouchers on the server: finding a code, counting its uses inside an order's transaction and
//! giving them back, the seats a voucher holds on its pass, and the back office's edits.
//!
//! Held seats: while a seat-holding voucher's hold runs (`hold_released_at` NULL), its pass's
//! `held_count` includes its unused uses (`max_uses - uses`). Every statement that changes one
//! changes the other in the same transaction, so the public never buys a held seat and the
//! database's CHECK (`reserved + sold + held <= capacity`) guards the sum.
//!
//! In modules of their own (all re-exported here):
//! - `codes`: the voucher as stored, its code (normalised, generated), reading and inserting it;
//! - `redeem`: lookup in the shop, uses taken, taken again and given back, and seat holds;
//! - `admin`: the back office's table (list, create, CSV);
//! - `edit`: the back office's changes to one voucher (update, delete).
use super::{AppliedVoucher, VoucherEffect, VoucherRow, MAX_BATCH};
use crate::server::prelude::*;
use rand::Rng;

mod admin;
mod codes;
mod edit;
mod redeem;

pub use admin::*;
pub use codes::*;
pub use edit::*;
pub use redeem::*;

#[cfg(test)]
mod tests;
