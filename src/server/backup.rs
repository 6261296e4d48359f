//! `tessera backup FILE` and `tessera restore FILE [--force]`.
//!
//! SQLite: the backup is an online, consistent copy taken while the site runs (`VACUUM INTO`,
//! one read transaction: writers go on meanwhile, and the copy is the database as of its start),
//! checked before the command says it is done. A restore (the site stopped; a database that holds
//! data is replaced only with `--force`) copies the backup beside the database, brings the copy up
//! to this version's schema and checks it, then swaps it in with one rename, keeping the replaced
//! database aside; a failure at any step leaves the database as it was.
//!
//! PostgreSQL: `pg_dump` and `pg_restore` do it better than we would; the commands print how.
use super::db::{beside, canonical, lock_path, open_lock};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};

/// What a database holds, printed after a backup or a restore.
#[derive(Debug)]
pub struct Summary {
    pub users: i64,
    pub orders_paid: i64,
    pub tickets: i64,
    pub bytes: u64,
    /// The database file summed up (the backup, or the database restored).
    pub at: PathBuf,
    /// Where a restore put the database it replaced.
    pub kept_aside: Option<PathBuf>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} accounts, {} paid orders, {} tickets, {} KiB",
            self.users,
            self.orders_paid,
            self.tickets,
            self.bytes.div_ceil(1024)
        )?;
        match &self.kept_aside {
            Some(p) => write!(f, "; the database it replaced is kept as {}", p.display()),
            None => Ok(()),
        }
    }
}

pub fn pg_dump_recipe(file: &str) -> String {
    format!(
        "On PostgreSQL, back up with pg_dump (consistent while the site runs):\n  \
         pg_dump --format=custom --no-owner --file '{file}' \"$DATABASE_URL\"\n\
         (see the README, \"Backups\")"
    )
}

pub fn pg_restore_recipe(file: &str) -> String {
    format!(
        "On PostgreSQL, restore with pg_restore into a new, empty database, then point \
         DATABASE_URL at it and start tessera (it brings the schema up to date):\n  \
         createdb tessera_restored && pg_restore --no-owner --dbname postgres://…/tessera_restored '{file}'\n\
         (see the README, \"Backups\")"
    )
}

/// The file of a `sqlite:` URL, as the server opens it (sqlx reads the URL: `sqlite:data/t.db`,
/// `sqlite://…`, percent-escapes, options after `?`); none for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    use std::str::FromStr;
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let path = SqliteConnectOptions::from_str(url)
        .ok()?
        .get_filename()
        .to_path_buf();
    plain_file(&path).ok()?;
    (!path.as_os_str().is_empty()).then_some(path)
}

/// Refuses a `file:` URI where a path is meant: SQLite would read it as a URI (another file).
fn plain_file(path: &Path) -> Result<(), String> {
    match path.to_str() {
        Some(p) if p.starts_with("file:") => Err(format!(
            "{p}: name the file by its path, not as a file: URI"
        )),
        _ => Ok(()),
    }
}

/// A read-only connection to a database file (its WAL read too).
async fn open_read_only(file: &Path) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
}

/// Creates `file`, which must not exist, empty and readable by its owner only (a backup holds
/// personal data and password hashes); `VACUUM INTO` then fills it.
fn create_private(file: &Path) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file).map(|_| ()).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!(
                "{} exists: a backup never overwrites a file",
                file.display()
            )
        }
        _ => format!("{}: {e}", file.display()),
    })
}

/// Copies the SQLite database `source` into `target` (created here: it must not exist) as one
/// consistent snapshot, with what its WAL holds; `target` is removed again on failure.
async fn vacuum_into(source: &Path, target: &Path) -> Result<(), String> {
    let into = target.to_str().ok_or("the path is not UTF-8")?.to_string();
    create_private(target)?;
    let copied = async {
        let mut conn = open_read_only(source).await?;
        let done = sqlx::query("VACUUM INTO $1")
            .bind(&into)
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        done.map(|_| ())
    }
    .await;
    copied.map_err(|e| {
        let _ = std::fs::remove_file(target);
        format!("copy into {} failed: {e}", target.display())
    })
}

