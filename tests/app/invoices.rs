//! Issue 17, on SQLite and PostgreSQL over real HTTP: every paid order gets an invoice numbered
//! without gaps (50 payments at once), amounts that add up per VAT rate for awkward prices, a PDF
//! that says so, credit notes that cancel exactly what they correct (refund, partial refund,
//! correction of the company), documents the database refuses to change, and the accountant's CSV.
use crate::common::{
    checkout_form,
    fake_stripe::{send_event, FakeStripe},
    field_error, on_each_engine, pass,
    smtp::SmtpSink,
    TestApp,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tessera::accounts::Role;
use uuid::Uuid;

const PW: &str = "a long enough passphrase";
const WHSEC: &str = "whsec_current";
/// A VAT-registered seller: VAT is charged and shown.
const SELLER: [(&str, &str); 4] = [
    ("SELLER_NAME", "Association Rencontres Tessera"),
    ("SELLER_ADDRESS", "12 rue de la République|69002 Lyon"),
    ("SELLER_VAT_NUMBER", "FR40123456824"),
    ("SELLER_REGISTRATION", "SIRET 123 456 824 00017"),
];

fn env(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> =
        SELLER.iter().map(|(k, v)| (*k, v.to_string())).collect();
    v.extend(extra.iter().cloned());
    v
}

fn stripe_env(fake: &FakeStripe) -> Vec<(&'static str, String)> {
    env(&fake.env(WHSEC))
}

async fn post_event(app: &TestApp, event: &Value) -> (u16, String) {
    let url = app.url("/stripe/webhook");
    let at = chrono::Utc::now().timestamp();
    send_event(&app.new_client(), &url, event, WHSEC, at)
        .await
        .unwrap()
}

/// An issued document as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Doc {
    id: Uuid,
    number: String,
    kind: String,
    seq: i64,
    order_id: Uuid,
    corrects_id: Option<Uuid>,
    buyer_company: Option<String>,
    net_cents: i64,
    vat_cents: i64,
    gross_cents: i64,
}

async fn docs(app: &TestApp) -> Vec<Doc> {
    tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT id, number, kind, seq, order_id, corrects_id, buyer_company, net_cents, vat_cents, gross_cents FROM invoices ORDER BY kind DESC, seq")
        .fetch_all(pool).await).unwrap()
}

/// (rate, net, vat, gross) per line of a document.
async fn lines(app: &TestApp, id: Uuid) -> Vec<(i64, i64, i64, i64)> {
    tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT vat_rate_bp, net_cents, vat_cents, gross_cents FROM invoice_lines WHERE invoice_id = $1 ORDER BY position")
        .bind(id).fetch_all(pool).await).unwrap()
}

/// Sums per VAT rate over every document of an order: (net, vat, gross).
async fn balance(app: &TestApp, order: Uuid) -> BTreeMap<i64, (i64, i64, i64)> {
    let rows: Vec<(i64, i64, i64, i64)> = tessera::db_run!(app.db(), pool => sqlx::query_as(
        "SELECT l.vat_rate_bp, l.net_cents, l.vat_cents, l.gross_cents FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.order_id = $1")
        .bind(order).fetch_all(pool).await).unwrap();
    let mut out = BTreeMap::new();
    for (rate, n, v, g) in rows {
        let e = out.entry(rate).or_insert((0, 0, 0));
        e.0 += n;
        e.1 += v;
        e.2 += g;
    }
    out
}

