//! The outbox, the templates and the sending worker.
use super::{DevMail, MailKind};
use crate::server::prelude::*;
use crate::{
    i18n::{tr, tr_with, Locale},
    server::state::Mailer,
};
use chrono::Duration;
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::sync::Arc;
use tokio::sync::Notify;

/// A mail to send: its kind chooses the template; `vars` fill its placeholders.
pub struct Mail {
    pub kind: MailKind,
    pub user_id: Option<Uuid>,
    pub to: String,
    pub locale: Locale,
    pub vars: Vec<(&'static str, String)>,
    /// The one button of the mail (a verification or reset link, the tickets page…).
    pub link: Option<String>,
    /// The order a mail is about; a `TICKET_SENT` mail gets that order's QR codes attached.
    pub order_id: Option<Uuid>,
}

impl Mail {
    /// A mail of `kind` to the address `to` (of `user_id`'s account, when it is one), its one
    /// button `link`; about no order, with no variables yet.
    pub fn new(
        kind: MailKind,
        user_id: Option<Uuid>,
        to: String,
        locale: Locale,
        link: Option<String>,
    ) -> Mail {
        let (vars, order_id) = (Vec::new(), None);
        Mail {
            kind,
            user_id,
            to,
            locale,
            vars,
            link,
            order_id,
        }
    }

