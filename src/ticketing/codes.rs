//! Tickets' signed codes on the server: the signing keys (derived from `SECRET_KEY`, never stored;
//! rotated and revoked from `/admin/door`), the code a ticket's QR carries, and its check. The
//! door's change counter (`lock_door`) numbers every door-wide change, so devices fetch again.
use super::signed::{self, Claims};
use crate::accounts::AuthUser;
use crate::server::prelude::*;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;

fn derive(config: &Config, id: i64, salt: &[u8]) -> Option<SigningKey> {
    let mut info = b"tessera door key v1\0".to_vec();
    info.push(u8::try_from(id).ok()?);
    let mut seed = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), &config.secret_key)
        .expand(&info, &mut seed)
        .ok()?;
    Some(SigningKey::from_bytes(&seed))
}

/// A signing key as stored: its salt and public half (the private half is derived again).
#[derive(sqlx::FromRow)]
pub struct KeyRow {
    pub id: i64,
    salt: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every key, oldest first.
pub async fn key_rows(db: &Db) -> Result<Vec<KeyRow>, sqlx::Error> {
    db_run!(db, pool => sqlx::query_as("SELECT id, salt, public_key, created_at, revoked_at FROM door_keys ORDER BY id DESC")
        .fetch_all(pool).await)
}

/// The newest key that is not revoked and that this server can derive (a changed `SECRET_KEY`
/// derives other keys: those rows only verify).
fn signer(config: &Config, rows: &[KeyRow]) -> Option<(u8, SigningKey)> {
    rows.iter()
        .filter(|r| r.revoked_at.is_none())
        .find_map(|r| {
            let k = derive(config, r.id, &r.salt)?;
            (k.verifying_key().as_bytes().as_slice() == r.public_key.as_slice())
                .then(|| Some((u8::try_from(r.id).ok()?, k)))
                .flatten()
        })
}

/// Bumps the door's change counter, which holds its row until the transaction ends: writers that
/// number something door-wide (keys, passes) take it first and so run one after the other.
pub async fn lock_door(tx: &mut Tx) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE door_counter SET n = n + 1 WHERE id = 1").execute(c).await.map(|_| ()))
}

/// Adds the next key (the first one at start-up, or a rotation). `None` past 255 keys.
async fn add_key(db: &Db, config: &Config, by: Option<&AuthUser>) -> Result<Option<u8>, AppError> {
    use rand::RngCore;
    let mut salt = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut salt);
    let mut tx = db.begin().await?;
    // Taken first, the counter row queues concurrent additions (PostgreSQL) so each reads the
    // previous one's key; it also tells devices to fetch everything again.
    lock_door(&mut tx).await?;
    let (next,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT COALESCE(MAX(id), 0) + 1 FROM door_keys")
        .fetch_one(c).await)?;
    let Some(key) = derive(config, next, &salt) else {
        return Ok(None);
    };
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO door_keys (id, salt, public_key, created_at, created_by) VALUES ($1, $2, $3, $4, $5)")
        .bind(next).bind(salt.to_vec()).bind(key.verifying_key().as_bytes().to_vec())
        .bind(crate::server::state::now()).bind(by.map(|u| u.id)).execute(c).await.map(|_| ()))?;
    if let Some(admin) = by {
        Audit::new(admin.id, "ROTATE_DOOR_KEY", "door_key", next)
            .write(&mut tx)
            .await?;
    }
    tx.commit().await?;
    Ok(u8::try_from(next).ok())
}

/// The key that signs tickets now, made if there is none (first start, or all revoked).
pub async fn signing_key(db: &Db, config: &Config) -> Result<(u8, SigningKey), AppError> {
    let mut failure = AppError::Internal;
    for _ in 0..3 {
        if let Some(k) = signer(config, &key_rows(db).await?) {
            return Ok(k);
        }
        // Two instances starting at once may both try: one insert wins, the other reads it.
        if let Err(e) = add_key(db, config, None).await {
            tracing::warn!(error = %e, "door key: not added (another instance may have made it)");
            failure = e;
        }
    }
    Err(failure)
}

/// A new signing key; the old ones keep verifying the codes made with them.
pub async fn rotate(db: &Db, config: &Config, admin: &AuthUser) -> Result<u8, AppError> {
    add_key(db, config, Some(admin))
        .await?
        .ok_or_else(|| AppError::invalid("key", "door.error.too_many_keys"))
}

/// Refuses every code made with a key from now on (a suspected leak); tickets then show codes
/// signed with the next key.
pub async fn revoke(db: &Db, admin: &AuthUser, key_id: i64) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => sqlx::query("UPDATE door_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(crate::server::state::now()).bind(key_id).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    // Every ticket's code changes: devices must fetch them all again.
    lock_door(&mut tx).await?;
    Audit::new(admin.id, "REVOKE_DOOR_KEY", "door_key", key_id)
        .commit(tx)
        .await
}

/// What a ticket's code is made of, as a query reads it with `code_facts_sql!()`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CodeFacts {
    pub ticket_id: Uuid,
    pub issue: i64,
    pub door_no: Option<i64>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Its current legacy token (none once its codes were revoked).
    pub token_id: Option<Uuid>,
}

/// The columns of `CodeFacts`, as SQL over tickets `t` and their passes `tt`. Every place that
/// shows a ticket's code (its page, its mail, its badge) reads it so.
#[macro_export]
macro_rules! code_facts_sql {
    () => {
        "t.id AS ticket_id, t.issue_no AS issue, tt.door_no, tt.valid_from, tt.valid_until, \
         (SELECT k.id FROM ticket_tokens k WHERE k.ticket_id = t.id AND k.revoked_at IS NULL \
         ORDER BY k.created_at DESC LIMIT 1) AS token_id"
    };
}

/// A ticket's signed code (`None` for a pass without a door number).
pub fn code(key: &(u8, SigningKey), facts: &CodeFacts) -> Option<String> {
    let claims = Claims {
        key_id: key.0,
        ticket_id: facts.ticket_id,
        issue: u16::try_from(facts.issue).ok()?,
        pass_no: u16::try_from(facts.door_no?).ok()?,
        valid_from: facts.valid_from.map(|t| signed::minutes(t.timestamp())),
        valid_until: facts.valid_until.map(|t| signed::minutes(t.timestamp())),
    };
    Some(signed::sign(&claims, &key.1))
}

/// The ticket and issue a signed code names, if its signature holds under a key not revoked.
pub async fn verify_code(tx: &mut Tx, text: &str) -> Result<Option<Claims>, sqlx::Error> {
    let keys: Vec<(i64, Vec<u8>)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id, public_key FROM door_keys WHERE revoked_at IS NULL").fetch_all(c).await)?;
    let key = |id: u8| -> Option<VerifyingKey> {
        keys.iter()
            .find(|(k, _)| *k == i64::from(id))
            .and_then(|(_, pk)| signed::public_key(pk))
    };
    Ok(signed::verify(text, key).ok())
}
