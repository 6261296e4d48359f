//! The admin page's views of the retention: its summary and the past runs.
use super::*;

/// The admin page's summary at `now`.
pub async fn overview(
    db: &Db,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<RetentionOverview, AppError> {
    let plan = retention_plan(db, config, now).await?;
    let last: Option<(Option<DateTime<Utc>>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT last_run_at FROM job_leases WHERE name = $1").bind(RETENTION_JOB).fetch_optional(pool).await)?;
    let oldest: Option<(DateTime<Utc>,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT created_at FROM orders WHERE user_id <> $1 AND status <> 'PENDING_PAYMENT' ORDER BY created_at LIMIT 1")
        .bind(SYSTEM_ACTOR).fetch_optional(pool).await)?;
    // An order of year Y is kept until the end of year Y + years: due on the 1st of January after.
    let next_accounting_due = oldest.and_then(|(at,)| {
        let year = at.with_timezone(&config.timezone).year();
        i32::try_from(config.accounting_retention_years)
            .ok()
            .and_then(|years| year.checked_add(years)?.checked_add(1))
            .and_then(|y| year_start(config, y))
    });
    let p = &plan.policy;
    Ok(RetentionOverview {
        retention_days_after_event: config.retention_days_after_event,
        accounting_retention_years: config.accounting_retention_years,
        event_end: p.event_end,
        due_at: p.due_at,
        due: p.event_end_due().is_some(),
        accounting_cutoff: p.accounting_cutoff,
        next_accounting_due,
        last_run_at: last.and_then(|l| l.0),
        next: plan.counts,
    })
}

/// The past runs, newest first (their `RETENTION_RUN` audit entries).
pub async fn history(db: &Db) -> Result<Vec<RetentionRunView>, AppError> {
    let rows: Vec<(Uuid, DateTime<Utc>, String, Json<Value>)> = db_run!(db, pool => sqlx::query_as(
        "SELECT a.id, a.created_at, u.email, a.meta FROM audit_logs a JOIN users u ON u.id = a.actor_user_id \
         WHERE a.action = 'RETENTION_RUN' ORDER BY a.created_at DESC LIMIT 100")
        .fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, at, actor_email, Json(meta))| RetentionRunView {
            id,
            at,
            actor_email,
            trigger: meta
                .get("trigger")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            counts: meta
                .get("counts")
                .cloned()
                .and_then(|c| serde_json::from_value(c).ok())
                .unwrap_or_default(),
        })
        .collect())
}
