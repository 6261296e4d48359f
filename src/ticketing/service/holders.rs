//! Named tickets: a holder other than the buyer gets their own ticket mail with a link to claim the
//! ticket into an account (their programme, their tickets page); the buyer or the holder may
//! transfer it to someone else (the old code revoked at the door, online and offline).
use super::*;

/// A new claim link's token for a ticket (its SHA-256 kept on the ticket, the previous link void).
async fn new_claim(tx: &mut Tx, ticket_id: Uuid) -> Result<String, sqlx::Error> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    tx_run!(tx, c => sqlx::query("UPDATE tickets SET claim_hash = $1 WHERE id = $2")
        .bind(hash_token(&token)).bind(ticket_id).execute(c).await.map(|_| ()))?;
    Ok(token)
}

/// Queues the holder's own ticket mail (that ticket's code attached) with a link to claim it.
/// In the language of the holder's account if they have one, else the buyer's.
pub(crate) async fn mail_holder(
    tx: &mut Tx,
    config: &Config,
    ticket_id: Uuid,
    to: &str,
    fallback: Locale,
) -> Result<(), sqlx::Error> {
    let token = new_claim(tx, ticket_id).await?;
    let account: Option<(Uuid, String)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id, locale FROM users WHERE email = $1 AND deleted_at IS NULL")
        .bind(to).fetch_optional(c).await)?;
    let (pass, order_id): (String, Uuid) = tx_run!(tx, c => sqlx::query_as(
        "SELECT tt.name, t.order_id FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id WHERE t.id = $1")
        .bind(ticket_id).fetch_one(c).await)?;
    let locale = account
        .as_ref()
        .and_then(|(_, l)| Locale::from_code(l))
        .unwrap_or(fallback);
    let mail = Mail {
        kind: MailKind::HolderTicket,
        user_id: account.map(|(id, _)| id),
        to: to.to_string(),
        locale,
        vars: vec![("pass", pass), ("event", config.event_name.clone())],
        link: Some(format!("{}/tickets/claim?token={token}", config.base_url)),
        order_id: Some(order_id),
    };
    crate::mail::service::enqueue_for_ticket(tx, &mail, ticket_id).await?;
    Ok(())
}

/// A holder's name and address as typed, checked: (name, normalised address), each refusal on
/// its field (`holder_name`, `holder_email`).
pub(crate) fn holder_fields(holder: &NewHolder) -> Result<(Uuid, String, String), AppError> {
    let name = crate::text::clean_line(&holder.holder_name);
    if name.is_empty() || name.chars().count() > 120 {
        return Err(AppError::invalid(
            "holder_name",
            "tickets.error.holder_name",
        ));
    }
    let email = crate::accounts::service::normalise_email(&holder.holder_email)
        .map_err(|_| AppError::invalid("holder_email", "accounts.error.email_invalid"))?;
    Ok((holder.ticket_id, name, email))
}

/// Claims the ticket of a claim link into `user`'s account (the link works once). Audited
/// `CLAIM_TICKET`.
pub async fn claim(db: &Db, user_id: Uuid, token: &str) -> Result<Uuid, AppError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 100 {
        return Err(AppError::invalid("token", "tickets.error.claim_invalid"));
    }
    let mut tx = db.begin().await?;
    let row: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT id FROM tickets WHERE claim_hash = $1 AND status <> 'CANCELED'")
        .bind(hash_token(token)).fetch_optional(c).await)?;
    let (ticket_id,) =
        row.ok_or_else(|| AppError::invalid("token", "tickets.error.claim_invalid"))?;
    let n = tx_run!(&mut tx, c => sqlx::query("UPDATE tickets SET holder_user_id = $1, claim_hash = NULL WHERE id = $2 AND claim_hash = $3")
        .bind(user_id).bind(ticket_id).bind(hash_token(token)).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::invalid("token", "tickets.error.claim_invalid"));
    }
    Audit::new(user_id, "CLAIM_TICKET", "ticket", ticket_id)
        .commit(tx)
        .await?;
    Ok(ticket_id)
}

/// Transfers a ticket to someone else: its buyer or the account that claimed it, while it is
/// valid and unused, before `TICKET_TRANSFER_UNTIL`, at most `MAX_TRANSFERS_PER_TICKET` times. The
/// old code is revoked (a new issue: the door's phones learn it at their next sync), the answers
/// of the previous holder are erased, the new holder gets the ticket mail. Audited
/// `TRANSFER_TICKET`.
pub async fn transfer(state: &AppState, user: Uuid, holder: &NewHolder) -> Result<(), AppError> {
    let (ticket_id, name, email) = holder_fields(holder)?;
    let (db, config, user_id) = (&state.db, &state.config, user);
    if config.transfers_until.is_some_and(|until| now() >= until) {
        return Err(AppError::invalid(
            "holder_email",
            "tickets.error.transfer_closed",
        ));
    }
    let mut tx = db.begin().await?;
    let row: Option<(String, i64, String)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT t.status, t.transfers, u.locale FROM tickets t JOIN users u ON u.id = t.user_id \
         WHERE t.id = $1 AND (t.user_id = $2 OR t.holder_user_id = $2)")
        .bind(ticket_id).bind(user_id).fetch_optional(&mut *c).await)?;
    let (status, transfers, locale) = row.ok_or(AppError::NotFound)?;
    if status != "VALID" {
        return Err(AppError::invalid(
            "holder_email",
            "tickets.error.transfer_used",
        ));
    }
    if transfers >= config.max_transfers_per_ticket {
        return Err(AppError::invalid(
            "holder_email",
            "tickets.error.transfer_limit",
        ));
    }
    let n = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE tickets SET holder_name = $1, holder_email = $2, holder_user_id = NULL, transfers = transfers + 1 \
         WHERE id = $3 AND status = 'VALID' AND transfers = $4")
        .bind(&name).bind(&email).bind(ticket_id).bind(transfers).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::invalid(
            "holder_email",
            "tickets.error.transfer_used",
        ));
    }
    tx_run!(&mut tx, c => sqlx::query("DELETE FROM ticket_answers WHERE ticket_id = $1")
        .bind(ticket_id).execute(c).await.map(|_| ()))?;
    // A holder's mail not sent yet would carry the new code (drawn when sent) to the old holder.
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE outbox_emails SET status = 'FAILED', last_error = 'superseded by a transfer' WHERE ticket_id = $1 AND type = 'HOLDER_TICKET' AND status = 'PENDING'")
        .bind(ticket_id).execute(c).await.map(|_| ()))?;
    reissue_token(&mut tx, config, ticket_id, None).await?;
    let fallback = Locale::from_code(&locale).unwrap_or_default();
    mail_holder(&mut tx, config, ticket_id, &email, fallback).await?;
    Audit::new(user_id, "TRANSFER_TICKET", "ticket", ticket_id)
        .meta(serde_json::json!({ "transfer": transfers + 1 }))
        .commit(tx)
        .await
}
