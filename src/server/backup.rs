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
        )
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

/// The file of a `sqlite:` URL (`sqlite:data/tessera.db`, `sqlite://…`, options after `?`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
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
    if file.exists() {
        return Err(format!(
            "{} exists: a backup never overwrites a file",
            file.display()
        ));
    }
    let db = Db::connect(url, 2)
        .await
        .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    let target = file.to_str().ok_or("the backup's path is not UTF-8")?;
    let copied = match &db {
        Db::Sqlite(pool, _) => sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
            .map(|_| ()),
        Db::Postgres(_) => Ok(()),
    };
    db.close().await;
    copied.map_err(|e| format!("backup failed: {e}"))?;
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
    // Copied beside the database, then renamed over it: the database is the old one or the new
    // one, never half of each. The old database and its WAL are kept aside (`.before-restore`),
    // never deleted: its WAL would be replayed onto the new database if left in place.
    let staging = real.with_extension("restoring");
    std::fs::copy(file, &staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    let beside = |suffix: &str| {
        let mut p = real.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    for (from, to) in [
        (real.clone(), beside(".before-restore")),
        (beside("-wal"), beside(".before-restore-wal")),
    ] {
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", from.display())),
        }
    }
    match std::fs::remove_file(beside("-shm")) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}-shm: {e}", real.display())),
    }
    std::fs::rename(&staging, &real).map_err(|e| format!("{}: {e}", real.display()))?;
    drop(lock);
    let db = Db::connect(url, 2)
        .await
        .map_err(|e| format!("cannot open the restored database: {e}"))?;
    let migrated = db.migrate().await;
    db.close().await;
    migrated.map_err(|e| format!("cannot bring the restored database up to date: {e}"))?;
    check(&target).await
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
    })
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;
    use std::path::PathBuf;

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
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }
}
