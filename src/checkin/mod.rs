//! The event day: check-in lists (which passes, when, once / per day / in and out), every entry a
//! row, counters and arrivals, badges. `rules` is the one decision the server and the door's phones
//! share; `service` keeps lists and entries (server), `http` serves the badges' PDF, `badges` draws
//! it, `admin_page` is the lists' part of `/admin/door`.
pub mod admin_page;
#[cfg(feature = "ssr")]
pub mod badges;
#[cfg(feature = "ssr")]
pub mod http;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;

use crate::error::AppError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The list every install starts with ("Entrée": every pass, once per day).
pub const ENTRANCE: Uuid = Uuid::from_u128(0xe0);

/// How often a list lets a ticket in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// Once for the whole event.
    Once,
    /// Once per conference day, within the pass's days.
    Daily,
    /// In and out again; exits are scanned, and the list counts who is inside.
    InOut,
}

impl Rule {
    pub const ALL: [Rule; 3] = [Rule::Daily, Rule::Once, Rule::InOut];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Once => "ONCE",
            Rule::Daily => "DAILY",
            Rule::InOut => "INOUT",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Rule::Once => "checkin.rule.once",
            Rule::Daily => "checkin.rule.daily",
            Rule::InOut => "checkin.rule.inout",
        }
    }
}

impl TryFrom<String> for Rule {
    type Error = String;
    fn try_from(s: String) -> Result<Rule, String> {
        Rule::parse(&s).ok_or(s)
    }
}

/// An entry or an exit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    #[default]
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "IN",
            Direction::Out => "OUT",
        }
    }
}

impl TryFrom<String> for Direction {
    type Error = String;
    fn try_from(s: String) -> Result<Direction, String> {
        match s.as_str() {
            "IN" => Ok(Direction::In),
            "OUT" => Ok(Direction::Out),
            _ => Err(s),
        }
    }
}

/// A check-in list as the door and the back office see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinList {
    pub id: Uuid,
    pub name: String,
    pub rule: Rule,
    /// Every pass, or only `passes`.
    pub all_passes: bool,
    pub passes: Vec<Uuid>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    /// The same instants in conference time, as a `datetime-local` field shows them.
    pub opens_local: String,
    pub closes_local: String,
    /// The workshop whose booked attendees alone get in.
    pub talk_id: Option<Uuid>,
    pub talk_title: Option<String>,
    pub archived: bool,
}

/// A list as the back office edits it (times in conference time, `YYYY-MM-DDTHH:MM`, or empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDraft {
    pub id: Option<Uuid>,
    pub name: String,
    pub rule: String,
    pub all_passes: bool,
    pub passes: Vec<Uuid>,
    pub opens_at: String,
    pub closes_at: String,
    pub talk_id: Option<Uuid>,
}

/// A choice in the lists' editor (a pass, a workshop).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: Uuid,
    pub name: String,
}

/// `/admin/door`'s lists: every list (archived too), and what they may name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListsAdmin {
    pub lists: Vec<CheckinList>,
    pub passes: Vec<Choice>,
    pub workshops: Vec<Choice>,
    /// Every talk, to make one a workshop; and the workshops' seats (talk, capacity, booked).
    pub talks: Vec<Choice>,
    pub seats: Vec<(Uuid, i64, i64)>,
}

/// Checked in / expected for one pass type (expected: tickets not canceled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassCount {
    pub pass: String,
    pub checked_in: i64,
    pub expected: i64,
}

/// One list's counters for today: checked in / expected per pass, and who is inside now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCounters {
    pub list_id: Uuid,
    pub day: String,
    pub rows: Vec<PassCount>,
    pub checked_in: i64,
    pub expected: i64,
    /// In/out lists: how many are inside now.
    pub inside: Option<i64>,
}

