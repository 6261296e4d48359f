//! The programme's pages, each in its own file: `/` (the programme, filterable), `/talks/:id` (one
//! talk), `/me/programme` (my talks), and the pieces they share (`widgets`), re-exported here so
//! `crate::programme::components::…` paths keep working.
pub use super::my_programme_page::*;
pub use super::programme_page::*;
pub use super::talk_page::*;
pub use super::widgets::*;
