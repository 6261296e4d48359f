//! Tickets: their tokens and QR codes, the buyer's tickets, and their holders.
use super::*;

/// The QR text of a ticket token: an HMAC of the token row's id under the server's secret. The
/// database keeps only its SHA-256, so a copy of the database cannot make tickets.
pub fn ticket_token(config: &Config, token_id: Uuid) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&config.secret_key).expect("any key length");
    mac.update(b"ticket-token\0");
    mac.update(token_id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub(crate) async fn new_token(
    tx: &mut Tx,
    config: &Config,
    ticket_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    let token_id = Uuid::new_v4();
    tx_run!(tx, c => sqlx::query("INSERT INTO ticket_tokens (id, ticket_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_id).bind(ticket_id).bind(hash_token(&ticket_token(config, token_id))).bind(now()).bind(expires_at)
        .execute(c).await.map(|_| ()))
}

/// A ticket's code as its holder shows it (its page, its mail, its badge) and its legacy token:
/// the signed code when the server has a key, else (or for a pass without a door number) the
/// token; both empty for a ticket without a current token.
pub fn shown_code(
    config: &Config,
    key: Option<&(u8, ed25519_dalek::SigningKey)>,
    facts: &crate::ticketing::codes::CodeFacts,
) -> (String, String) {
    let Some(token_id) = facts.token_id else {
        return Default::default();
    };
    let token = ticket_token(config, token_id);
    let code = key.and_then(|k| crate::ticketing::codes::code(k, facts));
    (code.unwrap_or_else(|| token.clone()), token)
}

#[derive(sqlx::FromRow)]
pub(crate) struct TicketRow {
    #[sqlx(flatten)]
    facts: crate::ticketing::codes::CodeFacts,
    order_id: Uuid,
    type_name: String,
    #[sqlx(try_from = "String")]
    status: TicketStatus,
    holder_name: Option<String>,
    holder_email: Option<String>,
    used_at: Option<DateTime<Utc>>,
    bought: bool,
}

/// A user's tickets (or an order's), each with its current token and QR code.
pub async fn tickets_of(
    state: &AppState,
    user_id: Uuid,
    order_id: Option<Uuid>,
) -> Result<Vec<TicketView>, AppError> {
    let rows: Vec<TicketRow> = db_run!(&state.db, pool => sqlx::query_as(concat!(
        "SELECT ", crate::code_facts_sql!(), ", t.order_id, tt.name AS type_name, t.status, t.holder_name, t.holder_email, \
         t.used_at, t.user_id = $1 AS bought FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE (t.user_id = $1 OR t.holder_user_id = $1) AND ($2 IS NULL OR t.order_id = $2) ORDER BY t.issued_at, t.id"))
        .bind(user_id).bind(order_id).fetch_all(pool).await)?;
    let key = if rows.is_empty() {
        None
    } else {
        Some(crate::ticketing::codes::signing_key(&state.db, &state.config).await?)
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let (code, token) = shown_code(&state.config, key.as_ref(), &r.facts);
            let facts = r.facts;
            TicketView {
                qr_svg: if code.is_empty() || r.status == TicketStatus::Canceled {
                    String::new()
                } else {
                    qr::svg(&code)
                },
                code,
                token,
                id: facts.ticket_id,
                order_id: r.order_id,
                type_name: r.type_name,
                status: r.status,
                holder_name: r.holder_name,
                holder_email: r.holder_email,
                valid_days: valid_days(&state.config, facts.valid_from, facts.valid_until),
                used_at: r.used_at,
                bought: r.bought,
            }
        })
        .collect())
}

/// The PNG QR codes of an order's valid tickets, for the tickets mail: (ticket id, png).
pub async fn ticket_pngs(
    db: &Db,
    config: &Config,
    order_id: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<(Uuid, Vec<u8>)>, sqlx::Error> {
    let rows: Vec<crate::ticketing::codes::CodeFacts> = db_run!(db, pool => sqlx::query_as(concat!(
        "SELECT ", crate::code_facts_sql!(), " FROM tickets t JOIN ticket_types tt ON tt.id = t.ticket_type_id \
         WHERE t.order_id = $1 AND t.status = 'VALID' AND ($2 IS NULL OR t.id = $2) ORDER BY t.issued_at, t.id"))
        .bind(order_id).bind(only).fetch_all(pool).await)?;
    let key = match rows.is_empty() {
        true => None,
        false => crate::ticketing::codes::signing_key(db, config).await.ok(),
    };
    Ok(rows
        .iter()
        .filter(|facts| facts.token_id.is_some())
        .map(|facts| {
            let (code, _) = shown_code(config, key.as_ref(), facts);
            (facts.ticket_id, qr::png(&code, 6))
        })
        .collect())
}

/// Names who holds a ticket (the buyer by default): the holder gets their own ticket mail with a
/// link to claim it. A ticket already named for someone else is transferred instead ([`transfer`]:
/// new code, the previous holder's claim and answers gone). Audited `NAME_HOLDER`.
pub async fn set_holder(state: &AppState, user: Uuid, holder: &NewHolder) -> Result<(), AppError> {
    let (ticket_id, name, email) = holder_fields(holder)?;
    let (db, config, user_id) = (&state.db, &state.config, user);
    let mut tx = db.begin().await?;
    let row: Option<(Option<String>, String, String)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT t.holder_email, u.email, u.locale FROM tickets t JOIN users u ON u.id = t.user_id \
         WHERE t.id = $1 AND t.user_id = $2 AND t.status = 'VALID'")
        .bind(ticket_id).bind(user_id).fetch_optional(c).await)?;
    let (before, buyer, locale) = row.ok_or(AppError::NotFound)?;
    if before.as_ref().is_some_and(|b| *b != email && *b != buyer) {
        drop(tx);
        return transfer(state, user_id, holder).await;
    }
    tx_run!(&mut tx, c => sqlx::query("UPDATE tickets SET holder_name = $1, holder_email = $2 WHERE id = $3")
        .bind(&name).bind(&email).bind(ticket_id).execute(c).await.map(|_| ()))?;
    if email != buyer && before.as_deref() != Some(email.as_str()) {
        let locale = Locale::from_code(&locale).unwrap_or_default();
        mail_holder(&mut tx, config, ticket_id, &email, locale).await?;
    }
    Audit::new(user_id, "NAME_HOLDER", "ticket", ticket_id)
        .commit(tx)
        .await
}

/// Replaces a ticket's token: the old QR code stops working at once.
pub async fn reissue_token(
    tx: &mut Tx,
    config: &Config,
    ticket_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE ticket_tokens SET revoked_at = $1 WHERE ticket_id = $2 AND revoked_at IS NULL").bind(now()).bind(ticket_id).execute(c).await.map(|_| ()))?;
    // The signed code of the previous issue is revoked too (the door's devices learn it at sync).
    tx_run!(tx, c => sqlx::query("UPDATE tickets SET issue_no = issue_no + 1 WHERE id = $1").bind(ticket_id).execute(c).await.map(|_| ()))?;
    new_token(tx, config, ticket_id, expires_at).await
}

/// The ticket of a QR text, if the token is live (not replaced, not expired).
pub async fn ticket_by_token(db: &Db, token: &str) -> Result<Option<Uuid>, AppError> {
    let row: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT ticket_id FROM ticket_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)")
        .bind(hash_token(token.trim())).bind(now()).fetch_optional(pool).await)?;
    Ok(row.map(|r| r.0))
}
