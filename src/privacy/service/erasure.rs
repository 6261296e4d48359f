//! The erasure: anonymising an account (self-service, on request, by the retention), and
//! scrubbing the mails of erased accounts once sent.
use super::*;

/// What one erasure did, beyond the account itself.
#[derive(Debug, Default)]
pub struct Erased {
    /// Valid tickets of an event not over yet, canceled (no refund; the order stays paid).
    pub tickets_canceled: u64,
    /// Orders awaiting payment, canceled and their seats given back (their Stripe sessions are
    /// expired by the caller after commit).
    pub orders_released: Vec<Uuid>,
    /// The confirmation mail to the old address, if one was asked for.
    pub mail_id: Option<Uuid>,
}

/// Anonymises one account inside the caller's transaction; `None` when there is no such account
/// or it is anonymised already (then nothing changed). Refuses an admin's account: an admin is
/// demoted by another admin first (the last admin cannot be, so the back office is never left
/// without one, and a stolen admin session cannot erase an admin in one click).
///
/// Erased: the profile (names, phone), the credentials and OAuth links, every session and one-time
/// link, the personal programme and calendar feed, the holder names and emails of their tickets
/// (and of tickets naming their address), mail bodies, addresses and errors, the IP hashes and
/// user agents of their consents, their details in audit entries' meta. Set: `deleted_at`,
/// `anonymized_at`, the status (DISABLED) and a placeholder address, unique and never routed.
/// Kept: the users row (its id), consents (type, version, date: the proof), orders with their
/// items and payments (accounting), tickets (canceled when valid for an event not over yet:
/// no refund unless an admin grants one), audit entries.
///
/// With `confirm_mail`, a last mail goes to the old address, enqueued here, in this transaction:
/// the outbox row must hold the address until it is sent, so it alone keeps it; once sent, the
/// privacy worker (every few minutes) and every retention run erase its address and bodies
/// ([`scrub_erased_mail`]). One that cannot be sent for [`STALE_MAIL_DAYS`] is given up.
pub async fn anonymise(
    tx: &mut Tx,
    config: &Config,
    user_id: Uuid,
    now: DateTime<Utc>,
    confirm_mail: bool,
) -> Result<Option<Erased>, AppError> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = tx_run!(tx, c => sqlx::query_as(
        "SELECT u.email, u.role, u.locale, p.first_name, p.last_name, p.phone FROM users u LEFT JOIN profiles p ON p.user_id = u.id \
         WHERE u.id = $1 AND u.anonymized_at IS NULL AND u.id <> $2")
        .bind(user_id).bind(SYSTEM_ACTOR).fetch_optional(c).await)?;
    let Some((email, role, locale, first_name, last_name, phone)) = row else {
        return Ok(None);
    };
    if role == Role::Admin.as_str() {
        return Err(AppError::invalid("user", "privacy.error.demote_first"));
    }
    // The claim: of two erasures at once, one changes the row, the other finds it done.
    let claimed = tx_run!(tx, c => sqlx::query(
        "UPDATE users SET email = $1, status = 'DISABLED', email_verified_at = NULL, programme_mail_since = NULL, last_login_at = NULL, \
         deleted_at = COALESCE(deleted_at, $2), anonymized_at = $2, updated_at = $2 WHERE id = $3 AND anonymized_at IS NULL AND role <> 'ADMIN'")
        .bind(placeholder_email(user_id)).bind(now).bind(user_id).execute(c).await.map(|r| r.rows_affected()))?;
    if claimed != 1 {
        return Ok(None);
    }
    let mut erased = Erased::default();
    if confirm_mail {
        let locale = Locale::from_code(&locale).unwrap_or_default();
        let mail = Mail::new(
            MailKind::AccountDeleted,
            Some(user_id),
            email.clone(),
            locale,
            Some(format!("{}/signup", config.base_url)),
        )
        .with(vec![(
            "years",
            config.accounting_retention_years.to_string(),
        )]);
        erased.mail_id = Some(enqueue(tx, &mail).await?);
    }
    let keep_mail = erased.mail_id.unwrap_or_default();

    tx_run!(tx, c => {
        // Waiting-list places go (an offer's seat is freed below, with its voucher's hold).
        for (voucher,) in sqlx::query_as::<_, (Uuid,)>("SELECT voucher_id FROM waitlist_entries WHERE user_id = $1 AND voucher_id IS NOT NULL")
            .bind(user_id).fetch_all(&mut *c).await? {
            sqlx::query("UPDATE vouchers SET valid_until = $1 WHERE id = $2 AND (valid_until IS NULL OR valid_until > $1)").bind(now).bind(voucher).execute(&mut *c).await?;
        }
        for table in ["user_credentials", "accounts", "sessions", "verification_tokens", "profiles", "user_program_items", "calendar_feeds", "waitlist_entries", "workshop_waitlist"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1")).bind(user_id).execute(&mut *c).await?;
        }
        // Consents stay as proof, with the account's id only.
        sqlx::query("UPDATE user_consents SET ip_hash = NULL, user_agent = NULL WHERE user_id = $1")
            .bind(user_id).execute(&mut *c).await?;
        // The company addresses they typed go; the invoices issued keep their copy (the law
        // requires invoices to be kept: see the README's privacy notes).
        sqlx::query("DELETE FROM billing_details WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)")
            .bind(user_id).execute(&mut *c).await?;
        // What an admin typed about their payments (a refund's reason) may name them.
        sqlx::query("UPDATE payments SET note = NULL WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)")
            .bind(user_id).execute(&mut *c).await?;
    });

    // Orders awaiting payment: canceled, their seats given back.
    let pending: Vec<(Uuid,)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id FROM orders WHERE user_id = $1 AND status = 'PENDING_PAYMENT'")
        .bind(user_id).fetch_all(c).await)?;
    for (order_id,) in pending {
        if crate::ticketing::service::release(tx, order_id).await? {
            erased.orders_released.push(order_id);
        }
    }

    // Valid tickets of an event not over yet: canceled and their QR codes revoked. Sold seats are
    // not given back (the order stays paid; an admin's refund gives them back).
    let open = not_over(event_end_tx(tx).await?, now);
    // A ticket the person bought for someone else (another holder's address) stays theirs.
    let cancel = format!("UPDATE tickets SET status = 'CANCELED' WHERE {VALID_NOT_OVER} AND (holder_email IS NULL OR holder_email = $4)");
    erased.tickets_canceled = tx_run!(tx, c => sqlx::query(&cancel)
        .bind(user_id).bind(now).bind(open).bind(&email).execute(c).await.map(|r| r.rows_affected()))?;
    tx_run!(tx, c => {
        sqlx::query("UPDATE ticket_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND ticket_id IN (SELECT id FROM tickets WHERE user_id = $2 AND status = 'CANCELED')")
            .bind(now).bind(user_id).execute(&mut *c).await?;
        // Answers to the organiser's questions: of the tickets they hold or held (before the
        // holders below are erased), and what they typed for seats not issued yet.
        sqlx::query("DELETE FROM ticket_answers WHERE ticket_id IN (SELECT id FROM tickets WHERE (user_id = $1 AND (holder_email IS NULL OR holder_email = $2)) OR holder_email = $2 OR holder_user_id = $1)")
            .bind(user_id).bind(&email).execute(&mut *c).await?;
        sqlx::query("UPDATE orders SET attendees = NULL WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        // Messages to attendees: their lines of the recipients (the outbox keeps the delivery).
        sqlx::query("DELETE FROM message_recipients WHERE user_id = $1 OR email = $2")
            .bind(user_id).bind(&email).execute(&mut *c).await?;
        sqlx::query("UPDATE tickets SET holder_user_id = NULL, claim_hash = NULL WHERE holder_user_id = $1 OR holder_email = $2")
            .bind(user_id).bind(&email).execute(&mut *c).await?;
        // Holder names and emails: on their tickets, and wherever their address names a holder.
        sqlx::query("UPDATE tickets SET holder_name = NULL, holder_email = NULL WHERE (user_id = $1 AND (holder_email IS NULL OR holder_email = $2)) OR holder_email = $2")
            .bind(user_id).bind(&email).execute(&mut *c).await?;
        // Mails: the log keeps kind, date and status; errors may quote the address.
        sqlx::query("UPDATE email_logs SET error = NULL WHERE user_id = $1 OR outbox_id IN (SELECT id FROM outbox_emails WHERE to_address = $2)")
            .bind(user_id).bind(&email).execute(&mut *c).await?;
        // The outbox: bodies and addresses erased, unsent ones given up; the confirmation mail
        // just enqueued keeps its address until it is sent.
        sqlx::query("UPDATE outbox_emails SET to_address = $1, body_text = NULL, body_html = NULL, last_error = NULL, \
                     status = CASE WHEN status = 'PENDING' THEN 'FAILED' ELSE status END \
                     WHERE (user_id = $2 OR to_address = $3) AND id <> $4")
            .bind(ERASED_ADDRESS).bind(user_id).bind(&email).bind(keep_mail).execute(&mut *c).await?;
    });

    let needles = Needles::new(
        &email,
        first_name.as_deref(),
        last_name.as_deref(),
        phone.as_deref(),
    );
    redact_audit(tx, &needles, user_id).await?;
    Ok(Some(erased))
}

