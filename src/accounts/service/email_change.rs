//! The change of address: a link to the new address, after the password.
use super::*;

/// Starts an email change: a link goes to the new address, and only that link changes it.
pub async fn request_email_change(
    state: &AppState,
    user: &AuthUser,
    new_email: &str,
    password: &str,
) -> Result<(), AppError> {
    let new_email = normalise_email(new_email)
        .map_err(|_| AppError::invalid("new_email", "accounts.error.email_invalid"))?;
    let budget = format!("email-change:acct:{}", user.id);
    limited(state, &budget, 5, 3600)?;
    let (hash,): (String,) = db_run!(&state.db, pool => sqlx::query_as("SELECT password_hash FROM user_credentials WHERE user_id = $1")
        .bind(user.id).fetch_one(pool).await)?;
    if !unless_busy(
        state,
        &budget,
        verify_password(password.to_string(), hash).await,
    )? {
        return Err(AppError::invalid(
            "password",
            "accounts.error.password_wrong",
        ));
    }
    if new_email == user.email {
        return Ok(());
    }
    let taken: Option<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(&new_email).fetch_optional(pool).await)?;
    let mut tx = state.db.begin().await?;
    let mail = if taken.is_some() {
        Mail::new(
            MailKind::AccountExists,
            None,
            new_email,
            user.locale,
            Some(format!("{}/forgot-password", state.config.base_url)),
        )
    } else {
        let link = issue_link(
            &mut tx,
            &state.config.base_url,
            Link {
                user_id: user.id,
                purpose: "CHANGE_EMAIL",
                new_email: Some(&new_email),
                ttl: Duration::hours(VERIFY_HOURS),
                path: "/verify-email",
            },
        )
        .await?;
        Mail::new(
            MailKind::ChangeEmail,
            Some(user.id),
            new_email,
            user.locale,
            Some(link),
        )
    };
    enqueue(&mut tx, &mail).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}
