//! The people operations of the back office: users, roles, account status, orders' list.
//! (The audit log writer is `server::audit`.)
use super::UserRow;
use crate::accounts::{Role, UserStatus};
use crate::server::prelude::*;

#[derive(sqlx::FromRow)]
struct UserDbRow {
    id: Uuid,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    #[sqlx(try_from = "String")]
    role: Role,
    #[sqlx(try_from = "String")]
    status: UserStatus,
    email_verified_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

pub async fn users(db: &Db, query: &str) -> Result<Vec<UserRow>, AppError> {
    let pattern = crate::server::db::like_pattern(query);
    let rows: Vec<UserDbRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT u.id, u.email, p.first_name, p.last_name, u.role, u.status, u.email_verified_at, u.created_at \
         FROM users u LEFT JOIN profiles p ON p.user_id = u.id \
         WHERE u.deleted_at IS NULL AND (u.email LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(p.first_name, '') || ' ' || COALESCE(p.last_name, '')) LIKE $1 ESCAPE '\\') \
         ORDER BY u.created_at DESC LIMIT 200")
        .bind(pattern).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|r| UserRow {
            id: r.id,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            role: r.role,
            status: r.status,
            verified: r.email_verified_at.is_some(),
            created_at: r.created_at,
        })
        .collect())
}

/// An account's (role, status); not found once deleted.
async fn current_role(tx: &mut Tx, user_id: Uuid) -> Result<(String, String), AppError> {
    let row: Option<(String, String)> = tx_run!(tx, c => sqlx::query_as("SELECT role, status FROM users WHERE id = $1 AND deleted_at IS NULL").bind(user_id).fetch_optional(c).await)?;
    row.ok_or(AppError::NotFound)
}

async fn active_admins(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = tx_run!(tx, c => sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'ADMIN' AND status = 'ACTIVE' AND deleted_at IS NULL").fetch_one(c).await)?;
    Ok(n)
}

/// Changes a role (audited `CHANGE_ROLE`). An admin cannot take away the last admin rights.
pub async fn set_role(db: &Db, actor: Uuid, user_id: Uuid, role: &str) -> Result<(), AppError> {
    let role: Role = role
        .parse()
        .map_err(|_| AppError::invalid("role", "admin.error.role_invalid"))?;
    let mut tx = db.begin().await?;
    let (before, _) = current_role(&mut tx, user_id).await?;
    if before == role.as_str() {
        return Ok(());
    }
    if before == Role::Admin.as_str() && active_admins(&mut tx).await? <= 1 {
        return Err(AppError::invalid("role", "admin.error.last_admin"));
    }
    tx_run!(&mut tx, c => sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str()).bind(now()).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    Audit::new(actor, "CHANGE_ROLE", "user", user_id)
        .meta(serde_json::json!({ "before": before, "after": role.as_str() }))
        .commit(tx)
        .await
}

/// Disables or enables an account (audited `DISABLE_USER`/`ENABLE_USER`); disabling ends its sessions.
pub async fn set_status(db: &Db, actor: Uuid, user_id: Uuid, status: &str) -> Result<(), AppError> {
    let status: UserStatus = status
        .parse()
        .map_err(|_| AppError::invalid("status", "admin.error.status_invalid"))?;
    if actor == user_id && status == UserStatus::Disabled {
        return Err(AppError::invalid("status", "admin.error.disable_self"));
    }
    let mut tx = db.begin().await?;
    let (role, before) = current_role(&mut tx, user_id).await?;
    if before == status.as_str() {
        return Ok(());
    }
    if status == UserStatus::Disabled
        && role == Role::Admin.as_str()
        && active_admins(&mut tx).await? <= 1
    {
        return Err(AppError::invalid("status", "admin.error.last_admin"));
    }
    tx_run!(&mut tx, c => {
        sqlx::query("UPDATE users SET status = $1, updated_at = $2 WHERE id = $3").bind(status.as_str()).bind(now()).bind(user_id).execute(&mut *c).await?;
        if status == UserStatus::Disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        }
    });
    let action = if status == UserStatus::Disabled {
        "DISABLE_USER"
    } else {
        "ENABLE_USER"
    };
    Audit::new(actor, action, "user", user_id)
        .meta(serde_json::json!({ "before": before, "after": status.as_str() }))
        .commit(tx)
        .await
}

/// What the orders list is narrowed to.
pub struct OrderFilter<'a> {
    pub query: &'a str,
    pub status: Option<&'a str>,
    /// Placed on or after this local day, on or before that one.
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
}

pub async fn orders(
    db: &Db,
    config: &crate::server::config::Config,
    filter: OrderFilter<'_>,
) -> Result<Vec<super::OrderRow>, AppError> {
    let OrderFilter {
        query,
        status,
        from,
        to,
    } = filter;
    // Local days become UTC instants: [from 00:00, to + 1 day 00:00).
    let start_of = |d: chrono::NaiveDate| {
        use chrono::TimeZone;
        config
            .timezone
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let since = from.and_then(start_of);
    let until = to.and_then(|d| d.succ_opt()).and_then(start_of);
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        email: String,
        #[sqlx(try_from = "String")]
        status: crate::ticketing::OrderStatus,
        total_cents: i64,
        currency: String,
        tickets: i64,
        created_at: DateTime<Utc>,
        voucher_code: Option<String>,
        discount_cents: i64,
    }
    let pattern = crate::server::db::like_pattern(query);
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT o.id, u.email, o.status, o.total_cents, o.currency, (SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id) AS tickets, o.created_at, \
         v.code AS voucher_code, o.discount_cents \
         FROM orders o JOIN users u ON u.id = o.user_id LEFT JOIN profiles p ON p.user_id = u.id LEFT JOIN vouchers v ON v.id = o.voucher_id \
         WHERE (u.email LIKE $1 ESCAPE '\\' OR o.id = $3 \
                OR LOWER(COALESCE(p.first_name, '') || ' ' || COALESCE(p.last_name, '')) LIKE $1 ESCAPE '\\') \
         AND ($2 IS NULL OR o.status = $2) AND ($4 IS NULL OR o.created_at >= $4) AND ($5 IS NULL OR o.created_at < $5) \
         ORDER BY o.created_at DESC LIMIT 200")
        .bind(pattern).bind(status).bind(Uuid::parse_str(query.trim()).ok()).bind(since).bind(until).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|r| super::OrderRow {
            id: r.id,
            buyer_email: r.email,
            status: r.status,
            total_cents: r.total_cents,
            currency: r.currency,
            tickets: r.tickets,
            created_at: r.created_at,
            voucher_code: r.voucher_code,
            discount_cents: r.discount_cents,
        })
        .collect())
}
