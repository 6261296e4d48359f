//! Sign-up, the verification link sent again, and the use of a verification or
//! change-of-address link.
use super::*;

pub struct SignupForm {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub terms: bool,
    pub privacy: bool,
    pub marketing: bool,
    pub locale: Locale,
}

/// Sign-up. The answer is the same whether the address is new or taken (the owner of a taken
/// address gets a mail saying so), so sign-up never tells who has an account.
pub async fn signup(state: &AppState, form: SignupForm) -> Result<(), AppError> {
    let email = normalise_email(&form.email)?;
    check_password(&form.password, &email)?;
    if !form.terms {
        return Err(AppError::invalid("terms", "accounts.error.terms_required"));
    }
    if !form.privacy {
        return Err(AppError::invalid(
            "privacy",
            "accounts.error.privacy_required",
        ));
    }
    let budget = format!("signup:ip:{}", ip_key(state));
    limited(state, &budget, 10, 3600)?;
    let hash = unless_busy(state, &budget, hash_password(form.password.clone()).await)?;
    let info = session::request_info(&state.config);
    let ip_hash = info.ip.map(|ip| session::ip_hash(&state.config, ip));
    let id = Uuid::new_v4();
    let now = now();
    let mut tx = state.db.begin().await?;
    let inserted = tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO users (id, email, role, status, locale, created_at, updated_at) VALUES ($1, $2, 'USER', 'ACTIVE', $3, $4, $4) \
         ON CONFLICT (email) DO NOTHING")
        .bind(id).bind(&email).bind(form.locale.code()).bind(now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if inserted == 0 {
        let (owner, locale): (Uuid, String) = tx_run!(&mut tx, c => sqlx::query_as("SELECT id, locale FROM users WHERE email = $1").bind(&email).fetch_one(&mut *c).await)?;
        let mail = Mail::new(
            MailKind::AccountExists,
            Some(owner),
            email.clone(),
            Locale::from_code(&locale).unwrap_or_default(),
            Some(format!("{}/forgot-password", state.config.base_url)),
        );
        enqueue(&mut tx, &mail).await?;
        tx.commit().await?;
        state.mailer.wake();
        return Ok(());
    }
    tx_run!(&mut tx, c => {
        sqlx::query("INSERT INTO user_credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3)")
            .bind(id).bind(&hash).bind(now).execute(&mut *c).await?;
        sqlx::query("INSERT INTO profiles (user_id, first_name, last_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)")
            .bind(id).bind(clean(form.first_name.clone())).bind(clean(form.last_name.clone())).bind(now).execute(&mut *c).await?;
        let consents = [(ConsentType::Terms, true), (ConsentType::Privacy, true), (ConsentType::Marketing, form.marketing)];
        for (kind, given) in consents {
            if given {
                sqlx::query("INSERT INTO user_consents (id, user_id, type, version, accepted_at, ip_hash, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(Uuid::new_v4()).bind(id).bind(kind.as_str()).bind(&state.config.consent_version).bind(now)
                    .bind(&ip_hash).bind(&info.user_agent).execute(&mut *c).await?;
            }
        }
    });
    let name = clean(form.first_name).unwrap_or_default();
    verification_mail(&mut tx, state, (id, email, form.locale), name).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Queues the mail with an address's verification link (`to`: the account, its address and
/// language), in the caller's transaction.
async fn verification_mail(
    tx: &mut Tx,
    state: &AppState,
    to: (Uuid, String, Locale),
    name: String,
) -> Result<(), AppError> {
    let (user_id, address, locale) = to;
    let link = Link {
        user_id,
        purpose: "VERIFY_EMAIL",
        new_email: None,
        ttl: Duration::hours(VERIFY_HOURS),
        path: "/verify-email",
    };
    let link = issue_link(tx, &state.config.base_url, link).await?;
    let mail = Mail::new(
        MailKind::VerifyEmail,
        Some(user_id),
        address,
        locale,
        Some(link),
    )
    .with(vec![("name", name)]);
    enqueue(tx, &mail).await?;
    Ok(())
}

/// Sends a new verification link to a logged-in user whose address is not verified yet.
pub async fn send_verification(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
    if user.verified {
        return Ok(());
    }
    limited(state, &format!("verify:acct:{}", user.id), 5, 3600)?;
    let mut tx = state.db.begin().await?;
    let name = user.first_name.clone().unwrap_or_default();
    let to = (user.id, user.email.clone(), user.locale);
    verification_mail(&mut tx, state, to, name).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Uses the link of a verification or change-of-address mail. Answers whether the reader's session
/// is the link's account.
///
/// A link logs no one in and never replaces a session: it proves that its reader reads the
/// mailbox, not that they chose the account's password (someone else may have signed up with
/// that address, or asked for the change), so the reader then logs in as usual. A change of
/// address also tells the old address, and ends every other link still out for the account.
pub async fn verify_email(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut tx = state.db.begin().await?;
    let Some((user_id, purpose, new_email)) =
        consume_token(&mut tx, token, &["VERIFY_EMAIL", "CHANGE_EMAIL"]).await?
    else {
        return Err(AppError::invalid("token", "accounts.error.token_invalid"));
    };
    let now = now();
    // A change of address: the new address, and the old one with its reader's language.
    let change: Option<(String, String, String)> = match (purpose.as_str(), new_email) {
        ("CHANGE_EMAIL", Some(new_email)) => {
            let old: Option<(String, String)> = tx_run!(&mut tx, c => sqlx::query_as(
                "SELECT email, locale FROM users WHERE id = $1 AND deleted_at IS NULL")
                .bind(user_id).fetch_optional(c).await)?;
            let Some((old_email, locale)) = old else {
                return Err(AppError::invalid("token", "accounts.error.token_invalid"));
            };
            Some((new_email, old_email, locale))
        }
        ("CHANGE_EMAIL", None) => return Err(AppError::Internal),
        _ => None,
    };
    let changed = if let Some((new_email, _, _)) = &change {
        tx_run!(&mut tx, c => sqlx::query("UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3")
            .bind(new_email).bind(now).bind(user_id).execute(c).await.map(|r| r.rows_affected()))
    } else {
        tx_run!(&mut tx, c => sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 WHERE id = $2 AND status = 'ACTIVE'")
            .bind(now).bind(user_id).execute(c).await.map(|r| r.rows_affected()))
    };
    match changed {
        Ok(1) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::invalid("token", "accounts.error.email_taken"))
        }
        Ok(_) => return Err(AppError::invalid("token", "accounts.error.token_invalid")),
        Err(e) => return Err(e.into()),
    }
    let address_changed = change.is_some();
    if let Some((new_email, old_email, locale)) = change {
        // Links mailed to the old address (a reset, a verification) die with it: whoever still
        // reads that mailbox no longer holds the account.
        tx_run!(&mut tx, c => sqlx::query("UPDATE verification_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(now).bind(user_id).execute(c).await.map(|_| ()))?;
        let mail = Mail::new(
            MailKind::EmailChanged,
            Some(user_id),
            old_email,
            Locale::from_code(&locale).unwrap_or_default(),
            Some(format!("{}/account", state.config.base_url)),
        )
        .with(vec![("new_email", new_email)]);
        enqueue(&mut tx, &mail).await?;
    }
    tx.commit().await?;
    if address_changed {
        state.mailer.wake();
    }
    Ok(session::current_user()
        .await?
        .is_some_and(|(u, _)| u.id == user_id))
}