    /// The same mail with these variables for its text.
    pub fn with(mut self, vars: Vec<(&'static str, String)>) -> Mail {
        self.vars = vars;
        self
    }
}

/// Where the QR codes go in a tickets mail's HTML body (filled in at sending time).
const TICKETS_PLACEHOLDER: &str = "<!--tickets-->";

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Renders a mail in its reader's language: a plain-text and an HTML body from the same texts.
pub fn render(mail: &Mail) -> Rendered {
    let l = mail.locale;
    let key = mail.kind.key();
    let vars: Vec<(&str, &str)> = mail.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let subject = tr_with(l, &format!("{key}.subject"), &vars);
    let body = tr_with(l, &format!("{key}.body"), &vars);
    let action = mail
        .link
        .as_ref()
        .map(|link| (tr(l, &format!("{key}.action")), link.clone()));
    let footer = tr(l, "mail.footer");

    let mut text = format!("{}\n\n", tr(l, "mail.greeting"));
    text.push_str(&body);
    if let Some((label, link)) = &action {
        text.push_str(&format!("\n\n{label}:\n{link}"));
    }
    text.push_str(&format!("\n\n-- \n{footer}\n"));

    let paragraphs: String = body
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", escape_html(p).replace('\n', "<br>")))
        .collect();
    let button = action
        .map(|(label, link)| {
            format!(
                r#"<p style="margin:24px 0"><a href="{href}" style="background:#1f3a5f;color:#ffffff;padding:12px 20px;border-radius:8px;text-decoration:none;display:inline-block">{label}</a></p><p style="font-size:13px;color:#4a5566">{link_text}</p>"#,
                href = escape_html(&link),
                label = escape_html(&label),
                link_text = escape_html(&link)
            )
        })
        .unwrap_or_default();
    let button = if matches!(mail.kind, MailKind::TicketSent | MailKind::HolderTicket) {
        format!("{TICKETS_PLACEHOLDER}{button}")
    } else {
        button
    };
    let html = format!(
        r#"<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head><body style="font-family:system-ui,Arial,sans-serif;color:#1b2430;background:#fbfaf7;padding:24px"><div style="max-width:560px;margin:auto;background:#ffffff;border:1px solid #e3e0d8;border-radius:10px;padding:24px"><p>{greeting}</p>{paragraphs}{button}<hr style="border:none;border-top:1px solid #e3e0d8"><p style="font-size:12px;color:#4a5566">{footer}</p></div></body></html>"#,
        lang = l.code(),
        title = escape_html(&subject),
        greeting = escape_html(&tr(l, "mail.greeting")),
        footer = escape_html(&footer),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

/// Writes a mail to the outbox inside the caller's transaction; the worker sends it after commit.
pub async fn enqueue(tx: &mut Tx, mail: &Mail) -> Result<Uuid, sqlx::Error> {
    let r = render(mail);
    let id = Uuid::new_v4();
    let now = now();
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO outbox_emails (id, user_id, type, to_address, subject, body_text, body_html, status, attempts, next_attempt_at, created_at, order_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', 0, $8, $8, $9)")
        .bind(id).bind(mail.user_id).bind(mail.kind.as_str()).bind(&mail.to).bind(&r.subject).bind(&r.text).bind(&r.html).bind(now).bind(mail.order_id)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(id)
}

/// [`enqueue`] for a mail about one ticket (a holder's): only that ticket's code is attached.
pub async fn enqueue_for_ticket(
    tx: &mut Tx,
    mail: &Mail,
    ticket_id: Uuid,
) -> Result<Uuid, sqlx::Error> {
    let id = enqueue(tx, mail).await?;
    tx_run!(tx, c => sqlx::query("UPDATE outbox_emails SET ticket_id = $1 WHERE id = $2")
        .bind(ticket_id).bind(id).execute(c).await.map(|_| ()))?;
    Ok(id)
}

/// How mails leave: SMTP when `SMTP_URL` is set, else (dev only) the dev mailbox.
#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    DevMailbox,
}

/// A boxed future borrowing the worker's database and configuration.
pub type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What the worker attaches to a mail, handed to it at start (by `server::router`): the mail
/// module imports no domain; ticketing and invoicing render their own files.
#[derive(Clone, Copy)]
pub struct Attachments {
    /// The QR codes (PNG) of an order's tickets (or of one of them), for a ticket mail.
    pub ticket_pngs: for<'a> fn(&'a Db, &'a Config, Uuid, Option<Uuid>) -> Pending<'a, TicketPngs>,
    /// A document's PDF as (file name without ".pdf", bytes); `None` when it does not exist.
    pub document_pdf: for<'a> fn(&'a Db, Uuid) -> Pending<'a, DocumentPdf>,
}

/// Each ticket's id and its QR code as a PNG.
pub type TicketPngs = Result<Vec<(Uuid, Vec<u8>)>, sqlx::Error>;
/// A document's file name and bytes, if it exists.
pub type DocumentPdf = Result<Option<(String, Vec<u8>)>, String>;

/// Starts the worker: it sends due mails, retrying failures with exponential backoff
/// (`MAIL_RETRY_BASE_MS` × 2^attempts, at most an hour), and never drops a mail.
/// At shutdown it stops between two mails: a mail it claimed is sent (or its failure recorded for a
/// retry) before it stops, never left claimed.
pub fn start_worker(
    db: Db,
    config: Arc<Config>,
    shutdown: &crate::server::lifecycle::Shutdown,
    attachments: Attachments,
) -> Result<Mailer, String> {
    let transport = match &config.smtp_url {
        Some(url) => Transport::Smtp(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| format!("configuration error: SMTP_URL: {e}"))?
                .timeout(Some(std::time::Duration::from_secs(10)))
                .build(),
        ),
        None => Transport::DevMailbox,
    };
    let from: Mailbox = config
        .mail_from
        .parse()
        .map_err(|e| format!("configuration error: MAIL_FROM: {e}"))?;
    let notify = Arc::new(Notify::new());
    let mailer = Mailer::new(notify.clone());
    let stop = shutdown.clone();
    shutdown.spawn("mail", async move {
        loop {
            match send_due(&db, &config, &transport, &from, &stop, &attachments).await {
                Ok(n) => {
                    crate::server::metrics::job_run("mail", "ok");
                    if n > 0 {
                        tracing::debug!(sent_or_tried = n, "mail worker pass")
                    }
                }
                Err(e) => {
                    crate::server::metrics::job_run("mail", "error");
                    tracing::warn!(error = %e, "mail worker: database error")
                }
            }
            tokio::select! {
                _ = tokio::time::timeout(
                    std::time::Duration::from_millis(config.mail_poll_ms),
                    notify.notified(),
                ) => {}
                _ = stop.stopping() => {}
            }
            if stop.is_stopping() {
                tracing::info!("mail worker stopped");
                break;
            }
        }
    });
    Ok(mailer)
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    user_id: Option<Uuid>,
    #[sqlx(rename = "type")]
    kind: String,
    to_address: String,
    subject: String,
    body_text: Option<String>,
    body_html: Option<String>,
    attempts: i64,
    order_id: Option<Uuid>,
    invoice_id: Option<Uuid>,
    ticket_id: Option<Uuid>,
}

/// One pass: claims each due mail (a lease, so several app instances never send one mail twice),
/// tries to send it and records the outcome.
async fn send_due(
    db: &Db,
    config: &Config,
    transport: &Transport,
    from: &Mailbox,
    stop: &crate::server::lifecycle::Shutdown,
    attachments: &Attachments,
) -> Result<usize, sqlx::Error> {
    let due: Vec<OutboxRow> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, user_id, type, to_address, subject, body_text, body_html, attempts, order_id, invoice_id, ticket_id FROM outbox_emails \
         WHERE status = 'PENDING' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 20")
        .bind(now()).fetch_all(pool).await)?;
    let mut handled = 0;
    for mail in due {
        // Stopping: the mails not yet claimed stay due, for this instance's successor or another.
        if stop.is_stopping() {
            break;
        }
        let lease_until = now() + Duration::seconds(60);
        let claimed = crate::db_write!(db, pool => sqlx::query(
            "UPDATE outbox_emails SET next_attempt_at = $1 WHERE id = $2 AND status = 'PENDING' AND next_attempt_at <= $3")
            .bind(lease_until).bind(mail.id).bind(now()).execute(pool).await.map(|r| r.rows_affected()))?;
        if claimed != 1 {
            continue;
        }
        handled += 1;
        tracing::info!(mail = %mail.id, kind = %mail.kind, "sending mail");
        let images = images_for(db, config, &mail, attachments).await?;
        // A document that cannot be rendered now is a failed attempt (retried), never a mail
        // sent without it.
        let attachment = match mail.invoice_id {
            Some(id) => match (attachments.document_pdf)(db, id).await {
                Ok(Some((name, bytes))) => Ok(Some((id, format!("{name}.pdf"), bytes))),
                Ok(None) => Err(format!("invoice {id} not found")),
                Err(e) => Err(format!("invoice {id}: {e}")),
            },
            None => Ok(None),
        };
        let outcome = match &attachment {
            Ok(file) => deliver(transport, from, &mail, &images, file.as_ref()).await,
            Err(e) => Err(e.clone()),
        };
        let dev = matches!(transport, Transport::DevMailbox);
        if dev && (!images.is_empty() || matches!(attachment, Ok(Some(_)))) {
            let mut html = inline_images(mail.body_html.as_deref().unwrap_or(""), &images);
            if let Ok(Some((id, name, _))) = &attachment {
                html = html.replace(
                    "</body>",
                    &format!(
                        r#"<p class="mail-attachment"><a href="/invoices/{id}.pdf">{}</a></p></body>"#,
                        escape_html(name)
                    ),
                );
            }
            crate::db_write!(db, pool => sqlx::query("UPDATE outbox_emails SET body_html = $1 WHERE id = $2").bind(html).bind(mail.id).execute(pool).await.map(|_| ()))?;
        }
        let attempts = mail.attempts + 1;
        let now = now();
        let mut tx = db.begin().await?;
        match outcome {
            Ok(message_id) => {
                crate::server::metrics::mail("sent");
                tracing::info!(mail = %mail.id, "mail sent");
                // In production the bodies (which may hold one-time links) are not kept once sent.
                let keep = config.is_dev();
                tx_run!(&mut tx, c => sqlx::query(
                    "UPDATE outbox_emails SET status = 'SENT', attempts = $1, sent_at = $2, provider_message_id = $3, last_error = NULL, \
                     body_text = CASE WHEN $4 THEN body_text ELSE NULL END, body_html = CASE WHEN $4 THEN body_html ELSE NULL END WHERE id = $5")
                    .bind(attempts).bind(now).bind(&message_id).bind(keep).bind(mail.id).execute(c).await.map(|r| r.rows_affected()))?;
                log_attempt(&mut tx, &mail, "SENT", Some(&message_id), None, attempts).await?;
            }
            Err(error) => {
                crate::server::metrics::mail("failed");
                tracing::warn!(mail = %mail.id, attempts, %error, "mail not sent, will retry");
                let backoff_ms = config
                    .mail_retry_base_ms
                    .saturating_mul(1u64 << (attempts.min(20) as u32 - 1))
                    .min(3_600_000);
                let next: DateTime<Utc> = now + Duration::milliseconds(backoff_ms as i64);
                tx_run!(&mut tx, c => sqlx::query("UPDATE outbox_emails SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4")
                    .bind(attempts).bind(next).bind(&error).bind(mail.id).execute(c).await.map(|r| r.rows_affected()))?;
                log_attempt(&mut tx, &mail, "FAILED", None, Some(&error), attempts).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(handled)
}

async fn log_attempt(
    tx: &mut Tx,
    mail: &OutboxRow,
    status: &str,
    message_id: Option<&str>,
    error: Option<&str>,
    attempts: i64,
) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query(
        "INSERT INTO email_logs (id, user_id, type, provider_message_id, status, attempts, error, outbox_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(Uuid::new_v4()).bind(mail.user_id).bind(&mail.kind).bind(message_id).bind(status).bind(attempts).bind(error).bind(mail.id).bind(now())
        .execute(c).await.map(|_| ()))
}

async fn deliver(
    transport: &Transport,
    from: &Mailbox,
    mail: &OutboxRow,
    images: &[(Uuid, Vec<u8>)],
    attachment: Option<&(Uuid, String, Vec<u8>)>,
) -> Result<String, String> {
    let html = mail.body_html.clone().unwrap_or_default();
    match transport {
        Transport::DevMailbox => Ok(format!("dev-mailbox-{}", mail.id)),
        Transport::Smtp(smtp) => {
            let to: Mailbox = mail
                .to_address
                .parse()
                .map_err(|e| format!("bad recipient: {e}"))?;
            let message_id = format!("<{}@tessera>", mail.id);
            let imgs: String = images
                .iter()
                .map(|(id, _)| format!(r#"<p style="text-align:center"><img src="cid:qr-{id}@tessera" width="240" height="240" alt="QR {id}"></p>"#))
                .collect();
            let html_part = SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html.replace(TICKETS_PLACEHOLDER, &imgs));
            let mut related = MultiPart::related().singlepart(html_part);
            for (id, png) in images {
                related = related.singlepart(
                    lettre::message::Attachment::new_inline(format!("qr-{id}@tessera")).body(
                        png.clone(),
                        ContentType::parse("image/png").expect("valid mime"),
                    ),
                );
            }
            let body = MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.body_text.clone().unwrap_or_default()),
                )
                .multipart(related);
            // A document goes as a real attachment beside the text and HTML bodies.
            let body = match attachment {
                Some((_, name, pdf)) => MultiPart::mixed().multipart(body).singlepart(
                    lettre::message::Attachment::new(name.clone()).body(
                        pdf.clone(),
                        ContentType::parse("application/pdf").expect("valid mime"),
                    ),
                ),
                None => body,
            };
            let message = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(&mail.subject)
                .message_id(Some(message_id.clone()))
                .multipart(body)
                .map_err(|e| format!("cannot build the message: {e}"))?;
            smtp.send(message).await.map_err(|e| e.to_string())?;
            Ok(message_id)
        }
    }
}

/// The QR codes a mail carries (tickets mails only).
async fn images_for(
    db: &Db,
    config: &Config,
    mail: &OutboxRow,
    attachments: &Attachments,
) -> Result<Vec<(Uuid, Vec<u8>)>, sqlx::Error> {
    match mail.order_id {
        Some(order_id) if mail.kind == MailKind::TicketSent.as_str() => {
            (attachments.ticket_pngs)(db, config, order_id, None).await
        }
        Some(order_id) if mail.kind == MailKind::HolderTicket.as_str() => {
            (attachments.ticket_pngs)(db, config, order_id, mail.ticket_id).await
        }
        _ => Ok(vec![]),
    }
}

/// In the dev mailbox the QR codes are shown inline as `data:` images.
fn inline_images(html: &str, images: &[(Uuid, Vec<u8>)]) -> String {
    use base64::Engine;
    let imgs: String = images
        .iter()
        .map(|(id, png)| {
            format!(
                r#"<p style="text-align:center"><img class="ticket-qr" data-ticket="{id}" src="data:image/png;base64,{}" width="240" height="240" alt="QR"></p>"#,
                base64::engine::general_purpose::STANDARD.encode(png)
            )
        })
        .collect();
    html.replace(TICKETS_PLACEHOLDER, &imgs)
}

pub async fn dev_mailbox(db: &Db) -> Result<Vec<DevMail>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        mail: OutboxRow,
        status: String,
        created_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT id, user_id, type, to_address, subject, body_text, body_html, attempts, order_id, invoice_id, ticket_id, status, created_at \
         FROM outbox_emails ORDER BY created_at DESC LIMIT 100")
        .fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(
            |Row {
                 mail,
                 status,
                 created_at,
             }| DevMail {
                id: mail.id,
                kind: mail.kind,
                to: mail.to_address,
                subject: mail.subject,
                body_text: mail.body_text.unwrap_or_default(),
                body_html: mail.body_html.unwrap_or_default(),
                status,
                attempts: mail.attempts,
                created_at,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mail_kind_has_its_texts_in_every_language() {
        for kind in MailKind::ALL {
            for l in crate::i18n::LOCALES {
                for part in ["subject", "body", "action"] {
                    let key = format!("{}.{part}", kind.key());
                    assert!(
                        l.table().contains_key(&key),
                        "missing {key} in {}",
                        l.code()
                    );
                }
            }
        }
    }

    #[test]
    fn html_bodies_escape_what_users_typed() {
        let r = render(&Mail {
            kind: MailKind::VerifyEmail,
            user_id: None,
            to: "a@b.org".into(),
            locale: Locale::En,
            vars: vec![("name", "<script>x</script>".into())],
            link: Some("https://t.example/verify?token=a&b".into()),
            order_id: None,
        });
        assert!(!r.html.contains("<script>x"));
        assert!(r.html.contains("token=a&amp;b"));
        assert!(r.text.contains("https://t.example/verify?token=a&b"));
    }
}
