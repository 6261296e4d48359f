//! The webhooks' rules: events queued with the change that makes them (`listeners`, then
//! `Listeners::emit`), the outbox sent by every instance's worker (`start_worker`, `deliver_due`:
//! a delivery is taken by one instance for `LEASE_SECONDS`, so it is sent once), and the back
//! office's changes (`create`, `disable`, `replay`), audited.
use super::{AttemptView, DeliveryView, WebhookView, WebhooksAdmin, EVENTS};
use crate::server::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, Instant};

/// Tries before a delivery is given up (FAILED): with the default 30 s doubling (six hours at most between two), about a day.
pub const MAX_ATTEMPTS: i64 = 14;
/// How long an instance keeps a delivery it took before another may take it (it crashed).
const LEASE_SECONDS: i64 = 60;
/// The longest a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries taken per pass, and sent at once.
const BATCH: i64 = 20;
const AT_ONCE: usize = 8;

/// The active webhooks that listen to one event, read in the transaction of a change. `None` when
/// no one listens: the caller then builds no payload, so a door entry, a payment or a talk edit
/// pays one read of the (small) webhooks table and nothing more.
pub struct Listeners {
    event: String,
    hooks: Vec<Uuid>,
}

/// Who listens to `event` now (see `Listeners`).
pub async fn listeners(tx: &mut Tx, event: &str) -> Result<Option<Listeners>, sqlx::Error> {
    let hooks: Vec<(Uuid, String)> = tx_run!(tx, c => sqlx::query_as(
        "SELECT id, events FROM webhooks WHERE disabled_at IS NULL").fetch_all(c).await)?;
    let hooks: Vec<Uuid> = hooks
        .into_iter()
        .filter(|(_, events)| events.split(',').any(|e| e == event))
        .map(|(id, _)| id)
        .collect();
    Ok((!hooks.is_empty()).then(|| Listeners {
        event: event.to_owned(),
        hooks,
    }))
}

impl Listeners {
    /// Queues the event for each listener, in the transaction of the change (the change and its
    /// deliveries commit together, once). `data` is what the event is about; `once`, when given,
    /// names the fact itself (an order paid, refunded up to an amount): the event id is made
    /// from it, so a fact told twice (the back office and the provider both report a refund) is
    /// queued once.
    pub async fn emit(
        self,
        tx: &mut Tx,
        once: Option<String>,
        data: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        let event = self.event.as_str();
        let event_id = match once {
            Some(fact) => Uuid::new_v5(
                &Uuid::NAMESPACE_URL,
                format!("tessera:{event}:{fact}").as_bytes(),
            ),
            None => Uuid::new_v4(),
        };
        let at = now();
        let payload = serde_json::json!({
            "id": event_id, "type": event, "created": at.timestamp(), "data": data,
        })
        .to_string();
        for hook in self.hooks {
            tx_run!(tx, c => sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (webhook_id, event_id) DO NOTHING")
                .bind(Uuid::new_v4()).bind(hook).bind(event_id).bind(event).bind(&payload).bind(at)
                .execute(c).await.map(|_| ()))?;
        }
        Ok(())
    }
}

/// The `Tessera-Signature` header of `body` sent at `t` (Unix seconds): `t=…,v1=…`, v1 being the
/// hex HMAC-SHA256, keyed with the webhook's secret, of `"{t}.{body}"`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait after the `attempts`-th failed try: `base` doubled each time, six hours at most.
fn backoff(base_ms: u64, attempts: i64) -> chrono::Duration {
    let factor = 1u64 << attempts.clamp(1, 20).saturating_sub(1);
    let ms = base_ms.saturating_mul(factor).min(6 * 3600 * 1000);
    chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Sends the outbox every `WEBHOOK_POLL_MS` (1 000), on every instance, until the process stops.
pub fn start_worker(state: AppState) {
    let shutdown = state.shutdown.clone();
    let period = Duration::from_millis(state.config.webhook_poll_ms);
    shutdown.spawn("webhooks", async move {
        loop {
            let full = match deliver_due(&state).await {
                Ok(n) => n as i64 >= BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries");
                    false
                }
            };
            if !full && !state.shutdown.pause(period).await {
                break;
            }
        }
    });
}

/// A delivery to try: its id, the webhook's address and secret, the event's id, type and body,
/// the tries so far.
type Due = (Uuid, String, String, Uuid, String, String, i64);

