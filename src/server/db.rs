//! One data-access layer over SQLite (embedded default) and PostgreSQL (the scale path).
//!
//! Queries are written once, with `$1, $2…` placeholders that both engines accept, and run
//! through [`db_run!`], which compiles the same body once per engine with native types on each
//! (UUID and TIMESTAMPTZ on Postgres; BLOB and RFC 3339 text on SQLite).
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    PgPool, SqlitePool,
};
use std::{
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::Duration,
};

#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and the gate its write transactions queue at (see [`Db::begin`]).
    Sqlite(SqlitePool, WriteGate),
    Postgres(PgPool),
}

/// SQLite has one writer at a time. Left to SQLite, waiting writers sleep in its busy handler and
/// retry unfairly: the unlucky ones waited hundreds of milliseconds under load. Write
/// transactions queue here instead, first come first served (tokio's mutex is fair), then write
/// through the one connection kept for writing; reads do not queue and use the other pool. The
/// writer's page cache stays warm (only another connection's commit empties it).
#[derive(Clone, Debug)]
pub struct WriteGate {
    turn: Arc<tokio::sync::Mutex<()>>,
    /// One connection: whoever holds `turn` has it to itself.
    pub writer: SqlitePool,
    /// A shared lock on `<database>.lock` while the database is open: `tessera restore` takes it
    /// exclusively, so it never replaces a database a process has open.
    _open: Arc<std::fs::File>,
}

/// The lock file beside a SQLite database: beside its real file, however the path is spelled
/// (through a link, relative), so that the server and `tessera restore` take the same lock.
pub fn lock_path(db: &Path) -> PathBuf {
    beside(&canonical(db), ".lock")
}

/// Opens (making it if need be) the lock file of the SQLite database at `db`: the server holds it
/// shared while the database is open, a backup shared, a restore exclusively.
pub fn open_lock(db: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(db))
}

/// `path` with `suffix` added to its name (`t.db` → `t.db-wal`).
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// A database file's real path: links resolved, absolute; for a file not made yet, its folder's
/// real path and its name.
pub fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(dir), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

impl WriteGate {
    /// Waits for this task's turn to write.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.turn.lock().await
    }
}

/// How much of a SQLite database file is read through a memory map (256 MiB; the rest by `read`).
const MMAP_SIZE: u64 = 256 * 1024 * 1024;

