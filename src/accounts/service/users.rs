//! Email addresses normalised, users created (with credentials and profile), roles set.
use super::*;

/// Trims and lower-cases an email address; refuses what cannot be one.
pub fn normalise_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace())
        && email.matches('@').count() == 1;
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid("email", "accounts.error.email_invalid"))
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub verified: bool,
}

/// Creates a user with credentials and profile in one transaction. A taken email (in any case) is refused.
pub async fn create_user(db: &Db, new: NewUser<'_>) -> Result<Uuid, AppError> {
    let email = normalise_email(new.email)?;
    let hash = hash_password(new.password.to_string()).await?;
    let id = Uuid::new_v4();
    let now = crate::server::state::now();
    let verified = new.verified.then_some(now);
    let result: Result<(), sqlx::Error> = async {
        let mut tx = db.begin().await?;
        tx_run!(&mut tx, c => {
            sqlx::query("INSERT INTO users (id, email, role, status, email_verified_at, created_at, updated_at) VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $5)")
                .bind(id).bind(&email).bind(new.role.as_str()).bind(verified).bind(now)
                .execute(&mut *c).await?;
            sqlx::query("INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)")
                .bind(id).bind(&hash).bind(now)
                .execute(&mut *c).await?;
            sqlx::query("INSERT INTO profiles (user_id, first_name, last_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
                .bind(id).bind(new.first_name).bind(new.last_name).bind(now)
                .execute(&mut *c).await?;
        });
        tx.commit().await
    }
    .await;
    match result {
        Ok(()) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(AppError::invalid("email", "accounts.error.email_taken"))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets a user's role (by email); used by the `create-admin` command for an existing account.
pub async fn set_role_by_email(db: &Db, email: &str, role: Role) -> Result<bool, AppError> {
    let email = normalise_email(email)?;
    let done = crate::db_write!(db, pool => sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE email = $3")
        .bind(role.as_str()).bind(crate::server::state::now()).bind(&email)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(done == 1)
}
