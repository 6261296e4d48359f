//! What the API reads: passes, orders, attendees (tickets, with their answers), check-ins and
//! talks, a page at a time in the order they were made (`created`, then id), so that a page's
//! cursor stays right whatever is added meanwhile and a client can poll for what is new.
use super::schema::{Answer, Attendee, Checkin, Cursor, Keyed, Order, OrderLine, Page, Pass, Talk};
use crate::server::db::for_ids;
use crate::server::prelude::*;
use sqlx::{postgres::PgRow, sqlite::SqliteRow, FromRow};

/// Rows of `select` (aliased `x`, made at `x.{at}`) after `after`, at most `limit`.
async fn page<T>(
    db: &Db,
    select: &str,
    at: &str,
    after: Cursor,
    limit: i64,
) -> Result<Page<T>, AppError>
where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Keyed + Send + Unpin,
{
    let sql = format!(
        "{select} WHERE (x.{at} > $1 OR (x.{at} = $1 AND x.id > $2)) ORDER BY x.{at}, x.id LIMIT $3"
    );
    let mut data: Vec<T> = db_run!(db, pool => sqlx::query_as(&sql)
        .bind(after.at).bind(after.id).bind(limit + 1).fetch_all(pool).await)?;
    let more = data.len() as i64 > limit;
    data.truncate(usize::try_from(limit).unwrap_or(0));
    let last = data.last().map(Keyed::key);
    let next_cursor = last
        .or((after != Cursor::start()).then_some(after))
        .map(|c| c.encode());
    Ok(Page {
        data,
        next_cursor,
        has_more: more,
    })
}

pub async fn passes(db: &Db, after: Cursor, limit: i64) -> Result<Page<Pass>, AppError> {
    page(db, "SELECT x.id, x.name, x.price_cents, x.currency, x.capacity, x.sold_count AS sold, x.valid_from, x.valid_until, \
         x.is_active AS active, x.created_at FROM ticket_types x", "created_at", after, limit).await
}

const ORDERS: &str =
    "SELECT x.id, x.status, x.total_cents, x.discount_cents, x.currency, u.email AS buyer_email, \
     x.created_at, x.updated_at FROM orders x JOIN users u ON u.id = x.user_id";

/// Loads the children of `parents` (`sql` names their ids `{ids}`) and hangs each on its parent,
/// in the order `sql` gives them: an order's lines, a ticket's answers.
async fn with_children<P, C>(
    db: &Db,
    parents: &mut [P],
    sql: &str,
    id: fn(&P) -> Uuid,
    parent_of: fn(&C) -> Uuid,
    slot: fn(&mut P) -> &mut Vec<C>,
) -> Result<(), AppError>
where
    C: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let ids: Vec<Uuid> = parents.iter().map(id).collect();
    let at: std::collections::HashMap<Uuid, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for child in for_ids::<C>(db, sql, &ids).await? {
        if let Some(parent) = at.get(&parent_of(&child)).and_then(|&i| parents.get_mut(i)) {
            slot(parent).push(child);
        }
    }
    Ok(())
}

/// The orders with their lines.
async fn with_lines(db: &Db, orders: &mut [Order]) -> Result<(), AppError> {
    let sql = "SELECT order_id, ticket_type_id AS pass_id, quantity, unit_price_cents \
         FROM order_items WHERE order_id IN ({ids}) ORDER BY ticket_type_id";
    with_children(
        db,
        orders,
        sql,
        |o| o.id,
        |l: &OrderLine| l.order_id,
        |o| &mut o.lines,
    )
    .await
}

pub async fn orders(db: &Db, after: Cursor, limit: i64) -> Result<Page<Order>, AppError> {
    let mut page: Page<Order> = page(db, ORDERS, "created_at", after, limit).await?;
    with_lines(db, &mut page.data).await?;
    Ok(page)
}

pub async fn order(db: &Db, id: Uuid) -> Result<Order, AppError> {
    let found: Option<Order> = db_run!(db, pool => sqlx::query_as(&format!("{ORDERS} WHERE x.id = $1"))
        .bind(id).fetch_optional(pool).await)?;
    let mut found = [found.ok_or(AppError::NotFound)?];
    with_lines(db, &mut found).await?;
    let [order] = found;
    Ok(order)
}

/// Tickets and their holders, with their answers (each question in `locale`, the answer as given).
pub async fn attendees(
    db: &Db,
    after: Cursor,
    limit: i64,
    locale: crate::i18n::Locale,
) -> Result<Page<Attendee>, AppError> {
    let mut page: Page<Attendee> = page(
        db,
        "SELECT x.id, x.order_id, x.ticket_type_id AS pass_id, x.status, \
         COALESCE(x.holder_name, NULLIF(TRIM(COALESCE(p.first_name, '') || ' ' || COALESCE(p.last_name, '')), '')) AS name, \
         COALESCE(x.holder_email, u.email) AS email, x.issued_at, x.used_at \
         FROM tickets x JOIN users u ON u.id = x.user_id LEFT JOIN profiles p ON p.user_id = x.user_id",
        "issued_at",
        after,
        limit,
    )
    .await?;
    let label = match locale {
        crate::i18n::Locale::Fr => "q.label_fr",
        crate::i18n::Locale::En => "COALESCE(NULLIF(q.label_en, ''), q.label_fr)",
    };
    let sql = format!(
        "SELECT a.ticket_id, a.question_id, {label} AS question, a.answer \
         FROM ticket_answers a JOIN questions q ON q.id = a.question_id \
         WHERE a.ticket_id IN ({{ids}}) ORDER BY q.position, q.id"
    );
    let (id, owner) = (|a: &Attendee| a.ticket_id, |a: &Answer| a.ticket_id);
    with_children(db, &mut page.data, &sql, id, owner, |a| &mut a.answers).await?;
    Ok(page)
}

pub async fn checkins(db: &Db, after: Cursor, limit: i64) -> Result<Page<Checkin>, AppError> {
    page(
        db,
        "SELECT x.id, x.ticket_id, x.list_id, x.at, x.day, x.direction, x.offline, x.recorded_at FROM checkins x",
        "recorded_at",
        after,
        limit,
    )
    .await
}

const TALKS: &str = "SELECT x.id, COALESCE(x.guid, x.id) AS guid, x.title, x.description, x.theme, x.start_at, x.end_at, \
     x.location AS room, x.speaker_name AS speaker, x.language, x.version, x.created_at FROM conferences x";

pub async fn talks(db: &Db, after: Cursor, limit: i64) -> Result<Page<Talk>, AppError> {
    page(db, TALKS, "created_at", after, limit).await
}

pub async fn talk(db: &Db, id: Uuid) -> Result<Talk, AppError> {
    let found: Option<Talk> = db_run!(db, pool => sqlx::query_as(&format!("{TALKS} WHERE x.id = $1"))
        .bind(id).fetch_optional(pool).await)?;
    found.ok_or(AppError::NotFound)
}
