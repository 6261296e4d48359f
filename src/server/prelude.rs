//! What nearly every service file uses: `use crate::server::prelude::*;` instead of the same
//! ten-line import block in each of them.
pub use crate::{
    db_run, db_write,
    error::AppError,
    server::{
        audit::{audit, Audit},
        config::Config,
        db::{Db, Tx},
        state::{now, AppState, CellEdit},
    },
    tx_run,
};
pub use chrono::{DateTime, Utc};
pub use uuid::Uuid;