/// Erases an account now, on its owner's request (`actor == user_id`, audited `DELETE_ACCOUNT`)
/// or an admin's (audited `ERASE_ACCOUNT`), in one transaction, with a last mail to the old
/// address. See [`anonymise`] for what is erased and what is kept.
pub async fn erase_user(
    state: &AppState,
    user_id: Uuid,
    actor: Uuid,
    reason: &str,
) -> Result<(), AppError> {
    let now = now();
    let mut tx = state.db.begin().await?;
    let Some(erased) = anonymise(&mut tx, &state.config, user_id, now, true).await? else {
        return Err(AppError::NotFound);
    };
    let action = if actor == user_id {
        "DELETE_ACCOUNT"
    } else {
        "ERASE_ACCOUNT"
    };
    audit(
        &mut tx,
        actor,
        action,
        "user",
        &user_id.to_string(),
        json!({
            "reason": reason,
            "tickets_canceled": erased.tickets_canceled,
            "orders_released": erased.orders_released.len()
        }),
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    for order_id in erased.orders_released {
        crate::payments::service::expire_session_quietly(state, order_id).await;
    }
    Ok(())
}

/// The self-service deletion: the password first, then, when valid tickets for an event not over
/// yet would be canceled, the person's confirmation (`cancel_tickets`).
pub async fn delete_own_account(
    state: &AppState,
    user: &AuthUser,
    password: &str,
    cancel_tickets: bool,
) -> Result<(), AppError> {
    let budget = format!("delete:acct:{}", user.id);
    limited(state, &budget, 5, 3600)?;
    let hash: Option<(String,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT password_hash FROM user_credentials WHERE user_id = $1")
        .bind(user.id).fetch_optional(pool).await)?;
    let ok = match hash {
        Some((hash,)) => unless_busy(
            state,
            &budget,
            verify_password(password.to_string(), hash).await,
        )?,
        None => false,
    };
    if !ok {
        return Err(AppError::invalid(
            "password",
            "accounts.error.password_wrong",
        ));
    }
    if user.role == Role::Admin {
        return Err(AppError::invalid("form", "privacy.error.demote_first"));
    }
    if !cancel_tickets && tickets_at_risk(&state.db, user.id, now()).await? > 0 {
        return Err(AppError::invalid(
            "cancel_tickets",
            "privacy.error.tickets_confirm",
        ));
    }
    erase_user(state, user.id, user.id, "self_service").await
}

/// Erases the address, bodies and errors of the mails of erased accounts once they are sent (or
/// given up after [`STALE_MAIL_DAYS`]). Idempotent, safe on every instance at once; the privacy
/// worker calls it every few minutes, and every retention run does too.
pub async fn scrub_erased_mail(db: &Db, now: DateTime<Utc>) -> Result<i64, AppError> {
    let stale = now - Duration::days(STALE_MAIL_DAYS);
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => {
        let n = sqlx::query(&format!("UPDATE outbox_emails SET {ERASED_MAIL_SET} WHERE {ERASED_MAIL}"))
            .bind(stale).execute(&mut *c).await?.rows_affected();
        sqlx::query("UPDATE email_logs SET error = NULL WHERE error IS NOT NULL AND user_id IN (SELECT id FROM users WHERE anonymized_at IS NOT NULL)")
            .execute(&mut *c).await?;
        n
    });
    tx.commit().await?;
    Ok(n as i64)
}
