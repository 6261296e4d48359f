//! The dashboard `/admin`: tickets sold and revenue per day, fill rate per pass, check-ins over time
//! on conference days, the most saved talks with their room, and how many paid orders used a voucher. Charts are SVG drawn by the same
//! components on the server and in the browser, so they show before hydration and in screenshots.
use crate::error::AppError;
use chrono::{NaiveDate, NaiveTime};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySales {
    pub day: NaiveDate,
    pub tickets: i64,
    pub revenue_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassFill {
    pub name: String,
    pub sold: i64,
    pub reserved: i64,
    pub capacity: i64,
}

/// Check-ins of one conference day, per quarter of an hour (local time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinDay {
    pub day: NaiveDate,
    pub quarters: Vec<(NaiveTime, i64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkSaves {
    pub title: String,
    pub room: String,
    pub saves: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub currency: String,
    pub tickets: i64,
    pub revenue_cents: i64,
    pub checked_in: i64,
    /// Paid orders, those of them that used a voucher, and what the vouchers took off them.
    pub paid_orders: i64,
    pub voucher_orders: i64,
    pub discount_cents: i64,
    /// Every day from the first sale to the last (days without sales count zero).
    pub sales: Vec<DaySales>,
    pub passes: Vec<PassFill>,
    pub checkins: Vec<CheckinDay>,
    /// The ten most saved talks.
    pub saved: Vec<TalkSaves>,
}

#[server(prefix = "/api", endpoint = "admin_dashboard")]
pub async fn admin_dashboard() -> Result<Dashboard, AppError> {
    crate::accounts::session::admin_read(service::dashboard).await
}

#[cfg(feature = "ssr")]
pub mod service;

pub mod components;
