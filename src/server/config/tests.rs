//! The configuration's checks: defaults, ranges, refusals.
use super::*;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_a_dev_sqlite_site() {
    let c = Config::from_map(&map(&[("SECRET_KEY", &"k".repeat(32))])).unwrap();
    assert_eq!(
        (c.retention_days_after_event, c.accounting_retention_years),
        (90, 10)
    );
    assert_eq!(c.consent_version, "2026-01");
    assert_eq!(c.database_url, "sqlite:data/tessera.db");
    assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
    assert_eq!(c.timezone, chrono_tz::Europe::Paris);
    assert!(c.is_dev() && c.seed_demo);
}

#[test]
fn malformed_settings_name_their_variable() {
    for (var, val) in [
        ("DATABASE_URL", "mysql://x"),
        ("ADDR", "nowhere"),
        ("CONFERENCE_TIMEZONE", "Mars/Olympus"),
        ("DB_MAX_CONNECTIONS", "0"),
        ("DB_MAX_CONNECTIONS", "4294967295"),
        ("METRICS_ADDR", "0.0.0.0:9100"),
        ("TESSERA_ENV", "staging"),
        ("SMTP_URL", "http://mail"),
        ("STRIPE_SECRET_KEY", "pk_test_123"),
        ("RETENTION_DAYS_AFTER_EVENT", "0"),
        ("RETENTION_DAYS_AFTER_EVENT", "ninety"),
        ("ACCOUNTING_RETENTION_YEARS", "31"),
        ("CONSENT_VERSION", "2026 01"),
    ] {
        let e = Config::from_map(&map(&[("SECRET_KEY", &"k".repeat(32)), (var, val)])).unwrap_err();
        assert_eq!(e.var, var, "{e}");
    }
    let e = Config::from_map(&map(&[("TESSERA_ENV", "production")])).unwrap_err();
    assert_eq!(e.var, "SECRET_KEY");
    let e = Config::from_map(&map(&[
        ("TESSERA_ENV", "production"),
        ("SECRET_KEY", &"k".repeat(32)),
    ]))
    .unwrap_err();
    assert_eq!(e.var, "SMTP_URL");
}

#[test]
fn a_dev_server_listens_on_loopback_only() {
    let key = "k".repeat(32);
    let loopback = [
        "127.0.0.1:3000",
        "[::1]:3000",
        "127.0.0.2:8080",
        "[::ffff:127.0.0.1]:3000",
    ];
    let open = [
        "0.0.0.0:3000",
        "[::]:3000",
        "192.168.1.10:3000",
        "[2001:db8::1]:3000",
    ];
    for addr in loopback.into_iter().chain(open) {
        let dev = Config::from_map(&map(&[("SECRET_KEY", &key), ("ADDR", addr)]));
        if loopback.contains(&addr) {
            assert!(dev.unwrap().is_dev(), "{addr}");
            continue;
        }
        let e = dev.unwrap_err();
        assert_eq!(e.var, "ADDR", "{addr}: {e}");
        let line = e.to_string();
        assert!(
            line.contains("TESSERA_ENV=production") && !line.contains('\n'),
            "{line}"
        );
        let e = Config::from_map(&map(&[
            ("SECRET_KEY", &key),
            ("ADDR", addr),
            ("LEPTOS_SITE_ADDR", "127.0.0.1:3000"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "ADDR", "ADDR wins over LEPTOS_SITE_ADDR");
    }
    let e = Config::from_map(&map(&[
        ("SECRET_KEY", &key),
        ("LEPTOS_SITE_ADDR", "0.0.0.0:3000"),
    ]))
    .unwrap_err();
    assert_eq!(e.var, "ADDR");
    let prod = Config::from_map(&map(&[
        ("TESSERA_ENV", "production"),
        ("SECRET_KEY", &key),
        ("SMTP_URL", "smtp://mail.example.org:587"),
        ("ADDR", "0.0.0.0:3000"),
    ]))
    .unwrap();
    assert_eq!(prod.addr.to_string(), "0.0.0.0:3000");
}

#[test]
fn checkout_gates_are_strict_in_production_and_relaxed_in_dev() {
    let key = "k".repeat(32);
    let dev = Config::from_map(&map(&[("SECRET_KEY", &key)])).unwrap();
    assert!(!dev.checkout_requires_verified_email);
    assert_eq!(dev.max_open_orders_per_account, 2);
    let prod = Config::from_map(&map(&[
        ("TESSERA_ENV", "production"),
        ("SECRET_KEY", &key),
        ("SMTP_URL", "smtp://mail.example.org:587"),
    ]))
    .unwrap();
    assert!(prod.checkout_requires_verified_email);
    for (var, val) in [
        ("CHECKOUT_REQUIRES_VERIFIED_EMAIL", "maybe"),
        ("MAX_OPEN_ORDERS_PER_ACCOUNT", "0"),
    ] {
        let e = Config::from_map(&map(&[("SECRET_KEY", &key), (var, val)])).unwrap_err();
        assert_eq!(e.var, var, "{e}");
    }
}
