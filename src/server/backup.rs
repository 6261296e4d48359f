//! `tessera backup FILE` and `tessera restore FILE [--force]`.
//!
//! SQLite: the backup is an online, consistent copy taken while the site runs (`VACUUM INTO`,
//! one read transaction: writers go on meanwhile, and the copy is the database as of its start),
//! checked before the command says it is done. A restore checks the file, replaces the database
//! (refusing to overwrite one that holds data unless `--force`; the site must be stopped), then
//! brings it up to this version's schema.
//!
//! PostgreSQL: `pg_dump` and `pg_restore` do it better than we would; the commands print how.
use super::db::Db;
use std::path::{Path, PathBuf};

/// What a database holds, printed after a backup or a restore.
#[derive(Debug, Default)]
pub struct Summary {
    pub users: i64,
    pub orders_paid: i64,
    pub tickets: i64,
    pub bytes: u64,
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
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let path = SqliteConnectOptions::from_str(url)
        .ok()?
        .get_filename()
        .to_path_buf();
    (!path.as_os_str().is_empty()).then_some(path)
}

/// `path` with `suffix` added to its name (`t.db` → `t.db-wal`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
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
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};
    let into = target.to_str().ok_or("the path is not UTF-8")?.to_string();
    create_private(target)?;
    let copied = async {
        let mut conn = SqliteConnectOptions::new()
            .filename(source)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(10))
            .connect()
            .await?;
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
    // Opened as the server opens it (its shared lock: no restore replaces it meanwhile).
    let db = Db::connect(url, 2)
        .await
        .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    let copied = vacuum_into(&source, file).await;
    db.close().await;
    copied?;
    check(file).await
}

/// Replaces the SQLite database at `url` with the backup `file`, then migrates it.
pub async fn restore(url: &str, file: &Path, force: bool) -> Result<Summary, String> {
    if is_postgres(url) {
        return Err(pg_restore_recipe(&file.display().to_string()));
    }
    let target = sqlite_path(url).ok_or("DATABASE_URL is not a SQLite file")?;
    check(file).await?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // No process may have the database open while it is replaced (each holds a shared lock).
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(super::db::lock_path(&target))
        .map_err(|e| format!("{}: {e}", target.display()))?;
    if lock.try_lock().is_err() {
        return Err(format!(
            "{} is open (the site runs on it, or another restore): stop it first",
            target.display()
        ));
    }
    let size = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    if size > 0 && !force && holds_data(&target).await? {
        return Err(format!(
            "{} holds data: stop the site, then restore with --force to replace it",
            target.display()
        ));
    }
    // The file itself when the path is a link (its WAL lives beside the file, not the link).
    let real = std::fs::canonicalize(&target).unwrap_or_else(|_| target.clone());
    // Copied beside the database (with what the backup's own WAL holds), checked, then renamed
    // over it: the database is the old one or the new one, never half of each.
    let staging = beside(&real, ".restoring");
    let _ = std::fs::remove_file(&staging);
    vacuum_into(file, &staging).await?;
    if let Err(e) = check(&staging).await {
        let _ = std::fs::remove_file(&staging);
        return Err(e);
    }
    // The old database and its WAL are kept aside under a name no later restore reuses, never
    // deleted (its WAL would be replayed onto the new database if left in place).
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = (1..)
        .map(|n| match n {
            1 => beside(&real, &format!(".before-restore-{stamp}")),
            n => beside(&real, &format!(".before-restore-{stamp}-{n}")),
        })
        .find(|p| !p.exists() && !beside(p, "-wal").exists())
        .unwrap_or_else(|| beside(&real, ".before-restore"));
    let moves = [
        (real.clone(), aside.clone()),
        (beside(&real, "-wal"), beside(&aside, "-wal")),
        (beside(&real, "-shm"), beside(&aside, "-shm")),
        (staging.clone(), real.clone()),
    ];
    let mut done: Vec<(&Path, &Path)> = Vec::new();
    for (from, to) in &moves {
        let moved = if to.exists() {
            Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
        } else {
            std::fs::rename(from, to)
        };
        match moved {
            Ok(()) => done.push((from, to)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                // Put back what was moved: the site finds its database as it was.
                for (from, to) in done.iter().rev() {
                    let _ = std::fs::rename(to, from);
                }
                let _ = std::fs::remove_file(&staging);
                return Err(format!("{} → {}: {e}", from.display(), to.display()));
            }
        }
    }
    drop(lock);
    let db = Db::connect(url, 2)
        .await
        .map_err(|e| format!("cannot open the restored database: {e}"))?;
    let migrated = db.migrate().await;
    db.close().await;
    migrated.map_err(|e| format!("cannot bring the restored database up to date: {e}"))?;
    let kept_aside = aside.exists().then_some(aside);
    Ok(Summary {
        kept_aside,
        ..check(&real).await?
    })
}

