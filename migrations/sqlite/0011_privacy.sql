-- Personal data (issue 15): export, erasure and retention. Mirrors migrations/postgres/0011_privacy.sql.

-- When the account last logged in: retention spares the accounts that came back after the event
-- (sessions are deleted at logout, so they alone cannot tell).
ALTER TABLE users ADD COLUMN last_login_at TEXT;

-- A consent is given or withdrawn: each change of the marketing opt-in is a new row (the history
-- is the proof); terms and privacy rows are always given.
ALTER TABLE user_consents ADD COLUMN granted BOOLEAN NOT NULL DEFAULT 1;

-- Leases of the background jobs that must run once across all app instances: an instance runs a
-- job only after taking its row with one conditional UPDATE (free or expired lease, and for the
-- scheduled run, not run recently), and gives it back with the time of the run.
CREATE TABLE job_leases (
    name            TEXT PRIMARY KEY NOT NULL,
    holder          BLOB,
    lease_until     TEXT,
    last_run_at     TEXT
);
INSERT INTO job_leases (name) VALUES ('retention');

-- Erasure finds a person's mails by account and by address.
CREATE INDEX outbox_emails_user_id_idx ON outbox_emails (user_id);
CREATE INDEX outbox_emails_to_address_idx ON outbox_emails (to_address);

-- The last mail of an erased account (ACCOUNT_DELETED) is a kind email_logs.type accepts. SQLite
-- cannot alter a CHECK constraint: the table is rebuilt with its rows (as in 0007).
CREATE TABLE email_logs_new (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB REFERENCES users (id),
    type            TEXT NOT NULL CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED')),
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