/// Runs `$body` with `$pool` bound to the engine's pool. The body is compiled for both engines.
#[macro_export]
macro_rules! db_run {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool, _) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs one write statement outside a transaction (`$body` with `$pool` bound to the engine's
/// pool): on SQLite it waits its turn at the write gate first, as write transactions do, so that no
/// writer is left to SQLite's unfair busy handler. Never used while the same task holds a [`Tx`]
/// (the gate is not re-entrant).
#[macro_export]
macro_rules! db_write {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite(_, gate) => {
                let _turn = gate.turn().await;
                let $pool = &gate.writer;
                $body
            }
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}

/// A write transaction on either engine; see [`Db::begin`].
pub enum Tx {
    /// The transaction, and its turn at the write gate (released when the transaction ends).
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection (compiled for both engines).
#[macro_export]
macro_rules! tx_run {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(t, _) => {
                let $conn = &mut **t;
                $body
            }
            $crate::server::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite:…` or `postgres://…`), creating a SQLite file and its folder if needed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Reads go through a memory map rather than a copy into each connection's page
                // cache, which every commit of another connection empties: at 32 concurrent
                // checkouts that copying was the largest cost after SQLite's own work.
                .pragma("mmap_size", MMAP_SIZE.to_string())
                // The WAL is copied back into the database by a task of its own (below), not by
                // whichever commit crosses SQLite's 1 000-page mark while the others queue behind.
                .pragma("wal_autocheckpoint", "0");
            if let Some(parent) = opts.get_filename().parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
                }
            }
            let open = open_lock(opts.get_filename()).map_err(sqlx::Error::Io)?;
            open.try_lock_shared().map_err(|_| {
                sqlx::Error::Configuration("a restore of this database is under way".into())
            })?;
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts.clone())
                .await?;
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            let turn: Arc<tokio::sync::Mutex<()>> = Arc::default();
            spawn_checkpointer(pool.clone(), Arc::downgrade(&turn));
            Ok(Db::Sqlite(
                pool,
                WriteGate {
                    turn,
                    writer,
                    _open: Arc::new(open),
                },
            ))
        } else {
            Err(sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(pool, _) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
    }

    /// Opens a write transaction. On SQLite it first waits its turn at the write gate, then is
    /// `BEGIN IMMEDIATE`, which takes the write lock at once: a deferred transaction that writes
    /// later fails with "database is locked" under load.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(_, gate) => {
                let turn = gate.turn.clone().lock_owned().await;
                // Begun in a task of its own: sqlx 0.8 checks a custom BEGIN after starting it, at
                // an await where a request dropped then (a phone gone off the network) left the
                // writer inside a transaction nobody holds; every later write then failed (or
                // `db_write!` wrote into it, never committed).
                let writer = gate.writer.clone();
                let begun = tokio::spawn(async move { writer.begin_with("BEGIN IMMEDIATE").await })
                    .await
                    .map_err(|_| sqlx::Error::WorkerCrashed)?;
                let tx = match begun {
                    Err(sqlx::Error::InvalidSavePointStatement) => {
                        // A writer left inside a transaction anyway: a fresh connection replaces it
                        // (closing the old one rolls its transaction back).
                        tracing::error!(
                            "the SQLite writer was left inside a transaction: reconnecting"
                        );
                        if let Ok(conn) = gate.writer.acquire().await {
                            drop(conn.detach());
                        }
                        gate.writer.begin_with("BEGIN IMMEDIATE").await?
                    }
                    other => other?,
                };
                Tx::Sqlite(tx, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// `SELECT 1`: the readiness probe.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        db_run!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Table and column names of the live schema (for the migration test and diagnostics).
    pub async fn schema_columns(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        match self {
            Db::Sqlite(pool, _) => {
                sqlx::query_as(
                    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE '\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite%'",
                )
                .fetch_all(pool)
                .await
            }
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_%'",
                )
                .fetch_all(pool)
                .await
            }
        }
    }

    /// The pool's connections: (open, idle, most allowed); on SQLite the readers' pool plus the
    /// one writer.
    pub fn pool_usage(&self) -> (u32, u32, u32) {
        match self {
            Db::Sqlite(pool, gate) => (
                pool.size() + gate.writer.size(),
                (pool.num_idle() + gate.writer.num_idle()) as u32,
                pool.options().get_max_connections().saturating_add(1),
            ),
            Db::Postgres(pool) => (
                pool.size(),
                pool.num_idle() as u32,
                pool.options().get_max_connections(),
            ),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, gate) => {
                gate.writer.close().await;
                pool.close().await
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// How often the WAL is copied back into a SQLite database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the WAL back into the database every [`CHECKPOINT_EVERY`] (a passive checkpoint: it
/// never waits for, nor holds up, readers or the writer); the writer then starts the WAL over.
/// Ends with the pool, or once every copy of the [`Db`] is gone (`alive`: its write gate).
fn spawn_checkpointer(pool: SqlitePool, alive: std::sync::Weak<tokio::sync::Mutex<()>>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() && alive.strong_count() > 0 {
            every.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if !pool.is_closed() {
                    tracing::warn!(error = %e, "WAL checkpoint");
                }
            }
        }
    });
}

/// Rows of `sql` for the given ids, `{ids}` in it standing for their placeholders (`$1, $2…`).
pub async fn for_ids<R>(db: &Db, sql: &str, ids: &[uuid::Uuid]) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = sql.replace("{ids}", &marks.join(", "));
    db_run!(db, pool => {
        let mut q = sqlx::query_as(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(pool).await
    })
}

/// A case-insensitive `LIKE` pattern that finds `query` anywhere, its `%`, `_` and backslash taken
/// literally (queries use it with `ESCAPE` and a backslash, on a lowered column).
pub fn like_pattern(query: &str) -> String {
    let escaped = query
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