/// Whether the database file has accounts or orders (an empty, freshly made one may be replaced).
async fn holds_data(target: &Path) -> Result<bool, String> {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};
    let mut conn = SqliteConnectOptions::new()
        .filename(target)
        .read_only(true)
        .connect()
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
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};
    let bad = |e: sqlx::Error| format!("{} is not a usable backup: {e}", file.display());
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .map_err(bad)?;
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
        kept_aside: None,
    })
}

#[cfg(test)]
mod tests {
    use super::{backup, restore, sqlite_path, Db};
    use std::path::PathBuf;

    async fn add_users(db: &Db, n: usize) {
        for i in 0..n {
            let now = crate::server::now();
            crate::db_run!(db, pool => sqlx::query("INSERT INTO users (id, email, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)")
                .bind(uuid::Uuid::new_v4()).bind(format!("u{i}-{}@example.org", uuid::Uuid::new_v4())).bind(now).execute(pool).await.map(|_| ()))
            .unwrap();
        }
    }

    #[tokio::test]
    async fn a_restore_takes_the_backups_last_writes_and_keeps_every_database_it_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| format!("sqlite:{}", dir.path().join(name).display());
        // A backup file still open elsewhere: its last writes are in its WAL, not yet in the file.
        let source = Db::connect(&url("source.db"), 2).await.unwrap();
        source.migrate().await.unwrap();
        add_users(&source, 3).await;
        let wal = std::fs::metadata(dir.path().join("source.db-wal")).map_or(0, |m| m.len());
        assert!(wal > 0, "the source's last writes are in its WAL");
        let restored = restore(&url("live.db"), &dir.path().join("source.db"), false)
            .await
            .unwrap();
        assert_eq!(restored.users, 3, "what the backup's WAL holds is restored");
        assert_eq!(restored.kept_aside, None, "nothing was replaced");

        // A backup is readable by its owner only.
        let small = dir.path().join("small.db");
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
        assert!(
            backup(&url("other.db"), &small).await.is_err(),
            "never overwrites"
        );

        // Two restores over it in a row: each database replaced is kept, under its own name.
        let first = restore(&url("live.db"), &small, true).await.unwrap();
        assert_eq!(first.users, 1);
        add_users(&source, 2).await;
        let second = restore(&url("live.db"), &dir.path().join("source.db"), true)
            .await
            .unwrap();
        assert_eq!(second.users, 5);
        let (a, b) = (first.kept_aside.unwrap(), second.kept_aside.unwrap());
        assert_ne!(a, b);
        // Undo: the first database replaced comes back whole.
        let undone = restore(&url("live.db"), &a, true).await.unwrap();
        assert_eq!(undone.users, 3);
        assert!(b.exists());
        source.close().await;
        other.close().await;
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
            sqlite_path("sqlite:my%20data/t.db"),
            Some(PathBuf::from("my data/t.db")),
            "the file the server opens"
        );
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }
}
