use super::{OrderDetail, PaymentLine, TicketLine};
use crate::server::prelude::*;
use crate::{i18n::Locale, mail::service::enqueue, ticketing::TicketStatus};

pub async fn detail(db: &Db, config: &Config, order_id: Uuid) -> Result<OrderDetail, AppError> {
    let order = crate::ticketing::service::orders_of(db, None, Some(order_id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let (buyer_email,): (String,) = db_run!(db, pool => sqlx::query_as("SELECT u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1").bind(order_id).fetch_one(pool).await)?;
    type Pay = (
        String,
        String,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
    );
    let payments: Vec<Pay> = db_run!(db, pool => sqlx::query_as(
        "SELECT status, provider, stripe_checkout_session_id, stripe_payment_intent_id, created_at FROM payments WHERE order_id = $1 ORDER BY created_at")
        .bind(order_id).fetch_all(pool).await)?;
    #[derive(sqlx::FromRow)]
    struct Ticket {
        id: Uuid,
        holder: String,
        pass: String,
        #[sqlx(try_from = "String")]
        status: TicketStatus,
        used_at: Option<DateTime<Utc>>,
    }
    let tickets: Vec<Ticket> = db_run!(db, pool => sqlx::query_as(
        concat!("SELECT t.id, ", crate::ticket_holder_sql!(), " AS holder, \
         tt.name AS pass, t.status, t.used_at FROM tickets t JOIN users u ON u.id = t.user_id LEFT JOIN profiles p ON p.user_id = u.id \
         JOIN ticket_types tt ON tt.id = t.ticket_type_id WHERE t.order_id = $1 ORDER BY t.issued_at, t.id"))
        .bind(order_id).fetch_all(pool).await)?;
    Ok(OrderDetail {
        order,
        buyer_email,
        payments: payments
            .into_iter()
            .map(|(status, provider, session, intent, at)| PaymentLine {
                status,
                provider,
                checkout_session: session,
                payment_intent: intent,
                created_at: config.short_local(at),
            })
            .collect(),
        tickets: tickets
            .into_iter()
            .map(|t| TicketLine {
                id: t.id,
                holder: t.holder,
                pass: t.pass,
                status: t.status,
                checked_in_at: t.used_at.map(|u| config.short_local(u)),
            })
            .collect(),
    })
}

/// The tickets mail of a paid order, sent again to its buyer (with the current QR codes).
pub async fn resend(db: &Db, config: &Config, actor: Uuid, order_id: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let row: Option<(Uuid, String, String, String, i64)> = tx_run!(&mut tx, c => sqlx::query_as(
        "SELECT o.user_id, u.email, u.locale, o.status, CAST((SELECT COUNT(*) FROM tickets t WHERE t.order_id = o.id AND t.status <> 'CANCELED') AS BIGINT) \
         FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1")
        .bind(order_id).fetch_optional(c).await)?;
    let (user_id, email, locale, status, count) = row.ok_or(AppError::NotFound)?;
    if status != "PAID" || count == 0 {
        return Err(AppError::invalid("order_id", "admin.error.no_tickets"));
    }
    let locale = Locale::from_code(&locale).unwrap_or_default();
    let mail = crate::ticketing::service::tickets_mail(
        config,
        user_id,
        email.clone(),
        locale,
        order_id,
        count,
    );
    enqueue(&mut tx, &mail).await?;
    Audit::new(actor, "RESEND_TICKETS", "order", order_id)
        .meta(serde_json::json!({ "to": email }))
        .commit(tx)
        .await
}

/// A new QR code for a ticket; the old one is refused at the door from now on.
pub async fn reissue(
    db: &Db,
    config: &Config,
    actor: Uuid,
    ticket_id: Uuid,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let status: Option<(String,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT status FROM tickets WHERE id = $1").bind(ticket_id).fetch_optional(c).await)?;
    match status {
        None => return Err(AppError::NotFound),
        Some((s,)) if s == "CANCELED" => {
            return Err(AppError::invalid(
                "ticket_id",
                "admin.error.ticket_canceled",
            ))
        }
        Some(_) => {}
    }
    crate::ticketing::service::reissue_token(&mut tx, config, ticket_id, None).await?;
    Audit::new(actor, "REISSUE_TICKET", "ticket", ticket_id)
        .commit(tx)
        .await
}
