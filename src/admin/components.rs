//! The back office's pages, each in its own file, and their shared UI (`ui`), re-exported here so
//! `crate::admin::components::…` paths keep working.
pub use super::attendees_page::*;
pub use super::audit_page::*;
pub use super::mail_page::*;
pub use super::orders_page::*;
pub use super::passes_page::*;
pub use super::programme_page::*;
pub use super::ui::*;
pub use super::users_page::*;