/// Brings a database file (not open elsewhere) up to this version's schema.
async fn migrate(file: &Path) -> Result<(), String> {
    let failed = |e: String| {
        format!(
            "{} cannot be brought up to this version's schema: {e}",
            file.display()
        )
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .connect()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let done = sqlx::migrate!("./migrations/sqlite").run(&mut conn).await;
    let _ = conn.close().await;
    done.map_err(|e| failed(e.to_string()))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Copies the live SQLite database at `url` into `file` (which must not exist) and checks the copy.
pub async fn backup(url: &str, file: &Path) -> Result<Summary, String> {
    if is_postgres(url) {
        return Err(pg_dump_recipe(&file.display().to_string()));
    }
    let source = sqlite_path(url).ok_or("DATABASE_URL is not a SQLite file")?;
    if !source.is_file() {
        return Err(format!("no database at {}", source.display()));
    }
    plain_file(file)?;
    // The server's shared lock: no restore replaces the database while it is copied.
    let lock = open_lock(&source).map_err(|e| format!("{}: {e}", lock_path(&source).display()))?;
    if lock.try_lock_shared().is_err() {
        return Err(format!("{} is being restored", source.display()));
    }
    vacuum_into(&source, file).await?;
    check(file).await
}

/// Replaces the SQLite database at `url` with the backup `file`, brought up to this version first.
pub async fn restore(url: &str, file: &Path, force: bool) -> Result<Summary, String> {
    if is_postgres(url) {
        return Err(pg_restore_recipe(&file.display().to_string()));
    }
    let target = sqlite_path(url).ok_or("DATABASE_URL is not a SQLite file")?;
    plain_file(file)?;
    check(file).await?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // The file itself when the path is a link: its WAL lives beside the file, not the link.
    let real = canonical(&target);
    // No process may have the database open while it is replaced (each holds a shared lock).
    let lock = open_lock(&real).map_err(|e| format!("{}: {e}", lock_path(&real).display()))?;
    if lock.try_lock().is_err() {
        return Err(format!(
            "{} is open (the site runs on it, or another restore): stop it first",
            real.display()
        ));
    }
    let exists = real.is_file();
    if exists && !force && holds_data(&real).await? {
        return Err(format!(
            "{} holds data: stop the site, then restore with --force to replace it",
            real.display()
        ));
    }
    // The backup is copied beside the database (with what its own WAL holds), brought up to this
    // version's schema and checked before the database is touched: a backup this version cannot
    // read (one from a newer version) leaves everything as it was.
    let staging = beside(&real, &format!(".restoring-{}", std::process::id()));
    vacuum_into(file, &staging).await?;
    let staged = match migrate(&staging).await {
        Ok(()) => check(&staging).await,
        Err(e) => Err(e),
    };
    let summary = staged.inspect_err(|_| {
        let _ = std::fs::remove_file(&staging);
    })?;
    let aside = exists.then(|| unused_aside(&real));
    if let Err(e) = swap_in(&real, &staging, aside.as_deref()) {
        let _ = std::fs::remove_file(&staging);
        return Err(e);
    }
    drop(lock);
    Ok(Summary {
        at: real,
        kept_aside: aside,
        ..summary
    })
}

/// A name beside the database for the one a restore replaces, used by nothing yet.
fn unused_aside(real: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut n = 1;
    loop {
        let aside = match n {
            1 => beside(real, &format!(".before-restore-{stamp}")),
            n => beside(real, &format!(".before-restore-{stamp}-{n}")),
        };
        if ["", "-wal", "-shm", "-journal"]
            .iter()
            .all(|s| !beside(&aside, s).exists())
        {
            return aside;
        }
        n += 1;
    }
}

/// Puts `staging` in the database's place. The old database is kept as `aside` (a hard link, so
/// the database's path is never empty) with its WAL, shared memory and journal (which SQLite
/// would otherwise replay onto the new file); the last step is one rename over the path. On a
/// failure, everything is put back as it was.
fn swap_in(real: &Path, staging: &Path, aside: Option<&Path>) -> Result<(), String> {
    let fail = |from: &Path, to: &Path, e: std::io::Error| {
        format!("{} → {}: {e}", from.display(), to.display())
    };
    let Some(aside) = aside else {
        return std::fs::rename(staging, real).map_err(|e| fail(staging, real, e));
    };
    std::fs::hard_link(real, aside).map_err(|e| fail(real, aside, e))?;
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let undo = |moved: &[(PathBuf, PathBuf)]| {
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::rename(to, from);
        }
        let _ = std::fs::remove_file(aside);
    };
    for suffix in ["-wal", "-shm", "-journal"] {
        let (from, to) = (beside(real, suffix), beside(aside, suffix));
        match std::fs::rename(&from, &to) {
            Ok(()) => moved.push((from, to)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                undo(&moved);
                return Err(fail(&from, &to, e));
            }
        }
    }
    std::fs::rename(staging, real).map_err(|e| {
        undo(&moved);
        fail(staging, real, e)
    })
}

/// Whether the database file has accounts or orders (an empty, freshly made one may be replaced).
async fn holds_data(target: &Path) -> Result<bool, String> {
    let mut conn = open_read_only(target)
        .await
        .map_err(|e| format!("{}: {e}", target.display()))?;
    let n: Result<(i64,), _> =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM orders)")
            .fetch_one(&mut conn)
            .await;
    let _ = conn.close().await;
    // No such tables: not a Tessera database yet, nothing of ours to lose… but some file: keep it.
    Ok(n.map_or(true, |(n,)| n > 0))
}

