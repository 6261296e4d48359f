//! API tokens: made (shown once, kept as a SHA-256), listed, revoked, and checked on each request
//! (the token's scopes, and its maker still an active admin). All changes audited.
use super::{ApiTokenView, NewApiToken, SCOPES};
use crate::accounts::session::{hash_token, new_token};
use crate::server::prelude::*;

/// How a token starts (`tsk_…`), so that a leaked one is recognised by secret scanners.
const PREFIX: &str = "tsk_";
/// `last_used_at` is written at most once per this many seconds per token.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Who calls the API: the token, its scopes, and the admin it acts for.
#[derive(Clone, Debug)]
pub struct ApiCaller {
    pub token_id: Uuid,
    /// Its display prefix (`tsk_…`, as `/admin/api` lists it), named by the audit log's entries.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub user: crate::accounts::AuthUser,
}

impl ApiCaller {
    /// 403 unless the token has `scope`.
    pub fn allow(&self, scope: &str) -> Result<(), AppError> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// The scopes of a comma-separated list: known ones, at least one.
fn scopes_of(raw: &str) -> Result<Vec<&'static str>, AppError> {
    let scopes = crate::text::pick(raw, &SCOPES).map_err(|unknown| {
        AppError::invalid_with("scopes", "api.error.scope", &[("scope", unknown)])
    })?;
    if scopes.is_empty() {
        return Err(AppError::invalid("scopes", "api.error.no_scope"));
    }
    Ok(scopes)
}

/// Makes a token for `admin`.
pub async fn create(
    db: &Db,
    config: &Config,
    admin: Uuid,
    name: &str,
    scopes: &str,
) -> Result<NewApiToken, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("name", "api.error.name"));
    }
    let scopes = scopes_of(scopes)?;
    let token = format!("{PREFIX}{}", new_token());
    let prefix: String = token.chars().take(PREFIX.len() + 6).collect();
    let (id, at) = (Uuid::new_v4(), now());
    let mut tx = db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO api_tokens (id, name, token_hash, prefix, scopes, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id).bind(name).bind(hash_token(&token)).bind(&prefix).bind(scopes.join(",")).bind(admin).bind(at)
        .execute(c).await.map(|_| ()))?;
    Audit::new(admin, "CREATE_API_TOKEN", "api_token", id)
        .meta(serde_json::json!({ "name": name, "scopes": scopes }))
        .write(&mut tx)
        .await?;
    let view = one(&mut tx, config, id).await?;
    tx.commit().await?;
    Ok(NewApiToken { token, view })
}

/// Revokes a token (once).
pub async fn revoke(db: &Db, admin: Uuid, id: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now()).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    Audit::new(admin, "REVOKE_API_TOKEN", "api_token", id)
        .commit(tx)
        .await
}

/// A token's row: id, name, prefix, scopes, its maker's email, made, last used, revoked.
type TokenRow = (
    Uuid,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

const SELECT: &str =
    "SELECT t.id, t.name, t.prefix, t.scopes, u.email, t.created_at, t.last_used_at, t.revoked_at \
     FROM api_tokens t JOIN users u ON u.id = t.created_by";

fn view(config: &Config, row: TokenRow) -> ApiTokenView {
    let (id, name, prefix, scopes, by, made, used, revoked) = row;
    let local = |t| config.short_local(t);
    let scopes = scopes.split(',').map(str::to_string).collect();
    let created = format!("{by} · {}", local(made));
    let (last_used_at, revoked_at) = (used.map(local), revoked.map(local));
    ApiTokenView {
        id,
        name,
        prefix,
        scopes,
        created,
        last_used_at,
        revoked_at,
    }
}

async fn one(tx: &mut Tx, config: &Config, id: Uuid) -> Result<ApiTokenView, sqlx::Error> {
    let row: TokenRow = tx_run!(tx, c => sqlx::query_as(&format!("{SELECT} WHERE t.id = $1")).bind(id).fetch_one(c).await)?;
    Ok(view(config, row))
}

/// Every token, newest first.
pub async fn list(db: &Db, config: &Config) -> Result<Vec<ApiTokenView>, AppError> {
    let rows: Vec<TokenRow> = db_run!(db, pool => sqlx::query_as(&format!("{SELECT} ORDER BY t.created_at DESC, t.id")).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(|r| view(config, r)).collect())
}

/// What a request's token says: the token (id, display prefix, scopes, last use) and its maker.
#[derive(sqlx::FromRow)]
struct CallerRow {
    token_id: Uuid,
    prefix: String,
    scopes: String,
    last_used_at: Option<DateTime<Utc>>,
    user_id: Uuid,
    email: String,
    role: String,
    status: String,
    locale: String,
}

/// The caller a bearer token stands for: a live token whose maker is still an active admin.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<ApiCaller>, AppError> {
    if !token.starts_with(PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    let row: Option<CallerRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT t.id AS token_id, t.prefix, t.scopes, t.last_used_at, u.id AS user_id, u.email, u.role, u.status, u.locale \
         FROM api_tokens t JOIN users u ON u.id = t.created_by \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.deleted_at IS NULL")
        .bind(hash_token(token)).fetch_optional(pool).await)?;
    let Some(CallerRow {
        token_id,
        prefix,
        scopes,
        last_used_at: last_used,
        user_id: user,
        email,
        role,
        status,
        locale,
    }) = row
    else {
        return Ok(None);
    };
    if role != crate::accounts::Role::Admin.as_str() || status != "ACTIVE" {
        return Ok(None);
    }
    let at = now();
    if last_used.is_none_or(|t| (at - t).num_seconds() >= TOUCH_EVERY_SECONDS) {
        db_write!(db, pool => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at).bind(token_id).execute(pool).await.map(|_| ()))?;
    }
    let locale = crate::i18n::Locale::from_code(&locale).unwrap_or_default();
    let scopes = scopes.split(',').map(str::to_string).collect();
    let role = crate::accounts::Role::Admin;
    let (first_name, last_name, verified) = (None, None, true);
    let user = crate::accounts::AuthUser {
        id: user,
        email,
        role,
        first_name,
        last_name,
        verified,
        locale,
    };
    Ok(Some(ApiCaller {
        token_id,
        prefix,
        scopes,
        user,
    }))
}
