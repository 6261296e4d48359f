//! Configuration from the environment (and `.env`). Every variable is documented in the README.
//! A missing or malformed setting stops the start with one line naming the variable.
use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Dev,
    Production,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub addr: SocketAddr,
    pub base_url: String,
    pub database_url: String,
    pub db_max_connections: u32,
    pub secret_key: Vec<u8>,
    pub timezone: chrono_tz::Tz,
    pub event_name: String,
    pub seed_demo: bool,
    pub log_json: bool,
    pub site_root: PathBuf,
    /// The version of the terms and privacy policy in force: recorded with every consent; a person
    /// whose last acceptance is of another version accepts again at their next login.
    pub consent_version: String,
    /// How long after the conference's end the retention anonymises inactive attendee accounts
    /// and erases ticket holders, and how old mail bodies, IP hashes and door searches may get.
    pub retention_days_after_event: i64,
    /// How many years after the end of an order's financial year its accounting record is kept
    /// whole (then reduced to amounts, dates and ids).
    pub accounting_retention_years: i64,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub stripe_secret_key: Option<String>,
    pub stripe_webhook_secrets: Vec<String>,
    pub stripe_api_base: Option<String>,
    pub mail_poll_ms: u64,
    pub mail_retry_base_ms: u64,
    /// How often each instance looks for webhook deliveries due, and the first retry's wait
    /// (doubled at each failure): `WEBHOOK_POLL_MS` (1 000), `WEBHOOK_RETRY_BASE_MS` (30 000).
    pub webhook_poll_ms: u64,
    pub webhook_retry_base_ms: u64,
    /// Requests per minute one API token may make (`API_RATE_PER_MINUTE`, 1 to 100 000; 600).
    pub api_rate_per_minute: i64,
    pub trust_proxy: bool,
    /// How many proxies we trust append to `X-Forwarded-For` (the client is that many from the right).
    pub trusted_proxies: usize,
    pub reservation_minutes: i64,
    /// How long a waiting-list offer holds its seat (`WAITLIST_OFFER_HOURS`, 1 to 720).
    pub waitlist_offer_hours: i64,
    pub max_tickets_per_order: i64,
    /// Checkout only for accounts whose address is verified (on by default in production).
    pub checkout_requires_verified_email: bool,
    /// Most orders one account may have awaiting payment (unexpired, unpaid) at once.
    pub max_open_orders_per_account: i64,
    pub show_interest_counts: bool,
    /// Whether anonymous visitors' programme pages are served from memory (`PAGE_CACHE`, on).
    pub page_cache: bool,
    /// How long before a pass's first valid instant the door already lets it in.
    pub scan_grace_minutes: i64,
    /// How long door staff may undo their own scan (admins may any time).
    pub scan_undo_seconds: i64,
    /// Whether the door's devices keep holders' names for offline answers (`DOOR_OFFLINE_NAMES`,
    /// off: names are personal data on a phone that can be lost).
    pub door_offline_names: bool,
    /// How long a changed talk must be left alone before its change is mailed to attendees.
    pub programme_mail_delay_minutes: i64,
    /// Until when buyers and holders may change their tickets' answers (`QUESTIONS_EDITABLE_UNTIL`,
    /// RFC 3339; none: until the event's tickets are used).
    pub questions_editable_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Until when a ticket may be transferred to someone else (`TICKET_TRANSFER_UNTIL`, RFC 3339;
    /// none: any time before it is used), and how many times (`MAX_TRANSFERS_PER_TICKET`, 0 to 20).
    pub transfers_until: Option<chrono::DateTime<chrono::Utc>>,
    pub max_transfers_per_ticket: i64,
    /// How many messages to attendees leave per minute (`MESSAGE_RATE_PER_MINUTE`, 1 to 100 000).
    pub message_rate_per_minute: i64,
    /// A schedule (pretalx `schedule.json`/`.xml`) imported every `SCHEDULE_IMPORT_MINUTES` (1 to
    /// 1440, 15 by default), if set (`SCHEDULE_IMPORT_URL`, http or https).
    pub schedule_import_url: Option<String>,
    pub schedule_import_minutes: i64,
    /// Dev only: the instant the server's clock starts at (to rehearse the doors before the event).
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// `/metrics` on an address of its own (the scraper's network), if set.
    pub metrics_addr: Option<SocketAddr>,
    /// `/metrics` on the site's address for a request bearing this token, if set.
    pub metrics_token: Option<String>,
    /// After SIGTERM, how long requests in flight may take to finish.
    pub shutdown_grace_seconds: u64,
    /// How often the reservation sweeper and the programme mailer run.
    pub jobs_every_seconds: u64,
    /// The seller, the numbering and the VAT of invoices.
    pub invoice: crate::invoice_settings::InvoiceSettings,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Config, ConfigError> {
        let _ = dotenvy::dotenv();
        Config::from_map(&std::env::vars().collect())
    }

    /// Parses a configuration from a variable map (tests pass their own).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let mode = match get("TESSERA_ENV").as_deref() {
            None | Some("dev") | Some("development") => Mode::Dev,
            Some("production") | Some("prod") => Mode::Production,
            Some(other) => {
                return Err(err(
                    "TESSERA_ENV",
                    format!("'{other}' is neither 'dev' nor 'production'"),
                ))
            }
        };
        let addr_raw = get("ADDR")
            .or_else(|| get("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let addr: SocketAddr = addr_raw.parse().map_err(|_| {
            err(
                "ADDR",
                format!("'{addr_raw}' is not an address like 127.0.0.1:3000"),
            )
        })?;
        // The dev server has the dev mailbox, test payments and a shifted clock: this machine only.
        let on_this_machine = |var: &'static str, addr: SocketAddr| {
            if mode == Mode::Dev && !addr.ip().to_canonical().is_loopback() {
                return Err(err(
                    var,
                    format!(
                        "'{addr}' is not a loopback address, and a dev server (TESSERA_ENV=dev, \
                         the default) serves this machine only; set TESSERA_ENV=production to \
                         serve a network"
                    ),
                ));
            }
            Ok(())
        };
        on_this_machine("ADDR", addr)?;
        let base_url = get("BASE_URL").unwrap_or_else(|| format!("http://{addr}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(err(
                "BASE_URL",
                format!("'{base_url}' must start with http:// or https://"),
            ));
        }
        let base_url = base_url.trim_end_matches('/').to_string();
        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite:data/tessera.db".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }
        let secret_key = match get("SECRET_KEY") {
            Some(k) if k.len() >= 32 => k.into_bytes(),
            Some(_) => return Err(err("SECRET_KEY", "must be at least 32 characters long")),
            None if mode == Mode::Production => {
                return Err(err(
                    "SECRET_KEY",
                    "is required in production (at least 32 random characters)",
                ))
            }
            None => dev_secret(),
        };
        let tz_raw = get("CONFERENCE_TIMEZONE").unwrap_or_else(|| "Europe/Paris".into());
        let timezone: chrono_tz::Tz = tz_raw.parse().map_err(|_| {
            err(
                "CONFERENCE_TIMEZONE",
                format!("'{tz_raw}' is not an IANA time zone such as Europe/Paris"),
            )
        })?;
        let seed_demo =
            parse_bool(get("SEED_DEMO"), mode == Mode::Dev).map_err(|m| err("SEED_DEMO", m))?;
        let log_json = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("'{other}' is neither 'text' nor 'json'"),
                ))
            }
        };
        let smtp_url = get("SMTP_URL");
        if let Some(u) = &smtp_url {
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                return Err(err("SMTP_URL", "must start with smtp:// or smtps://"));
            }
        }
        if smtp_url.is_none() && mode == Mode::Production {
            return Err(err(
                "SMTP_URL",
                "is required in production (the dev mailbox is off there)",
            ));
        }
        let millis = |var: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    err(
                        var,
                        format!("'{v}' is not a positive number of milliseconds"),
                    )
                }),
            }
        };
        let mail_poll_ms = millis("MAIL_POLL_MS", 1000)?;
        let mail_retry_base_ms = millis("MAIL_RETRY_BASE_MS", 5000)?;
        let webhook_poll_ms = millis("WEBHOOK_POLL_MS", 1000)?;
        let webhook_retry_base_ms = millis("WEBHOOK_RETRY_BASE_MS", 30_000)?;
        // A whole number from `min` to `max`; `default` when not set.
        let ranged =
            |var: &'static str, default: i64, min: i64, max: i64| -> Result<i64, ConfigError> {
                match get(var) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<i64>()
                        .ok()
                        .filter(|n| (min..=max).contains(n))
                        .ok_or_else(|| {
                            err(
                                var,
                                format!("'{v}' is not a whole number from {min} to {max}"),
                            )
                        }),
                }
            };
        let whole = |var: &'static str, default: i64, max: i64| ranged(var, default, 1, max);
        // PostgreSQL's own default allows 100 connections in all; past 1000 is a typo.
        let db_max_connections = whole("DB_MAX_CONNECTIONS", 16, 1000)? as u32;
        let reservation_minutes = whole("RESERVATION_MINUTES", 30, 24 * 60)?;
        let waitlist_offer_hours = whole("WAITLIST_OFFER_HOURS", 48, 720)?;
        let max_tickets_per_order = whole("MAX_TICKETS_PER_ORDER", 10, 100)?;
        let max_open_orders_per_account = whole("MAX_OPEN_ORDERS_PER_ACCOUNT", 2, 100)?;
        let checkout_requires_verified_email = parse_bool(
            get("CHECKOUT_REQUIRES_VERIFIED_EMAIL"),
            mode == Mode::Production,
        )
        .map_err(|m| err("CHECKOUT_REQUIRES_VERIFIED_EMAIL", m))?;
        let from_zero = |var: &'static str, default: i64, max: i64| ranged(var, default, 0, max);
        let scan_grace_minutes = from_zero("SCAN_GRACE_MINUTES", 60, 24 * 60)?;
        let programme_mail_delay_minutes = from_zero("PROGRAMME_MAIL_DELAY_MINUTES", 10, 24 * 60)?;
        let scan_undo_seconds = whole("SCAN_UNDO_SECONDS", 120, 3600)?;
        let max_transfers_per_ticket = from_zero("MAX_TRANSFERS_PER_TICKET", 2, 20)?;
        let message_rate_per_minute = whole("MESSAGE_RATE_PER_MINUTE", 60, 100_000)?;
        let api_rate_per_minute = whole("API_RATE_PER_MINUTE", 600, 100_000)?;
        let schedule_import_minutes = whole("SCHEDULE_IMPORT_MINUTES", 15, 24 * 60)?;
        let schedule_import_url = get("SCHEDULE_IMPORT_URL").filter(|u| !u.trim().is_empty());
        if let Some(url) = &schedule_import_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(err("SCHEDULE_IMPORT_URL", "is not an http(s) address"));
            }
        }
        let instant =
            |var: &'static str| -> Result<Option<chrono::DateTime<chrono::Utc>>, ConfigError> {
                get(var)
                .map(|v| {
                    chrono::DateTime::parse_from_rfc3339(v.trim())
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .map_err(|_| err(var, format!("'{v}' is not an RFC 3339 instant such as 2027-06-01T00:00:00+02:00")))
                })
                .transpose()
            };
        let questions_editable_until = instant("QUESTIONS_EDITABLE_UNTIL")?;
        let transfers_until = instant("TICKET_TRANSFER_UNTIL")?;
        let clock_start = match get("CLOCK_START") {
            None => None,
            Some(_) if mode == Mode::Production => {
                return Err(err(
                    "CLOCK_START",
                    "is a rehearsal setting, refused in production (TESSERA_ENV=production)",
                ))
            }
            Some(v) => Some(
                chrono::DateTime::parse_from_rfc3339(&v)
                    .map_err(|_| {
                        err(
                            "CLOCK_START",
                            format!("'{v}' is not an RFC 3339 instant such as 2027-06-10T08:30:00+02:00"),
                        )
                    })?
                    .with_timezone(&chrono::Utc),
            ),
        };
        let retention_days_after_event = whole("RETENTION_DAYS_AFTER_EVENT", 90, 3650)?;
        let accounting_retention_years = whole("ACCOUNTING_RETENTION_YEARS", 10, 30)?;
        let consent_version = get("CONSENT_VERSION").unwrap_or_else(|| "2026-01".into());
        if consent_version.chars().count() > 40
            || !consent_version.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(err(
                "CONSENT_VERSION",
                format!(
                    "'{consent_version}' is not a version such as 2026-01 (at most 40 visible characters, no spaces)"
                ),
            ));
        }
        let trust_proxy =
            parse_bool(get("TRUST_PROXY"), false).map_err(|m| err("TRUST_PROXY", m))?;
        let trusted_proxies = whole("TRUSTED_PROXIES", 1, 10)? as usize;
        let stripe_secret_key = get("STRIPE_SECRET_KEY");
        if let Some(k) = &stripe_secret_key {
            if !(k.starts_with("sk_test_") || k.starts_with("sk_live_") || k.starts_with("rk_")) {
                return Err(err(
                    "STRIPE_SECRET_KEY",
                    "must be a Stripe secret key (sk_test_…, sk_live_… or rk_…)",
                ));
            }
        }
        let stripe_webhook_secrets: Vec<String> = get("STRIPE_WEBHOOK_SECRETS")
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = stripe_webhook_secrets
            .iter()
            .find(|s| !s.starts_with("whsec_"))
        {
            return Err(err(
                "STRIPE_WEBHOOK_SECRETS",
                format!(
                    "'{}…' is not a webhook secret (whsec_…)",
                    &bad[..bad.len().min(6)]
                ),
            ));
        }
        if stripe_secret_key.is_some() && stripe_webhook_secrets.is_empty() {
            return Err(err(
                "STRIPE_WEBHOOK_SECRETS",
                "is required when STRIPE_SECRET_KEY is set",
            ));
        }
        let metrics_addr = match get("METRICS_ADDR") {
            None => None,
            Some(v) => Some(v.parse::<SocketAddr>().map_err(|_| {
                err(
                    "METRICS_ADDR",
                    format!("'{v}' is not an address like 127.0.0.1:9100"),
                )
            })?),
        };
        // Metrics on their own address are not protected: a dev server keeps them here too.
        if let Some(m) = metrics_addr {
            on_this_machine("METRICS_ADDR", m)?;
        }
        let metrics_token = get("METRICS_TOKEN");
        if metrics_token.as_ref().is_some_and(|t| t.len() < 32) {
            return Err(err(
                "METRICS_TOKEN",
                "must be at least 32 characters (openssl rand -hex 32)",
            ));
        }
        let shutdown_grace_seconds = whole("SHUTDOWN_GRACE_SECONDS", 20, 600)? as u64;
        let jobs_every_seconds = whole("JOBS_EVERY_SECONDS", 30, 3600)? as u64;
        let event_name = get("EVENT_NAME").unwrap_or_else(|| "Rencontres Tessera 2027".into());
        let invoice = crate::invoice_settings::from_vars(&get, &event_name, mode == Mode::Dev)
            .map_err(|(var, message)| err(var, message))?;
        Ok(Config {
            invoice,
            mode,
            addr,
            base_url,
            database_url,
            db_max_connections,
            secret_key,
            timezone,
            event_name,
            seed_demo,
            log_json,
            site_root: PathBuf::from(
                get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            ),
            consent_version,
            retention_days_after_event,
            accounting_retention_years,
            smtp_url,
            mail_from: get("MAIL_FROM")
                .unwrap_or_else(|| "Tessera <no-reply@tessera.localhost>".into()),
            stripe_secret_key,
            stripe_webhook_secrets,
            stripe_api_base: get("STRIPE_API_BASE"),
            metrics_addr,
            metrics_token,
            shutdown_grace_seconds,
            jobs_every_seconds,
            mail_poll_ms,
            mail_retry_base_ms,
            webhook_poll_ms,
            webhook_retry_base_ms,
            api_rate_per_minute,
            trust_proxy,
            trusted_proxies,
            reservation_minutes,
            waitlist_offer_hours,
            max_tickets_per_order,
            checkout_requires_verified_email,
            max_open_orders_per_account,
            show_interest_counts: parse_bool(get("SHOW_INTEREST_COUNTS"), false)
                .map_err(|m| err("SHOW_INTEREST_COUNTS", m))?,
            page_cache: parse_bool(get("PAGE_CACHE"), true).map_err(|m| err("PAGE_CACHE", m))?,
            scan_grace_minutes,
            scan_undo_seconds,
            door_offline_names: parse_bool(get("DOOR_OFFLINE_NAMES"), false)
                .map_err(|m| err("DOOR_OFFLINE_NAMES", m))?,
            programme_mail_delay_minutes,
            questions_editable_until,
            transfers_until,
            max_transfers_per_ticket,
            message_rate_per_minute,
            schedule_import_url,
            schedule_import_minutes,
            clock_start,
        })
    }

    /// An instant as a `datetime-local` input shows it: `2027-06-10T09:30`, conference time.
    pub fn local_input(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        t.with_timezone(&self.timezone)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    }

    /// An instant as the door and the back office show it, conference time: "10/06 09:12".
    pub fn short_local(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&self.timezone)
            .format("%d/%m %H:%M")
            .to_string()
    }

    /// A `datetime-local` value read in the conference's time zone; `None` when malformed.
    pub fn parse_local_input(&self, raw: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::TimeZone;
        crate::dates::parse_local_minute(raw)
            .and_then(|t| self.timezone.from_local_datetime(&t).earliest())
            .map(|t| t.with_timezone(&chrono::Utc))
    }

    pub fn is_dev(&self) -> bool {
        self.mode == Mode::Dev
    }
}

fn parse_bool(v: Option<String>, default: bool) -> Result<bool, String> {
    match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(format!("'{other}' is not true or false")),
    }
}

/// In dev, a random key kept in `data/dev-secret.key` so sessions survive restarts; never in the repo.
fn dev_secret() -> Vec<u8> {
    use rand::RngCore;
    let path = PathBuf::from("data/dev-secret.key");
    if let Ok(k) = std::fs::read(&path) {
        if k.len() >= 32 {
            return k;
        }
    }
    let mut key = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let _ = std::fs::create_dir_all("data");
    let _ = std::fs::write(&path, &key);
    key
}

#[cfg(test)]
mod tests;