/// The text of a PDF, spaces normalised (French amounts use U+202F and U+00A0).
fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let text = pdf_extract::extract_text_from_mem(bytes).expect("the PDF parses back");
    text.replace(['\u{202f}', '\u{a0}'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn download(app: &TestApp, client: &reqwest::Client, id: Uuid) -> (u16, Vec<u8>) {
    let res = client
        .get(app.url(&format!("/invoices/{id}.pdf")))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.bytes().await.unwrap().to_vec())
}

/// Posts the shop's form with a company's billing details; returns status, body, redirect.
async fn checkout_for_company(
    app: &TestApp,
    client: &reqwest::Client,
    lines: &[(Uuid, &str)],
    billing: &[(&str, &str)],
) -> (u16, Value, Option<String>) {
    let extra = billing
        .iter()
        .map(|(k, v)| (format!("billing[{k}]"), v.to_string()))
        .collect();
    checkout_form(app, client, lines, extra).await
}

#[tokio::test]
async fn fifty_payments_at_once_get_invoice_numbers_one_to_fifty() {
    let fake = FakeStripe::start().await;
    let env = stripe_env(&fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| async move {
        app.seed_demo().await;
        let two_days = pass(&app, "Pass 2 jours").await;
        let app = std::sync::Arc::new(app);
        let mut sessions = vec![];
        for i in 0..50 {
            let buyer = app.user(&format!("payer{i}@example.org"), PW, Role::User).await;
            let order = tessera::ticketing::service::create_pending_order(
                app.db(),
                &app.state.config,
                buyer,
                &[tessera::ticketing::CartLine { ticket_type_id: two_days, quantity: "1".into() }],
            )
            .await
            .unwrap();
            let page = tessera::payments::service::CheckoutPage { session_id: format!("cs_inv_{i}"), url: String::new() };
            let mut tx = app.db().begin().await.unwrap();
            tessera::payments::service::record_checkout_page(&mut tx, order, &page).await.unwrap();
            tx.commit().await.unwrap();
            sessions.push((order, page.session_id));
        }
        // Fifty signed webhooks at once.
        let tasks: Vec<_> = sessions
            .iter()
            .enumerate()
            .map(|(i, (_, sid))| {
                let app = app.clone();
                let event = json!({ "id": format!("evt_inv_{i}"), "type": "checkout.session.completed", "data": { "object": {
                    "id": sid, "object": "checkout.session", "payment_status": "paid", "payment_intent": format!("pi_inv_{i}") } } });
                tokio::spawn(async move { post_event(&app, &event).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), (200, "paid".to_string()), "[{}]", app.engine);
        }
        let all = docs(&app).await;
        assert_eq!(all.len(), 50, "[{}] one invoice per paid order", app.engine);
        let mut seqs: Vec<i64> = all.iter().map(|d| d.seq).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=50).collect::<Vec<_>>(), "[{}] no gap, no duplicate", app.engine);
        let year = tessera::server::now().with_timezone(&app.state.config.timezone).format("%Y").to_string();
        for d in &all {
            assert_eq!(d.number, format!("F-{year}-{:05}", d.seq));
            assert_eq!(d.kind, "INVOICE");
            assert_eq!((d.gross_cents, d.net_cents + d.vat_cents), (12_000, 12_000), "[{}] {d:?}", app.engine);
        }
        for (order, _) in &sessions {
            assert_eq!(all.iter().filter(|d| d.order_id == *order).count(), 1);
        }
        // Every confirmation mail carries its order's invoice.
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails o JOIN invoices i ON i.id = o.invoice_id WHERE o.type = 'ORDER_CONFIRMED' AND i.order_id = o.order_id").await, 50);
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'ISSUE_INVOICE'").await, 50);
    })
    .await;
}

