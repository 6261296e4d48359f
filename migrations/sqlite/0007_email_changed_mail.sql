-- A completed change of address is told to the old address (mail EMAIL_CHANGED), so email_logs.type
-- accepts that kind. SQLite cannot alter a CHECK constraint: the table is rebuilt with its rows.
CREATE TABLE email_logs_new (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB REFERENCES users (id),
    type            TEXT NOT NULL CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED')),
    provider_message_id TEXT,
    status          TEXT NOT NULL CHECK (status IN ('SENT', 'FAILED')),
    attempts        INTEGER NOT NULL DEFAULT 1,
    error           TEXT,
    created_at      TEXT NOT NULL,
    outbox_id       BLOB REFERENCES outbox_emails (id)
);
INSERT INTO email_logs_new (id, user_id, type, provider_message_id, status, attempts, error, created_at, outbox_id)
    SELECT id, user_id, type, provider_message_id, status, attempts, error, created_at, outbox_id FROM email_logs;
DROP TABLE email_logs;
ALTER TABLE email_logs_new RENAME TO email_logs;
CREATE INDEX email_logs_user_id_idx ON email_logs (user_id);
