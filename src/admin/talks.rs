//! The programme editor (`/admin/programme`): talks edited cell by cell like the passes. Each save
//! names one field and carries the version the admin saw; bad values are refused on their field;
//! a talk overlapping another in the same room is flagged (a warning, not a block). Audited:
//! `UPDATE_TALK` (field, before, after), `CREATE_TALK`, `DELETE_TALK`.
use super::ui::CellChange;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A talk as the editor shows it; instants as `YYYY-MM-DDTHH:MM` in the conference's time zone
/// (they compare as text, which is how the page finds overlaps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalkRow {
    pub id: Uuid,
    pub title: String,
    pub theme: String,
    pub start_at: String,
    pub end_at: String,
    pub location: String,
    pub speaker_name: String,
    pub description: String,
    pub version: i64,
    /// How many attendees saved it.
    pub saved_by: i64,
}

pub const FIELDS: [&str; 6] = [
    "title",
    "theme",
    "start_at",
    "end_at",
    "location",
    "speaker_name",
];

/// The titles of the talks that share `row`'s room and time.
pub fn overlaps(rows: &[TalkRow], row: &TalkRow) -> Vec<String> {
    if row.location.trim().is_empty() {
        return vec![];
    }
    rows.iter()
        .filter(|o| {
            o.id != row.id
                && o.location == row.location
                && o.start_at < row.end_at
                && row.start_at < o.end_at
        })
        .map(|o| o.title.clone())
        .collect()
}

#[server(prefix = "/api", endpoint = "admin_talks")]
pub async fn admin_talks() -> Result<Vec<TalkRow>, AppError> {
    crate::accounts::session::admin_read(service::talks).await
}

#[server(prefix = "/api", endpoint = "admin_update_talk")]
pub async fn admin_update_talk(#[server(flatten)] cell: CellChange) -> Result<TalkRow, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::update(&state, cell.by(admin.id)).await
}

#[server(prefix = "/api", endpoint = "admin_create_talk")]
pub async fn admin_create_talk() -> Result<TalkRow, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::create(&state.db, &state.config, admin.id).await
}

/// Copies a talk (same theme, times, room, speaker and description; the title marked as a copy),
/// for a session given twice or a series of similar workshops.
#[server(prefix = "/api", endpoint = "admin_duplicate_talk")]
pub async fn admin_duplicate_talk(id: Uuid) -> Result<TalkRow, AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::duplicate(&state.db, &state.config, admin.id, id).await
}

#[server(prefix = "/api", endpoint = "admin_delete_talk")]
pub async fn admin_delete_talk(id: Uuid, version: i64) -> Result<(), AppError> {
    let (admin, state) = crate::accounts::session::admin_state().await?;
    service::delete(&state.db, &state.config, admin.id, id, version).await?;
    // Those who had saved the talk are told at once.
    state.mailer.wake();
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod service;

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(title: &str, room: &str, start: &str, end: &str) -> TalkRow {
        TalkRow {
            id: Uuid::new_v4(),
            title: title.into(),
            theme: "Tech".into(),
            start_at: start.into(),
            end_at: end.into(),
            location: room.into(),
            speaker_name: String::new(),
            description: String::new(),
            version: 1,
            saved_by: 0,
        }
    }

    #[test]
    fn overlaps_are_same_room_and_intersecting_times_only() {
        let a = talk("A", "Salle 1", "2027-06-10T10:00", "2027-06-10T10:45");
        let b = talk("B", "Salle 1", "2027-06-10T10:30", "2027-06-10T11:00");
        let c = talk("C", "Salle 1", "2027-06-10T10:45", "2027-06-10T11:30");
        let d = talk("D", "Salle 2", "2027-06-10T10:00", "2027-06-10T10:45");
        let rows = vec![a.clone(), b.clone(), c.clone(), d.clone()];
        assert_eq!(overlaps(&rows, &a), vec!["B".to_string()]);
        assert_eq!(overlaps(&rows, &b), vec!["A".to_string(), "C".to_string()]);
        assert!(overlaps(&rows, &d).is_empty(), "another room");
    }
}