/// Arrivals on one list during a day, per quarter hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListArrivals {
    pub list_id: Uuid,
    pub name: String,
    pub rule: Rule,
    /// ("09:15", entries that quarter), the quarters with entries, in order.
    pub quarters: Vec<(String, i64)>,
    pub total: i64,
    pub inside: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrivals {
    pub day: String,
    pub lists: Vec<ListArrivals>,
}

#[cfg(feature = "ssr")]
async fn require_door() -> Result<crate::accounts::AuthUser, AppError> {
    use crate::accounts::Role;
    crate::accounts::session::require_role(&[Role::StaffScan, Role::Admin]).await
}

/// The lists a steward may pick at the door (not archived).
#[server(prefix = "/api", endpoint = "checkin_lists")]
pub async fn checkin_lists() -> Result<Vec<CheckinList>, AppError> {
    require_door().await?;
    let state = crate::server::state()?;
    let lists = service::lists(&state.db, &state.config).await?;
    Ok(lists.into_iter().filter(|l| !l.archived).collect())
}

/// Today's counters of one list.
#[server(prefix = "/api", endpoint = "checkin_counters")]
pub async fn checkin_counters(list_id: Uuid) -> Result<ListCounters, AppError> {
    require_door().await?;
    let state = crate::server::state()?;
    service::counters(
        &state.db,
        &state.config,
        list_id,
        crate::server::state::now(),
    )
    .await
}

/// Every list, with the passes and workshops the editor offers. Admins only.
#[server(prefix = "/api", endpoint = "admin_checkin_lists")]
pub async fn admin_checkin_lists() -> Result<ListsAdmin, AppError> {
    crate::accounts::session::admin_read(service::lists_admin).await
}

/// Creates (no id) or changes a list. `passes`: `all`, or the pass ids separated by commas or
/// spaces; times in conference time (`YYYY-MM-DDTHH:MM`, empty: none). Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_checkin_list_save")]
pub async fn admin_checkin_list_save(
    id: Option<Uuid>,
    name: String,
    rule: String,
    passes: Option<String>,
    opens_at: Option<String>,
    closes_at: Option<String>,
    talk_id: Option<String>,
) -> Result<Uuid, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    let bad = |field: &str, key: &str| AppError::invalid(field, key);
    let passes = passes.unwrap_or_default();
    let all_passes = passes.trim().eq_ignore_ascii_case("all");
    let passes = if all_passes {
        vec![]
    } else {
        passes
            .split([',', ' ', '\n'])
            .filter(|p| !p.trim().is_empty())
            .take(501)
            .map(|p| Uuid::parse_str(p.trim()).map_err(|_| bad("passes", "checkin.error.passes")))
            .collect::<Result<Vec<_>, _>>()?
    };
    let talk_id = match talk_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(Uuid::parse_str(t).map_err(|_| bad("talk_id", "checkin.error.workshop"))?),
    };
    let draft = ListDraft {
        id,
        name,
        rule,
        all_passes,
        passes,
        opens_at: opens_at.unwrap_or_default(),
        closes_at: closes_at.unwrap_or_default(),
        talk_id,
    };
    service::save(&state.db, &state.config, &admin, &draft).await
}

impl ListDraft {
    /// The passes as the save call takes them: `all`, or the ids joined by commas.
    pub fn passes_field(&self) -> String {
        if self.all_passes {
            return "all".into();
        }
        self.passes
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Archives a list (the door no longer offers it; its entries stay) or brings it back. Admins only.
#[server(prefix = "/api", endpoint = "admin_checkin_list_archive")]
pub async fn admin_checkin_list_archive(list_id: Uuid, archived: bool) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::archive(&state.db, &admin, list_id, archived).await
}

/// Arrivals per quarter hour and list on a day (`YYYY-MM-DD`, conference time; empty: today).
#[server(prefix = "/api", endpoint = "admin_checkin_arrivals")]
pub async fn admin_checkin_arrivals(day: String) -> Result<Arrivals, AppError> {
    let (_, state) = crate::accounts::session::admin_state().await?;
    service::arrivals(&state.db, &state.config, &day, crate::server::state::now()).await
}
