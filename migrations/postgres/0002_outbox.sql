-- Mails are written to this outbox in the transaction of the change that causes them, then sent by
-- the mail worker with retries and backoff, so a failing SMTP server never loses a mail nor blocks a
-- request. Every attempt is logged in email_logs. In production the bodies are cleared once sent.
CREATE TABLE outbox_emails (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID REFERENCES users (id),
    type            TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT,
    body_html       TEXT,
    status          TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    provider_message_id TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_emails_due_idx ON outbox_emails (status, next_attempt_at);

ALTER TABLE email_logs ADD COLUMN outbox_id UUID REFERENCES outbox_emails (id);
