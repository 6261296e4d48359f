//! The programme for other tools: `/schedule.json` (c3voc/pretalx JSON), `/schedule.xml` (frab)
//! and `/schedule.ics`, written from the talks (`model`, `json`, `xml`, `http`); and the other way,
//! a pretalx or Tessera schedule imported by GUID (`import` reads the file, `service` writes it),
//! from a URL, a file, or every `SCHEDULE_IMPORT_MINUTES` from `SCHEDULE_IMPORT_URL`. Page:
//! `/admin/schedule` (`admin_page`).
pub mod admin_page;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod json;
#[cfg(feature = "ssr")]
pub mod model;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod xml;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What an import does to one talk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Created,
    /// These fields changed.
    Updated(Vec<String>),
    Unchanged,
    /// Imported before and gone from the file: kept until removed on confirmation.
    Gone(Uuid),
    Removed,
}

/// What an import did (or, not `applied`, would do): each talk of the file and each imported
/// talk gone from it, by title.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub applied: bool,
    pub talks: Vec<(String, Outcome)>,
}

impl ImportReport {
    /// How many talks had an outcome of this kind (`Updated` and `Gone` whatever their content).
    pub fn count(&self, kind: &Outcome) -> usize {
        let same = |o: &Outcome| std::mem::discriminant(o) == std::mem::discriminant(kind);
        self.talks.iter().filter(|(_, o)| same(o)).count()
    }
}

/// One import as the back office lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    pub source: String,
    /// The admin's address (none: the periodic import).
    pub by: Option<String>,
    pub at: String,
    /// Created, updated, unchanged, removed, gone.
    pub counts: [i64; 5],
    pub error: Option<String>,
}

/// `/admin/schedule`: the last imports and the periodic import's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleAdmin {
    pub runs: Vec<ImportRun>,
    /// `SCHEDULE_IMPORT_URL`, imported every `minutes`.
    pub url: Option<String>,
    pub minutes: i64,
}

#[server(prefix = "/api", endpoint = "admin_schedule")]
pub async fn admin_schedule() -> Result<ScheduleAdmin, AppError> {
    crate::accounts::session::admin_read(service::admin_view).await
}

/// Imports a schedule from `url`, or from `content` (a file read by the browser, named
/// `file_name`). `apply` false: a dry run answering what it would do. `remove_gone`: the talks
/// imported before and gone from the file are removed (their attendees told). Admins only; audited.
#[server(prefix = "/api", endpoint = "admin_schedule_import")]
pub async fn admin_schedule_import(
    #[server(default)] url: String,
    #[server(default)] content: String,
    #[server(default)] file_name: String,
    #[server(default)] apply: bool,
    #[server(default)] remove_gone: bool,
) -> Result<ImportReport, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    let (source, talks) = if !url.trim().is_empty() {
        (
            url.trim().to_string(),
            service::fetch(&state.config, &url).await?,
        )
    } else if !content.trim().is_empty() {
        let name = crate::text::one_line(&file_name);
        let talks = import::parse(&content, state.config.timezone)?;
        (format!("file:{name}"), talks)
    } else {
        return Err(AppError::invalid("file", "schedule.import.error.nothing"));
    };
    let what = service::Import {
        source: &source,
        by: Some(admin.id),
        apply,
        remove_gone,
    };
    service::import(&state, &what, &talks).await
}