/// Sends the deliveries whose time has come that no other instance holds, several at once (a
/// receiver that does not answer holds up only its own): how many it tried.
pub async fn deliver_due(state: &AppState) -> Result<usize, AppError> {
    use futures_util::StreamExt;
    let at = now();
    let due: Vec<(Uuid,)> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 AND (d.locked_until IS NULL OR d.locked_until < $1) \
         AND w.disabled_at IS NULL ORDER BY d.next_attempt_at LIMIT $2")
        .bind(at).bind(BATCH).fetch_all(pool).await)?;
    let tried = std::sync::atomic::AtomicUsize::new(0);
    futures_util::stream::iter(due)
        .for_each_concurrent(AT_ONCE, |(id,)| {
            let tried = &tried;
            async move {
                match take_and_send(state, id).await {
                    Ok(true) => {
                        tried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(delivery = %id, error = %e, "webhook delivery"),
                }
            }
        })
        .await;
    Ok(tried.into_inner())
}

/// Takes a delivery for this instance (none took it meanwhile: a lease of its own), then sends it.
async fn take_and_send(state: &AppState, id: Uuid) -> Result<bool, AppError> {
    let (lease, until) = (
        Uuid::new_v4(),
        now() + chrono::Duration::seconds(LEASE_SECONDS),
    );
    let taken = db_write!(&state.db, pool => sqlx::query(
        "UPDATE webhook_deliveries SET locked_until = $1, lease_id = $2 WHERE id = $3 AND status = 'PENDING' \
         AND (locked_until IS NULL OR locked_until < $4)")
        .bind(until).bind(lease).bind(id).bind(now()).execute(pool).await.map(|r| r.rows_affected()))?;
    if taken != 1 {
        return Ok(false);
    }
    let due: Option<Due> = db_run!(&state.db, pool => sqlx::query_as(
        "SELECT d.id, w.url, w.secret, d.event_id, d.event_type, d.payload, d.attempts \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND w.disabled_at IS NULL")
        .bind(id).fetch_optional(pool).await)?;
    match due {
        Some(due) => send(state, due, lease).await.map(|()| true),
        None => Ok(false),
    }
}

/// One try: the signed POST, then its attempt recorded and the delivery done, retried later or
/// given up.
async fn send(state: &AppState, due: Due, lease: Uuid) -> Result<(), AppError> {
    let (id, url, secret, event_id, event_type, payload, tried) = due;
    let t = now().timestamp();
    let headers = [
        ("tessera-signature", signature(&secret, t, &payload)),
        ("tessera-event-id", event_id.to_string()),
        ("tessera-event-type", event_type),
    ];
    let started = Instant::now();
    let answer =
        crate::server::outbound::post(&state.config, &url, &headers, payload, TIMEOUT).await;
    let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (code, error) = match answer {
        Ok(code) => (Some(i64::from(code)), None),
        Err(e) => (None, Some(e.message(crate::i18n::Locale::En))),
    };
    let delivered = code.is_some_and(|c| (200..300).contains(&c));
    let attempts = tried.saturating_add(1);
    let at = now();
    let status = match (delivered, attempts >= MAX_ATTEMPTS) {
        (true, _) => "DELIVERED",
        (false, true) => "FAILED",
        (false, false) => "PENDING",
    };
    let next = at + backoff(state.config.webhook_retry_base_ms, attempts);
    let mut tx = state.db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(Uuid::new_v4()).bind(id).bind(at).bind(code).bind(&error).bind(ms)
        .execute(c).await.map(|_| ()))?;
    // Only while this instance still holds it, and it is still to send (not given up meanwhile,
    // its webhook disabled): otherwise the try is recorded and nothing else changes.
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, locked_until = NULL, lease_id = NULL, \
         delivered_at = CASE WHEN $1 = 'DELIVERED' THEN $4 ELSE delivered_at END \
         WHERE id = $5 AND lease_id = $6 AND status = 'PENDING'")
        .bind(status).bind(attempts).bind(next).bind(at).bind(id).bind(lease).execute(c).await.map(|_| ()))?;
    tx.commit().await?;
    if !delivered {
        tracing::info!(delivery = %id, attempts, ?code, "webhook delivery failed");
    }
    Ok(())
}

/// The events of a comma-separated list: known ones, at least one.
fn events_of(raw: &str) -> Result<Vec<&'static str>, AppError> {
    let events = crate::text::pick(raw, &EVENTS)
        .map_err(|_| AppError::invalid("events", "webhooks.error.event"))?;
    if events.is_empty() {
        return Err(AppError::invalid("events", "webhooks.error.no_event"));
    }
    Ok(events)
}