#[tokio::test]
async fn a_company_invoice_adds_up_prints_corrects_and_refunds() {
    let sink = SmtpSink::start().await;
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let env = env(&[("SMTP_URL", smtp), ("MAIL_POLL_MS", "100".into())]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| {
        let sink = &sink;
        async move {
            app.seed_demo().await;
            let (a, b) = (pass(&app, "Pass 2 jours").await, pass(&app, "Pass Jour 1").await);
            // Awkward prices: 3 × 33,33 € at 20 % and 1 × 19,99 € at 10 %.
            tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET price_cents = 3333, vat_rate_bp = 2000 WHERE id = $1").bind(a).execute(pool).await.map(|_| ())).unwrap();
            tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET price_cents = 1999, vat_rate_bp = 1000 WHERE id = $1").bind(b).execute(pool).await.map(|_| ())).unwrap();
            let email = format!("acme-{}@example.org", app.engine);
            app.user(&email, PW, Role::User).await;
            let buyer = app.logged_in(&email, PW).await;
            app.user("stranger@example.org", PW, Role::User).await;
            let stranger = app.logged_in("stranger@example.org", PW).await;
            app.user("boss@example.org", PW, Role::Admin).await;
            let admin = app.logged_in("boss@example.org", PW).await;

            // A malformed VAT number is refused on its field; nothing is reserved.
            let company = [("company", "ACME Conseil SAS"), ("address", "8 rue de la Paix\n75002 Paris"), ("country", "FR"), ("reference", "PO-4521")];
            let mut bad = company.to_vec();
            bad.push(("vat_number", "FR123"));
            let (s, body, _) = checkout_for_company(&app, &buyer, &[(a, "3"), (b, "1")], &bad).await;
            assert_eq!((s, field_error(&body)), (422, ("billing[vat_number]".into(), "invoice.error.vat_number".into())), "[{}]", app.engine);
            assert_eq!(app.count("SELECT COUNT(*) FROM orders").await, 0);

            let mut good = company.to_vec();
            good.push(("vat_number", "fr 83 404 833 048"));
            let (s, body, location) = checkout_for_company(&app, &buyer, &[(a, "3"), (b, "1")], &good).await;
            assert!(s < 400, "[{}] {s} {body}", app.engine);
            let session = location.unwrap().rsplit('/').next().unwrap().to_string();
            let (s, _) = app.call_as(&buyer, "test_checkout_act", &[("session_id", &session), ("outcome", "pay")]).await;
            assert!(s < 400);

            let all = docs(&app).await;
            assert_eq!(all.len(), 1, "[{}]", app.engine);
            let inv = all[0].clone();
            // Per line: VAT = gross × rate / (1 + rate), rounded half up; net the rest.
            assert_eq!(lines(&app, inv.id).await, vec![(2000, 8332, 1667, 9999), (1000, 1817, 182, 1999)], "[{}]", app.engine);
            assert_eq!((inv.net_cents, inv.vat_cents, inv.gross_cents), (10_149, 1_849, 11_998));
            let (total,): (i64,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT total_cents FROM orders WHERE id = $1").bind(inv.order_id).fetch_one(pool).await).unwrap();
            assert_eq!(total, inv.gross_cents, "the invoice is what was paid");
            assert_eq!(inv.buyer_company.as_deref(), Some("ACME Conseil SAS"));

            // The buyer downloads it; nobody else does (not even knowing its id).
            let (s, pdf) = download(&app, &buyer, inv.id).await;
            assert_eq!(s, 200, "[{}]", app.engine);
            let text = pdf_text(&pdf);
            for needle in [inv.number.as_str(), "ACME Conseil SAS", "FR83404833048", "PO-4521", "119,98 €", "101,49 €", "18,49 €", "L441-10", "Association Rencontres Tessera", "FR40123456824"] {
                assert!(text.contains(needle), "[{}] the PDF lacks {needle}: {text}", app.engine);
            }
            assert_eq!(download(&app, &stranger, inv.id).await.0, 404);
            assert_eq!(download(&app, &app.new_client(), inv.id).await.0, 404);
            assert_eq!(download(&app, &admin, inv.id).await.0, 200);
            assert_eq!(download(&app, &buyer, Uuid::new_v4()).await.0, 404);

            // The confirmation mail carries it as a PDF attachment.
            let file = format!("{}.pdf", inv.number);
            let mut attached = false;
            for _ in 0..200 {
                attached = sink.messages().iter().any(|m| m.to.iter().any(|t| t.contains(&email)) && m.data.contains("application/pdf") && m.data.contains(&file));
                if attached {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(attached, "[{}] no mail to {email} carries {file}", app.engine);

            // The database refuses to change or delete an issued document.
            for sql in ["UPDATE invoices SET gross_cents = 0", "DELETE FROM invoices", "UPDATE invoice_lines SET gross_cents = 0", "DELETE FROM invoice_lines"] {
                let r = tessera::db_run!(app.db(), pool => sqlx::query(sql).execute(pool).await.map(|_| ()));
                assert!(r.is_err(), "[{}] {sql} was allowed", app.engine);
            }

            // A correction of the company: the invoice stays as issued; a credit note cancels it
            // and a new invoice goes to the new company. Never for someone else's order.
            let order = inv.order_id.to_string();
            let change = [("order_id", order.as_str()), ("billing[company]", "ACME Group SA"), ("billing[address]", "1 place Bellecour\n69002 Lyon"), ("billing[country]", "FR"), ("billing[vat_number]", ""), ("billing[reference]", "")];
            assert_eq!(app.call_as(&stranger, "set_order_billing", &change).await.0, 404);
            let (s, body) = app.call_as(&buyer, "set_order_billing", &change).await;
            assert!(s < 400, "[{}] {s} {body}", app.engine);
            let all = docs(&app).await;
            assert_eq!(all.len(), 3, "[{}] {all:?}", app.engine);
            assert_eq!(all.iter().find(|d| d.id == inv.id), Some(&inv), "the issued invoice is unchanged");
            let credit = all.iter().find(|d| d.kind == "CREDIT_NOTE").unwrap().clone();
            assert_eq!((credit.corrects_id, credit.gross_cents, credit.vat_cents), (Some(inv.id), -11_998, -1_849));
            assert!(credit.number.starts_with("AV-"), "{}", credit.number);
            let new = all.iter().find(|d| d.kind == "INVOICE" && d.id != inv.id).unwrap().clone();
            assert_eq!((new.seq, new.buyer_company.as_deref(), new.gross_cents), (2, Some("ACME Group SA"), 11_998));
            let (_, pdf) = download(&app, &buyer, credit.id).await;
            let text = pdf_text(&pdf);
            assert!(text.contains(&credit.number) && text.contains(&inv.number) && text.contains("-119,98 €"), "[{}] {text}", app.engine);

            // An admin refunds the order: the credit note cancels the invoice in force exactly.
            let (s, body) = app.call_as(&admin, "admin_refund_order", &[("order_id", &order)]).await;
            assert!(s < 400, "[{}] {s} {body}", app.engine);
            let all = docs(&app).await;
            assert_eq!(all.len(), 4);
            let refund = all.iter().find(|d| d.corrects_id == Some(new.id)).unwrap();
            assert_eq!(lines(&app, refund.id).await, vec![(2000, -8332, -1667, -9999), (1000, -1817, -182, -1999)]);
            for (rate, sums) in balance(&app, inv.order_id).await {
                assert_eq!(sums, (0, 0, 0), "[{}] rate {rate} does not cancel out", app.engine);
            }
            // Now refunded: the company can no longer change.
            let (s, body) = app.call_as(&buyer, "set_order_billing", &change).await;
            assert_eq!((s, field_error(&body).1.as_str()), (422, "invoice.error.order_closed"));

            // The buyer's orders list the four documents.
            let (_, orders) = app.call_as(&buyer, "my_orders", &[]).await;
            assert_eq!(orders[0]["invoices"].as_array().map(Vec::len), Some(4), "[{}] {orders}", app.engine);

            // The back office finds them; the accountant's CSV matches the invoices to the cent.
            let (s, found) = app.call_as(&admin, "admin_invoices", &[("query", "acme group")]).await;
            assert_eq!((s, found.as_array().map(Vec::len)), (200, Some(2)), "[{}] {found}", app.engine);
            assert_eq!(app.call_as(&buyer, "admin_invoices", &[]).await.0, 403);
            let res = admin.get(app.url("/admin/export/invoices.csv")).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 200);
            let csv = res.text().await.unwrap();
            let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
            let mut per_number: BTreeMap<String, i64> = BTreeMap::new();
            let mut rows = 0;
            for r in reader.records() {
                let r = r.unwrap();
                rows += 1;
                let cents = |s: &str| -> i64 { (s.parse::<f64>().unwrap() * 100.0).round() as i64 };
                assert_eq!(cents(&r[9]) + cents(&r[10]), cents(&r[11]), "net + VAT = gross");
                *per_number.entry(r[0].to_string()).or_default() += cents(&r[11]);
            }
            assert_eq!(rows, 8, "[{}] one row per document and rate: {csv}", app.engine);
            for d in docs(&app).await {
                assert_eq!(per_number.get(&d.number), Some(&d.gross_cents), "[{}] {}", app.engine, d.number);
            }
            assert_eq!(buyer.get(app.url("/admin/export/invoices.csv")).send().await.unwrap().status().as_u16(), 403);
            assert_eq!(app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'EXPORT_PERSONAL_DATA'").await, 1);
        }
    })
    .await;
}

fn refunded_event(id: &str, pi: &str, amount: i64, refunded: i64) -> Value {
    json!({ "id": id, "type": "charge.refunded", "data": { "object": {
        "id": "ch_inv", "object": "charge", "payment_intent": pi,
        "amount": amount, "amount_refunded": refunded, "refunded": refunded >= amount } } })
}

#[tokio::test]
async fn partial_refunds_get_their_credit_notes_once_and_the_last_one_balances() {
    let fake = FakeStripe::start().await;
    let env = stripe_env(&fake);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    on_each_engine(&env, |app| async move {
        app.seed_demo().await;
        let (a, b) = (pass(&app, "Pass 2 jours").await, pass(&app, "Pass Jour 1").await);
        tessera::db_run!(app.db(), pool => sqlx::query("UPDATE ticket_types SET vat_rate_bp = 1000 WHERE id = $1").bind(b).execute(pool).await.map(|_| ())).unwrap();
        let buyer = app.user("partial@example.org", PW, Role::User).await;
        let order = tessera::ticketing::service::create_pending_order(
            app.db(),
            &app.state.config,
            buyer,
            &[
                tessera::ticketing::CartLine { ticket_type_id: a, quantity: "1".into() },
                tessera::ticketing::CartLine { ticket_type_id: b, quantity: "1".into() },
            ],
        )
        .await
        .unwrap();
        let page = tessera::payments::service::CheckoutPage { session_id: "cs_partial".into(), url: String::new() };
        let mut tx = app.db().begin().await.unwrap();
        tessera::payments::service::record_checkout_page(&mut tx, order, &page).await.unwrap();
        tx.commit().await.unwrap();
        let paid = json!({ "id": "evt_p", "type": "checkout.session.completed", "data": { "object": {
            "id": "cs_partial", "object": "checkout.session", "payment_status": "paid", "payment_intent": "pi_partial" } } });
        assert_eq!(post_event(&app, &paid).await, (200, "paid".into()), "[{}]", app.engine);
        let inv = docs(&app).await[0].clone();
        let total = inv.gross_cents;

        // 50,00 € back: one credit note of 50,00 €, shared between the rates; not twice.
        let first = refunded_event("evt_r1", "pi_partial", total, 5_000);
        assert_eq!(post_event(&app, &first).await, (200, "partially_refunded".into()), "[{}]", app.engine);
        assert_eq!(post_event(&app, &first).await, (200, "duplicate".into()));
        let same_total = refunded_event("evt_r1_bis", "pi_partial", total, 5_000);
        assert_eq!(post_event(&app, &same_total).await, (200, "partially_refunded".into()));
        let credits: Vec<Doc> = docs(&app).await.into_iter().filter(|d| d.kind == "CREDIT_NOTE").collect();
        assert_eq!(credits.len(), 1, "[{}] {credits:?}", app.engine);
        assert_eq!(credits[0].gross_cents, -5_000);
        assert_eq!(credits[0].net_cents + credits[0].vat_cents, -5_000);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox_emails WHERE type = 'INVOICE_DOCUMENT' AND invoice_id IS NOT NULL").await, 1);

        // The rest: the order is refunded and the last credit note balances every rate to 0.
        let rest = refunded_event("evt_r2", "pi_partial", total, total);
        assert_eq!(post_event(&app, &rest).await, (200, "refunded".into()));
        let credits: Vec<Doc> = docs(&app).await.into_iter().filter(|d| d.kind == "CREDIT_NOTE").collect();
        assert_eq!(credits.len(), 2);
        assert_eq!(credits.iter().map(|c| c.gross_cents).sum::<i64>(), -total);
        let seqs: Vec<i64> = credits.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, vec![1, 2], "credit notes have their own gap-free series");
        for (rate, sums) in balance(&app, order).await {
            assert_eq!(sums, (0, 0, 0), "[{}] rate {rate}", app.engine);
        }
    })
    .await;
}

/// What an attack on the first version found: an address that closed the form's textarea, line
/// breaks that pushed the buyer off the PDF's page, unbounded corrections (each two numbers and
/// two mailed PDFs), unbounded PDF renders, and a search long enough to make SQLite fail.
#[tokio::test]
async fn attacks_on_billing_and_downloads_are_refused() {
    on_each_engine(&env(&[]).iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(), |app| async move {
        app.seed_demo().await;
        let day2 = pass(&app, "Pass Jour 2").await;
        app.user("mallory@example.org", PW, Role::User).await;
        let buyer = app.logged_in("mallory@example.org", PW).await;
        app.user("boss@example.org", PW, Role::Admin).await;
        let admin = app.logged_in("boss@example.org", PW).await;
        let (s, body, location) = checkout_for_company(&app, &buyer, &[(day2, "1")], &[]).await;
        assert!(s < 400, "[{}] {s} {body}", app.engine);
        let session = location.unwrap().rsplit('/').next().unwrap().to_string();
        let (order,): (Uuid,) = tessera::db_run!(app.db(), pool => sqlx::query_as("SELECT id FROM orders").fetch_one(pool).await).unwrap();
        let order = order.to_string();
        let billing = |company: &str, address: &str| -> Vec<(String, String)> {
            vec![
                ("order_id".into(), order.clone()),
                ("billing[company]".into(), company.into()),
                ("billing[address]".into(), address.into()),
                ("billing[country]".into(), "FR".into()),
                ("billing[vat_number]".into(), String::new()),
                ("billing[reference]".into(), String::new()),
            ]
        };
        let call = |form: Vec<(String, String)>| {
            let (app, buyer) = (&app, &buyer);
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.call_as(buyer, "set_order_billing", &form).await
            }
        };

        // Markup in the address is text on /me/orders, never markup.
        let (s, body) = call(billing("Mallory SARL", "</textarea><script>alert(2)</script>\n75002 Paris")).await;
        assert!(s < 400, "[{}] {s} {body}", app.engine);
        let page = buyer.get(app.url("/me/orders")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Mallory SARL") || page.contains("order-billing"), "[{}] the order is rendered", app.engine);
        assert!(!page.contains("<script>alert(2)"), "[{}] the address closed its textarea", app.engine);

        // One-line fields take one line.
        let (s, body) = call(billing(&"x\n".repeat(99), "1 rue X")).await;
        assert_eq!((s, field_error(&body).0.as_str()), (422, "billing[company]"), "[{}]", app.engine);

        let (s, _) = app.call_as(&buyer, "test_checkout_act", &[("session_id", &session), ("outcome", "pay")]).await;
        assert!(s < 400);
        // The same company again: nothing to correct, no numbers spent.
        let (s, body) = call(billing("Mallory SARL", "</textarea><script>alert(2)</script>\n75002 Paris")).await;
        assert_eq!((s, field_error(&body).1.as_str()), (422, "invoice.error.unchanged"), "[{}]", app.engine);
        // Three corrections, then the organiser's turn.
        for i in 1..=3 {
            let (s, body) = call(billing(&format!("Mallory {i}"), "1 rue X")).await;
            assert!(s < 400, "[{}] correction {i}: {s} {body}", app.engine);
        }
        let (s, body) = call(billing("Mallory 4", "1 rue X")).await;
        assert_eq!((s, field_error(&body).1.as_str()), (422, "invoice.error.too_many_corrections"), "[{}]", app.engine);
        assert_eq!(app.count("SELECT COUNT(*) FROM invoices WHERE kind = 'CREDIT_NOTE'").await, 3);
        assert_eq!(app.count("SELECT COUNT(*) FROM invoices WHERE kind = 'INVOICE'").await, 4);

        // Downloads are counted per person (rendered once, then served from memory).
        let latest = docs(&app).await.into_iter().rfind(|d| d.kind == "INVOICE").unwrap();
        for _ in 0..60 {
            assert_eq!(download(&app, &buyer, latest.id).await.0, 200);
        }
        assert_eq!(download(&app, &buyer, latest.id).await.0, 429, "[{}]", app.engine);
        assert_eq!(download(&app, &admin, latest.id).await.0, 200, "another person is not held up");

        // A search too long for SQLite's LIKE is refused on its field.
        let long = "a".repeat(201);
        let (s, body) = app.call_as(&admin, "admin_invoices", &[("query", long.as_str())]).await;
        assert_eq!((s, field_error(&body).0.as_str()), (422, "query"), "[{}]", app.engine);
    })
    .await;
}
