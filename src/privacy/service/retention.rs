//! The retention run: who starts it, its lease in `job_leases`, the run itself, and the
//! privacy worker that tries it (and scrubs erased accounts' mails) every few minutes.
use super::*;

/// Who started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The background job: at most once per [`RUN_EVERY_HOURS`] across instances; audited only
    /// when it did something (a quiet day leaves `job_leases.last_run_at` as its trace).
    Schedule,
    /// "Run now" on `/admin/privacy`: whenever no other run holds the lease; always audited.
    Admin(Uuid),
}

impl Trigger {
    fn label(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Admin(_) => "admin",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetentionOutcome {
    /// This instance ran it; what it did.
    Ran(RetentionCounts),
    /// Another run holds the lease, or (scheduled) one ran less than [`RUN_EVERY_HOURS`] ago.
    Skipped,
    /// Counted only.
    DryRun(RetentionCounts),
}

/// Takes the job's lease for a run at `now` (one conditional UPDATE: of several instances trying
/// at once, one gets it). A scheduled run also needs the last run to be older than
/// `not_run_since`.
pub(crate) async fn claim(
    db: &Db,
    holder: Uuid,
    now: DateTime<Utc>,
    not_run_since: Option<DateTime<Utc>>,
) -> Result<bool, sqlx::Error> {
    let n = crate::db_write!(db, pool => sqlx::query(
        "UPDATE job_leases SET holder = $1, lease_until = $2 WHERE name = $3 AND (lease_until IS NULL OR lease_until < $4) \
         AND ($5 IS NULL OR last_run_at IS NULL OR last_run_at < $5)")
        .bind(holder).bind(now + Duration::minutes(LEASE_MINUTES)).bind(RETENTION_JOB).bind(now).bind(not_run_since)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Extends the lease of a long run (its holder only).
pub(crate) async fn renew(db: &Db, holder: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    // From the wall clock (the run's `now` is when it started, or a moved clock in tests).
    let until = now.max(crate::server::state::now()) + Duration::minutes(LEASE_MINUTES);
    let renewed = crate::db_write!(db, pool => sqlx::query("UPDATE job_leases SET lease_until = $1 WHERE name = $2 AND holder = $3")
        .bind(until).bind(RETENTION_JOB).bind(holder)
        .execute(pool).await.map(|r| r.rows_affected()))?;
    if renewed != 1 {
        // Another instance took the lease over (this run was too slow): stop here.
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(())
}

/// The system account, made on first use.
pub(crate) async fn ensure_system_actor(
    tx: &mut Tx,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO users (id, email, role, status, locale, created_at, updated_at, deleted_at, anonymized_at) \
         VALUES ($1, 'system@invalid', 'USER', 'DISABLED', 'fr', $2, $2, $2, $2) ON CONFLICT (id) DO NOTHING")
        .bind(SYSTEM_ACTOR).bind(now).execute(c).await.map(|_| ()))
}

/// Applies the retention policy at `now` (the policy's clock: the server's in production, a moved
/// one in tests). Safe with several instances: the run first takes the lease row of
/// `job_leases` with one conditional UPDATE, so two instances at once do it once; the other
/// answers [`RetentionOutcome::Skipped`]. Idempotent: a second run finds nothing left to do. A run
/// that dies leaves its lease to expire after [`LEASE_MINUTES`], then any instance takes over.
pub async fn run_retention(
    state: &AppState,
    now: DateTime<Utc>,
    dry_run: bool,
    trigger: Trigger,
) -> Result<RetentionOutcome, AppError> {
    let (db, config) = (&state.db, &state.config);
    if dry_run {
        return Ok(RetentionOutcome::DryRun(
            retention_plan(db, config, now).await?.counts,
        ));
    }
    let holder = Uuid::new_v4();
    let not_run_since = match trigger {
        Trigger::Schedule => Some(now - Duration::hours(RUN_EVERY_HOURS)),
        Trigger::Admin(_) => None,
    };
    if !claim(db, holder, now, not_run_since).await? {
        return Ok(RetentionOutcome::Skipped);
    }
    let p = policy(db, config, now).await?;
    let mut done = RetentionCounts::default();

    // 1. The bulk steps, one statement each.
    for step in steps(&p) {
        let Some(at) = step.at else { continue };
        let sql = match step.set {
            Some(set) => format!("UPDATE {} SET {set} WHERE {}", step.table, step.filter),
            None => format!("DELETE FROM {} WHERE {}", step.table, step.filter),
        };
        let n = crate::db_write!(db, pool => sqlx::query(&sql).bind(at).execute(pool).await.map(|r| r.rows_affected()))?;
        add(&mut done, step.kind, n as i64);
    }
    crate::db_write!(db, pool => sqlx::query(
        "UPDATE email_logs SET error = NULL WHERE error IS NOT NULL AND user_id IN (SELECT id FROM users WHERE anonymized_at IS NOT NULL)")
        .execute(pool).await.map(|_| ()))?;

    // 2. Door searches and resent tickets' addresses older than the window, in batches.
    let select = format!(
        "SELECT id, meta FROM audit_logs WHERE {SCAN_DETAILS} ORDER BY created_at LIMIT 500"
    );
    loop {
        let rows: Vec<(Uuid, Json<Value>)> = db_run!(db, pool => sqlx::query_as(&select).bind(p.window_start).fetch_all(pool).await)?;
        if rows.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        for (id, Json(mut meta)) in rows {
            let mut touched = false;
            if let Value::Object(map) = &mut meta {
                for key in SCAN_DETAIL_KEYS {
                    if let Some(v) = map.get_mut(key) {
                        *v = Value::String(REDACTED.into());
                        touched = true;
                    }
                }
                if !touched {
                    // Nothing to redact: marked, so that the next batch does not select it again.
                    map.insert("redacted".into(), Value::String(REDACTED.into()));
                }
            } else {
                meta = json!({ "redacted": REDACTED });
            }
            tx_run!(&mut tx, c => sqlx::query("UPDATE audit_logs SET meta = $1 WHERE id = $2")
                .bind(Json(&meta)).bind(id).execute(c).await.map(|_| ()))?;
            done.scan_details += 1;
        }
        tx.commit().await?;
        renew(db, holder, now).await?;
    }

    // 3. Orders past their accounting retention: amounts, dates and ids only.
    if let Some(cutoff) = p.accounting_cutoff {
        let mut tx = db.begin().await?;
        ensure_system_actor(&mut tx, now).await?;
        let payments = format!("UPDATE payments SET stripe_checkout_session_id = NULL, stripe_payment_intent_id = NULL, stripe_refund_id = NULL, \
             checkout_url = NULL, note = NULL WHERE order_id IN (SELECT id FROM orders WHERE {ORDERS_DUE})");
        let tickets = format!("UPDATE tickets SET user_id = $2, holder_name = NULL, holder_email = NULL, holder_user_id = NULL, claim_hash = NULL, used_by_user_id = NULL \
             WHERE order_id IN (SELECT id FROM orders WHERE {ORDERS_DUE})");
        let orders = format!("UPDATE orders SET user_id = $2 WHERE {ORDERS_DUE}");
        let n = tx_run!(&mut tx, c => {
            sqlx::query(&payments).bind(cutoff).bind(SYSTEM_ACTOR).execute(&mut *c).await?;
            sqlx::query(&tickets).bind(cutoff).bind(SYSTEM_ACTOR).execute(&mut *c).await?;
            sqlx::query(&orders).bind(cutoff).bind(SYSTEM_ACTOR).execute(&mut *c).await?.rows_affected()
        });
        tx.commit().await?;
        done.orders_reduced = n as i64;
    }

    // 4. Attendee accounts of the past event, one transaction each (last: see `steps`).
    if let Some(end) = p.event_end_due() {
        let select =
            format!("SELECT id FROM users WHERE {ACCOUNTS_DUE} ORDER BY created_at, id LIMIT 200");
        loop {
            let ids: Vec<(Uuid,)> =
                db_run!(db, pool => sqlx::query_as(&select).bind(end).fetch_all(pool).await)?;
            if ids.is_empty() {
                break;
            }
            let mut progressed = false;
            for (id,) in ids {
                let mut tx = db.begin().await?;
                match anonymise(&mut tx, config, id, now, false).await {
                    Ok(Some(erased)) => {
                        tx.commit().await?;
                        done.accounts += 1;
                        progressed = true;
                        for order_id in erased.orders_released {
                            crate::payments::service::expire_session_quietly(state, order_id).await;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(user = %id, error = %e, "retention: account not anonymised")
                    }
                }
            }
            renew(db, holder, now).await?;
            if !progressed {
                break;
            }
        }
    }

    // 5. The lease back, with the time of this run, and the trace.
    let mut tx = db.begin().await?;
    tx_run!(&mut tx, c => sqlx::query(
        "UPDATE job_leases SET holder = NULL, lease_until = NULL, last_run_at = $1 WHERE name = $2 AND holder = $3")
        .bind(now).bind(RETENTION_JOB).bind(holder).execute(c).await.map(|_| ()))?;
    let actor = match trigger {
        Trigger::Admin(admin) => Some(admin),
        Trigger::Schedule if !done.is_empty() => {
            ensure_system_actor(&mut tx, now).await?;
            Some(SYSTEM_ACTOR)
        }
        Trigger::Schedule => None,
    };
    if let Some(actor) = actor {
        audit(
            &mut tx,
            actor,
            "RETENTION_RUN",
            "retention",
            RETENTION_JOB,
            json!({
                "trigger": trigger.label(),
                "policy_now": now,
                "counts": done,
                "retention_days_after_event": config.retention_days_after_event,
                "accounting_retention_years": config.accounting_retention_years,
                "event_end": p.event_end
            }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(RetentionOutcome::Ran(done))
}

/// Starts the privacy worker of this instance: every few minutes it erases the addresses of sent
/// mails of erased accounts, and tries the scheduled retention run (which one instance a day
/// gets). Its first pass comes a few minutes after start, so a fresh instance (or a test) is not
/// raced by it.
pub fn start_worker(state: AppState) {
    let shutdown = state.shutdown.clone();
    shutdown.spawn("privacy", async move {
        let every = std::time::Duration::from_secs(WORKER_EVERY_SECS);
        while state.shutdown.pause(every).await {
            let mut result = "ok";
            match scrub_erased_mail(&state.db, now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(mails = n, "addresses of erased accounts' mails erased"),
                Err(e) => {
                    result = "error";
                    tracing::warn!(error = %e, "privacy worker: mails")
                }
            }
            match run_retention(&state, now(), false, Trigger::Schedule).await {
                Ok(RetentionOutcome::Ran(counts)) if !counts.is_empty() => {
                    tracing::info!(?counts, "retention run")
                }
                Ok(_) => {}
                Err(e) => {
                    result = "error";
                    tracing::warn!(error = %e, "privacy worker: retention")
                }
            }
            crate::server::metrics::job_run("privacy", result);
        }
    });
}