/// Registers `url` for `events` (checked as a delivery would be: http(s), and public in production).
pub async fn create(
    db: &Db,
    config: &Config,
    admin: Uuid,
    url: &str,
    events: &str,
) -> Result<WebhookView, AppError> {
    let url = url.trim();
    if url.is_empty() || url.chars().count() > 500 {
        return Err(AppError::invalid("url", "outbound.error.url"));
    }
    let events = events_of(events)?;
    crate::server::outbound::check_url(config, url).await?;
    let (id, at) = (Uuid::new_v4(), now());
    let secret = format!("whsec_{}", crate::accounts::session::new_token());
    let mut tx = db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query(
        "INSERT INTO webhooks (id, url, events, secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id).bind(url).bind(events.join(",")).bind(&secret).bind(admin).bind(at)
        .execute(c).await.map(|_| ()))?;
    Audit::new(admin, "CREATE_WEBHOOK", "webhook", id)
        .meta(serde_json::json!({ "url": url, "events": events }))
        .commit(tx)
        .await?;
    Ok(WebhookView {
        id,
        url: url.to_string(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret,
        created_at: config.short_local(at),
        active: true,
    })
}

/// Stops an address: nothing more is queued for it, and what was pending is given up.
pub async fn disable(db: &Db, admin: Uuid, id: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE webhooks SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
        .bind(now()).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::NotFound);
    }
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE webhook_deliveries SET status = 'FAILED' WHERE webhook_id = $1 AND status = 'PENDING'")
        .bind(id).execute(c).await.map(|_| ()))?;
    Audit::new(admin, "DISABLE_WEBHOOK", "webhook", id)
        .commit(tx)
        .await
}

/// Sends a delivery again now (delivered or given up; an active webhook only).
pub async fn replay(db: &Db, admin: Uuid, delivery: Uuid) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let n = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE webhook_deliveries SET status = 'PENDING', attempts = 0, next_attempt_at = $1, locked_until = NULL \
         WHERE id = $2 AND status <> 'PENDING' \
         AND webhook_id IN (SELECT id FROM webhooks WHERE disabled_at IS NULL)")
        .bind(now()).bind(delivery).execute(c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::invalid("delivery", "webhooks.error.replay"));
    }
    Audit::new(
        admin,
        "REPLAY_WEBHOOK_DELIVERY",
        "webhook_delivery",
        delivery,
    )
    .commit(tx)
    .await
}

/// A webhook's row: id, address, events, secret, disabled, made.
type HookRow = (
    Uuid,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);
/// A delivery's row: id, address, event type, status, made, next try.
type DeliveryRow = (Uuid, String, String, String, DateTime<Utc>, DateTime<Utc>);
/// An attempt's row: its delivery, when, status code, error, duration.
type AttemptRow = (Uuid, DateTime<Utc>, Option<i64>, Option<String>, i64);

/// The webhooks, and the last 50 deliveries with their attempts.
pub async fn overview(db: &Db, config: &Config) -> Result<WebhooksAdmin, AppError> {
    let hooks: Vec<HookRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, url, events, secret, disabled_at, created_at FROM webhooks ORDER BY created_at DESC")
        .fetch_all(pool).await)?;
    let rows: Vec<DeliveryRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT d.id, w.url, d.event_type, d.status, d.created_at, d.next_attempt_at \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id ORDER BY d.created_at DESC, d.id LIMIT 50")
        .fetch_all(pool).await)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let attempts: Vec<AttemptRow> = crate::server::db::for_ids(db,
        "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id IN ({ids}) ORDER BY at, id",
        &ids).await?;
    let local = |t| config.short_local(t);
    let tries = |of: Uuid| -> Vec<AttemptView> {
        let mine = attempts.iter().filter(|a| a.0 == of).cloned();
        mine.map(|(_, at, status_code, error, duration_ms)| {
            let at = local(at);
            AttemptView {
                at,
                status_code,
                error,
                duration_ms,
            }
        })
        .collect()
    };
    let deliveries = rows
        .into_iter()
        .map(|(id, url, event_type, status, made, next)| {
            let next_attempt_at = (status == "PENDING").then(|| local(next));
            let (created_at, attempts) = (local(made), tries(id));
            DeliveryView {
                id,
                url,
                event_type,
                status,
                created_at,
                next_attempt_at,
                attempts,
            }
        })
        .collect();
    let hooks = hooks
        .into_iter()
        .map(|(id, url, events, secret, disabled, made)| {
            let events = events.split(',').map(str::to_string).collect();
            let (created_at, active) = (local(made), disabled.is_none());
            WebhookView {
                id,
                url,
                events,
                secret,
                created_at,
                active,
            }
        })
        .collect();
    Ok(WebhooksAdmin { hooks, deliveries })
}
