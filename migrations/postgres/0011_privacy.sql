-- Personal data (issue 15): export, erasure and retention. Mirrors migrations/sqlite/0011_privacy.sql.

-- When the account last logged in: retention spares the accounts that came back after the event
-- (sessions are deleted at logout, so they alone cannot tell).
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMPTZ;

-- A consent is given or withdrawn: each change of the marketing opt-in is a new row (the history
-- is the proof); terms and privacy rows are always given.
ALTER TABLE user_consents ADD COLUMN granted BOOLEAN NOT NULL DEFAULT TRUE;

-- Leases of the background jobs that must run once across all app instances: an instance runs a
-- job only after taking its row with one conditional UPDATE (free or expired lease, and for the
-- scheduled run, not run recently), and gives it back with the time of the run.
CREATE TABLE job_leases (
    name            TEXT PRIMARY KEY NOT NULL,
    holder          UUID,
    lease_until     TIMESTAMPTZ,
    last_run_at     TIMESTAMPTZ
);
INSERT INTO job_leases (name) VALUES ('retention');

-- Erasure finds a person's mails by account and by address.
CREATE INDEX outbox_emails_user_id_idx ON outbox_emails (user_id);
CREATE INDEX outbox_emails_to_address_idx ON outbox_emails (to_address);

-- The last mail of an erased account (ACCOUNT_DELETED) is a kind email_logs.type accepts.
ALTER TABLE email_logs DROP CONSTRAINT email_logs_type_check;
ALTER TABLE email_logs ADD CONSTRAINT email_logs_type_check CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED'));
