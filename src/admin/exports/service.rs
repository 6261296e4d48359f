use super::AttendeeRow;
use crate::server::csv::{amount, csv_line};
use crate::server::prelude::*;
use crate::ticketing::TicketStatus;
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures_util::TryStreamExt;
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

#[derive(sqlx::FromRow)]
struct Attendee {
    id: Uuid,
    holder: String,
    email: String,
    buyer_email: String,
    pass: String,
    #[sqlx(try_from = "String")]
    status: TicketStatus,
    used_at: Option<DateTime<Utc>>,
    order_id: Uuid,
}

const ATTENDEES: &str = concat!(
    "SELECT t.id, ",
    crate::ticket_holder_sql!(),
    " AS holder, COALESCE(t.holder_email, u.email) AS email, u.email AS buyer_email, tt.name AS pass, t.status, t.used_at, t.order_id \
     FROM tickets t JOIN users u ON u.id = t.user_id LEFT JOIN profiles p ON p.user_id = u.id JOIN ticket_types tt ON tt.id = t.ticket_type_id"
);

pub async fn attendees(
    db: &Db,
    config: &Config,
    query: &str,
    locale: crate::i18n::Locale,
) -> Result<Vec<AttendeeRow>, AppError> {
    let pattern = crate::server::db::like_pattern(query);
    let sql = format!(
        "SELECT * FROM ({ATTENDEES}) a WHERE LOWER(a.holder) LIKE $1 ESCAPE '\\' OR LOWER(a.email) LIKE $1 ESCAPE '\\' OR LOWER(a.buyer_email) LIKE $1 ESCAPE '\\' \
         ORDER BY a.pass, a.holder, a.id LIMIT 500"
    );
    let rows: Vec<Attendee> =
        db_run!(db, pool => sqlx::query_as(&sql).bind(&pattern).fetch_all(pool).await)?;
    let questions = crate::attendees::service::active(db).await?;
    let mut answers = crate::attendees::service::answers_of(db, None).await?;
    Ok(rows
        .into_iter()
        .map(|r| AttendeeRow {
            answers: answers
                .remove(&r.id)
                .map(|given| {
                    questions
                        .iter()
                        .filter_map(|q| {
                            let a = given.get(&q.id)?;
                            Some((q.label(locale).to_string(), q.answer_text(a, locale)))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            ticket_id: r.id,
            holder: r.holder,
            email: r.email,
            buyer_email: r.buyer_email,
            pass: r.pass,
            status: r.status,
            checked_in_at: r.used_at.map(|u| config.short_local(u)),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct Order {
    id: Uuid,
    created_at: DateTime<Utc>,
    buyer_email: String,
    status: String,
    total_cents: i64,
    currency: String,
    tickets: i64,
    stripe_payment_intent_id: Option<String>,
    voucher: Option<String>,
    discount_cents: i64,
}

const ORDERS: &str = "SELECT o.id, o.created_at, u.email AS buyer_email, o.status, o.total_cents, o.currency, \
     CAST(COALESCE((SELECT SUM(i.quantity) FROM order_items i WHERE i.order_id = o.id), 0) AS BIGINT) AS tickets, \
     (SELECT MAX(p.stripe_payment_intent_id) FROM payments p WHERE p.order_id = o.id) AS stripe_payment_intent_id, \
     v.code AS voucher, o.discount_cents \
     FROM orders o JOIN users u ON u.id = o.user_id LEFT JOIN vouchers v ON v.id = o.voucher_id ORDER BY o.created_at, o.id";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A CSV download, streamed: the rows go out as the database yields them. UTF-8 with a BOM, so
/// that Excel reads accents right; CRLF line ends; RFC 4180 quoting.
/// Once every row is out, the export is audited (`EXPORT_PERSONAL_DATA`: who, which file, how
/// many rows); an export that failed or was abandoned is audited with `complete: false`.
fn csv_response(
    state: AppState,
    admin: Uuid,
    filename: &'static str,
    columns: Vec<String>,
    export: impl FnOnce(AppState, Sender, Arc<AtomicU64>) -> Job + Send + 'static,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    tokio::spawn(async move {
        let failed = tx.clone();
        let rows = Arc::new(AtomicU64::new(0));
        let done = match send_header(&tx, &columns).await {
            Ok(()) => export(state.clone(), tx, rows.clone()).await,
            Err(e) => Err(e),
        };
        if let Err(e) = &done {
            tracing::error!(error = %e, filename, "CSV export failed");
            let _ = failed
                .send(Err(std::io::Error::other("export failed")))
                .await;
        }
        let meta = serde_json::json!({
            "file": filename,
            "rows": rows.load(Ordering::Relaxed),
            "complete": done.is_ok(),
        });
        let audited = async {
            let t = state.db.begin().await?;
            Audit::new(admin, "EXPORT_PERSONAL_DATA", "export", filename)
                .meta(meta)
                .commit(t)
                .await
        };
        if let Err(e) = audited.await {
            tracing::error!(error = %e, filename, "could not audit an export");
        }
    });
    // poll_fn over the receiver may be polled again after its end (compression does), unlike unfold.
    let mut rx = rx;
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

type Sender = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;
type Job = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send>>;

async fn send(tx: &Sender, line: String) -> Result<(), sqlx::Error> {
    // A closed channel is a browser that went away: stop reading rows.
    tx.send(Ok(Bytes::from(line)))
        .await
        .map_err(|_| sqlx::Error::PoolClosed)
}

/// The first line: the byte order mark (Excel then reads UTF-8) and the columns' names.
async fn send_header(tx: &Sender, columns: &[String]) -> Result<(), sqlx::Error> {
    send(tx, format!("\u{feff}{}", csv_line(columns))).await
}

const ATTENDEE_COLUMNS: &[&str] = &[
    "ticket_id",
    "holder",
    "email",
    "buyer_email",
    "pass",
    "status",
    "checked_in_at",
    "order_id",
];

/// The attendees' rows, with one column per question of the header (`questions`, read once for both).
fn attendees_job(
    questions: Vec<crate::attendees::Question>,
) -> impl FnOnce(AppState, Sender, Arc<AtomicU64>) -> Job + Send + 'static {
    move |state, tx, n| attendees_rows(state, tx, n, questions)
}

fn attendees_rows(
    state: AppState,
    tx: Sender,
    n: Arc<AtomicU64>,
    questions: Vec<crate::attendees::Question>,
) -> Job {
    Box::pin(async move {
        // Answers as stored (French), after the fixed columns.
        let answers = crate::attendees::service::answers_of(&state.db, None)
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let sql = format!("{ATTENDEES} ORDER BY tt.name, t.issued_at, t.id");
        db_run!(&state.db, pool => async {
            let mut rows = sqlx::query_as::<_, Attendee>(&sql).fetch(pool);
            while let Some(r) = rows.try_next().await? {
                let used = r.used_at.map(rfc3339).unwrap_or_default();
                n.fetch_add(1, Ordering::Relaxed);
                let mut cells = vec![r.id.to_string(), r.holder, r.email, r.buyer_email, r.pass, r.status.as_str().to_string(), used, r.order_id.to_string()];
                let given = answers.get(&r.id);
                cells.extend(questions.iter().map(|q| given.and_then(|g| g.get(&q.id)).map(|a| a.replace('\n', ", ")).unwrap_or_default()));
                send(&tx, csv_line(&cells)).await?;
            }
            Ok::<(), sqlx::Error>(())
        }.await)
    })
}

const ORDER_COLUMNS: &[&str] = &[
    "order_id",
    "created_at",
    "buyer_email",
    "status",
    "total",
    "currency",
    "tickets",
    "stripe_payment_intent",
    "voucher",
    "discount",
];

fn orders_job(state: AppState, tx: Sender, n: Arc<AtomicU64>) -> Job {
    Box::pin(async move {
        db_run!(&state.db, pool => async {
            let mut rows = sqlx::query_as::<_, Order>(ORDERS).fetch(pool);
            while let Some(r) = rows.try_next().await? {
                n.fetch_add(1, Ordering::Relaxed);
                send(&tx, csv_line(&[r.id.to_string(), rfc3339(r.created_at), r.buyer_email, r.status, amount(r.total_cents), r.currency.to_uppercase(), r.tickets.to_string(), r.stripe_payment_intent_id.unwrap_or_default(), r.voucher.unwrap_or_default(), amount(r.discount_cents)])).await?;
            }
            Ok::<(), sqlx::Error>(())
        }.await)
    })
}

/// The caller must be an admin (their id): 401 without a session, 403 with another role.
async fn admin_only(state: &AppState, headers: &HeaderMap) -> Result<Uuid, StatusCode> {
    match crate::accounts::session::user_from_headers(&state.db, headers).await {
        None => Err(StatusCode::UNAUTHORIZED),
        Some(u) if u.role != crate::accounts::Role::Admin => Err(StatusCode::FORBIDDEN),
        Some(u) => Ok(u.id),
    }
}

pub async fn attendees_csv(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let admin = match admin_only(&state, &headers).await {
        Ok(admin) => admin,
        Err(refused) => return refused.into_response(),
    };
    // The questions asked now, one column each (their French label) after the fixed ones.
    let questions = match crate::attendees::service::active(&state.db).await {
        Ok(q) => q,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let mut columns: Vec<String> = ATTENDEE_COLUMNS.iter().map(|c| c.to_string()).collect();
    columns.extend(questions.iter().map(|q| q.label_fr.clone()));
    csv_response(
        state,
        admin,
        "attendees.csv",
        columns,
        attendees_job(questions),
    )
}

pub async fn orders_csv(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match admin_only(&state, &headers).await {
        Ok(admin) => {
            let columns = ORDER_COLUMNS.iter().map(|c| c.to_string()).collect();
            csv_response(state, admin, "orders.csv", columns, orders_job)
        }
        Err(refused) => refused.into_response(),
    }
}

/// The back office's CSV exports of attendees and orders.
pub fn routes() -> axum::Router<crate::server::state::AppState> {
    axum::Router::new()
        .route(
            "/admin/export/attendees.csv",
            axum::routing::get(attendees_csv),
        )
        .route("/admin/export/orders.csv", axum::routing::get(orders_csv))
}