/// Opens a database file read-only and checks that it is whole and is Tessera's.
async fn check(file: &Path) -> Result<Summary, String> {
    let bad = |e: sqlx::Error| format!("{} is not a usable backup: {e}", file.display());
    let mut conn = open_read_only(file).await.map_err(bad)?;
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(bad)?;
    if integrity != "ok" {
        return Err(format!("{} is damaged: {integrity}", file.display()));
    }
    let count = |sql: &'static str| sqlx::query_as::<_, (i64,)>(sql);
    let users = count("SELECT COUNT(*) FROM users")
        .fetch_one(&mut conn)
        .await;
    let paid = count("SELECT COUNT(*) FROM orders WHERE status = 'PAID'")
        .fetch_one(&mut conn)
        .await;
    let tickets = count("SELECT COUNT(*) FROM tickets")
        .fetch_one(&mut conn)
        .await;
    let _ = conn.close().await;
    let (Ok((users,)), Ok((orders_paid,)), Ok((tickets,))) = (users, paid, tickets) else {
        return Err(format!("{} is not a Tessera database", file.display()));
    };
    Ok(Summary {
        users,
        orders_paid,
        tickets,
        bytes: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        at: file.to_path_buf(),
        kept_aside: None,
    })
}

#[cfg(test)]
mod tests {
    use super::{backup, restore, sqlite_path};
    use crate::server::db::Db;
    use std::path::PathBuf;

    async fn add_users(db: &Db, n: usize) {
        let Db::Sqlite(pool, _) = db else {
            panic!("a SQLite database")
        };
        for _ in 0..n {
            add_user(pool).await.unwrap();
        }
    }

    async fn add_user<'c>(
        conn: impl sqlx::Executor<'c, Database = sqlx::Sqlite>,
    ) -> Result<(), sqlx::Error> {
        let now = crate::server::state::now();
        let id = uuid::Uuid::new_v4();
        sqlx::query("INSERT INTO users (id, email, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)")
            .bind(id).bind(format!("{id}@example.org")).bind(now).execute(conn).await.map(|_| ())
    }

    async fn users_in(file: &std::path::Path) -> i64 {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file)
            .immutable(true)
            .connect()
            .await
            .unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        n
    }

    #[tokio::test]
    async fn a_restore_takes_the_backups_last_writes_and_keeps_every_database_it_replaced() {
        use sqlx::{ConnectOptions, Connection};
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let url = |name: &str| format!("sqlite:{}", path(name).display());
        let source = Db::connect(&url("source.db"), 2).await.unwrap();
        source.migrate().await.unwrap();
        source.close().await;
        // A backup file still open elsewhere: its last writes are in its WAL only.
        let mut writer = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path("source.db"))
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", "0")
            .connect()
            .await
            .unwrap();
        // The schema in the file itself (the pool's last close may have left it in the WAL).
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut writer)
            .await
            .unwrap();
        for _ in 0..3 {
            add_user(&mut writer).await.unwrap();
        }
        assert_eq!(
            users_in(&path("source.db")).await,
            0,
            "not in the file itself"
        );
        let restored = restore(&url("live.db"), &path("source.db"), false)
            .await
            .unwrap();
        assert_eq!(restored.users, 3, "what the backup's WAL holds is restored");
        assert_eq!(restored.kept_aside, None, "nothing was replaced");

        // A backup is readable by its owner only, and never overwrites a file.
        let small = path("small.db");
        let other = Db::connect(&url("other.db"), 2).await.unwrap();
        other.migrate().await.unwrap();
        add_users(&other, 1).await;
        assert_eq!(backup(&url("other.db"), &small).await.unwrap().users, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&small).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(backup(&url("other.db"), &small).await.is_err());
        other.close().await;

        // Two restores over it in a row: each database replaced is kept, under its own name.
        let first = restore(&url("live.db"), &small, true).await.unwrap();
        assert_eq!(first.users, 1);
        add_user(&mut writer).await.unwrap();
        let second = restore(&url("live.db"), &path("source.db"), true)
            .await
            .unwrap();
        assert_eq!(second.users, 4);
        let (a, b) = (first.kept_aside.unwrap(), second.kept_aside.unwrap());
        assert_ne!(a, b);
        // Undo: the first database replaced comes back whole.
        let undone = restore(&url("live.db"), &a, true).await.unwrap();
        assert_eq!(undone.users, 3);
        assert!(b.exists());

        // A backup this version cannot read (from a newer one) leaves the database as it was.
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99990101000000, 'from a newer version', TRUE, x'00', 0)")
            .execute(&mut writer)
            .await
            .unwrap();
        let refused = restore(&url("live.db"), &path("source.db"), true).await;
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(
            users_in(&path("live.db")).await,
            3,
            "the database is untouched"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.contains(".restoring")),
            "no copy left behind: {names:?}"
        );
        writer.close().await.unwrap();
    }

    #[test]
    fn the_file_of_a_sqlite_url() {
        assert_eq!(
            sqlite_path("sqlite:data/t.db"),
            Some(PathBuf::from("data/t.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/t.db?mode=rwc"),
            Some(PathBuf::from("/tmp/t.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite:file:t?mode=memory"), None);
        assert_eq!(
            sqlite_path("sqlite:file:t.db"),
            None,
            "a URI names another file"
        );
        assert_eq!(
            sqlite_path("sqlite:my%20data/t.db"),
            Some(PathBuf::from("my data/t.db")),
            "the file the server opens"
        );
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }
}
