//! A local fake of the Stripe API (only what Tessera calls: Checkout Sessions and Refunds). It
//! records what the app sent, and answers in Stripe's JSON shapes so async-stripe parses them.
use axum::{
    extract::{Form, Path, State},
    http::HeaderMap,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// A checkout session creation as received: its form fields and its idempotency key.
pub type Created = (Vec<(String, String)>, Option<String>);

#[derive(Default)]
pub struct Recorded {
    /// Each checkout session creation: its form fields and idempotency key.
    pub created: Vec<Created>,
    pub sessions: HashMap<String, Value>,
    pub by_idempotency_key: HashMap<String, String>,
    pub refunds: Vec<String>,
    /// Each refund's payment intent and amount (none: the whole payment).
    pub refund_amounts: Vec<(String, Option<i64>)>,
    pub expired: Vec<String>,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub url: String,
    pub recorded: Arc<Mutex<Recorded>>,
}

impl FakeStripe {
    /// The app's settings for payments through this fake, with `whsec` its webhook secret.
    pub fn env(&self, whsec: &str) -> Vec<(&'static str, String)> {
        vec![
            ("STRIPE_SECRET_KEY", "sk_test_tessera".to_string()),
            ("STRIPE_WEBHOOK_SECRETS", whsec.to_string()),
            ("STRIPE_API_BASE", self.url.clone()),
        ]
    }

    pub async fn start() -> FakeStripe {
        let recorded: Arc<Mutex<Recorded>> = Default::default();
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/refunds", post(create_refund))
            .with_state(recorded.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeStripe { url, recorded }
    }

    /// What Checkout would report once the buyer paid.
    pub fn mark_paid(&self, session_id: &str, payment_intent: &str) {
        let mut r = self.recorded.lock().unwrap();
        let s = r.sessions.get_mut(session_id).expect("known session");
        s["payment_status"] = json!("paid");
        s["status"] = json!("complete");
        s["payment_intent"] = json!(payment_intent);
    }

    pub fn last_session(&self) -> Value {
        let r = self.recorded.lock().unwrap();
        let (form, _) = r.created.last().expect("a session was created");
        let id = r
            .by_idempotency_key
            .values()
            .find(|id| {
                r.sessions[*id]["client_reference_id"] == json!(field(form, "client_reference_id"))
            })
            .cloned();
        r.sessions[&id.expect("session")].clone()
    }
}

pub fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

async fn create_session(
    State(rec): State<Arc<Mutex<Recorded>>>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Json<Value> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut r = rec.lock().unwrap();
    r.created.push((form.clone(), key.clone()));
    if let Some(existing) = key.as_ref().and_then(|k| r.by_idempotency_key.get(k)) {
        return Json(r.sessions[existing].clone());
    }
    let id = format!("cs_test_{}", uuid::Uuid::new_v4().simple());
    let mut total = 0i64;
    for i in 0.. {
        let q = field(&form, &format!("line_items[{i}][quantity]"));
        if q.is_empty() {
            break;
        }
        total += q.parse::<i64>().unwrap()
            * field(&form, &format!("line_items[{i}][price_data][unit_amount]"))
                .parse::<i64>()
                .unwrap();
    }
    let session = json!({
        "id": id, "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
        "url": format!("https://checkout.stripe.test/c/pay/{id}"),
        "client_reference_id": field(&form, "client_reference_id"), "customer_email": field(&form, "customer_email"),
        "metadata": { "order_id": field(&form, "metadata[order_id]") },
        "amount_total": total, "currency": field(&form, "line_items[0][price_data][currency]"),
        "created": chrono::Utc::now().timestamp(), "expires_at": field(&form, "expires_at").parse::<i64>().unwrap_or(0),
        "livemode": false, "automatic_tax": { "enabled": false }, "custom_fields": [], "custom_text": {},
        "payment_method_types": ["card"], "shipping_options": [], "payment_intent": null
    });
    r.sessions.insert(id.clone(), session.clone());
    if let Some(k) = key {
        r.by_idempotency_key.insert(k, id);
    }
    Json(session)
}

async fn get_session(
    State(rec): State<Arc<Mutex<Recorded>>>,
    Path(id): Path<String>,
) -> Json<Value> {
    Json(rec.lock().unwrap().sessions[&id].clone())
}

async fn expire_session(
    State(rec): State<Arc<Mutex<Recorded>>>,
    Path(id): Path<String>,
) -> Json<Value> {
    let mut r = rec.lock().unwrap();
    r.expired.push(id.clone());
    let s = r.sessions.get_mut(&id).unwrap();
    s["status"] = json!("expired");
    Json(s.clone())
}

async fn create_refund(
    State(rec): State<Arc<Mutex<Recorded>>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Json<Value> {
    let pi = field(&form, "payment_intent").to_string();
    let amount = field(&form, "amount").parse::<i64>().ok();
    let mut r = rec.lock().unwrap();
    r.refunds.push(pi.clone());
    r.refund_amounts.push((pi.clone(), amount));
    drop(r);
    Json(
        json!({ "id": format!("re_{}", uuid::Uuid::new_v4().simple()), "object": "refund", "amount": 0, "currency": "eur",
                 "created": chrono::Utc::now().timestamp(), "payment_intent": pi, "status": "succeeded" }),
    )
}

/// Stripe's `checkout.session.completed` for `session`, paid (intent `pi_<session>`), as event
/// `evt_<session>`.
pub fn completed(session: &str) -> Value {
    json!({ "id": format!("evt_{session}"), "type": "checkout.session.completed",
        "data": { "object": { "id": session, "object": "checkout.session", "payment_status": "paid", "payment_intent": format!("pi_{session}") } } })
}

/// POSTs `event` to the webhook at `url` with Stripe's signature by `secret` at time `at`: the
/// status and body, or the error of a broken connection.
pub async fn send_event(
    c: &reqwest::Client,
    url: &str,
    event: &Value,
    secret: &str,
    at: i64,
) -> reqwest::Result<(u16, String)> {
    let body = serde_json::to_vec(event).unwrap();
    let res = c
        .post(url)
        .header(
            "stripe-signature",
            tessera::payments::service::sign(&body, secret, at),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = res.status().as_u16();
    Ok((status, res.text().await?))
}
