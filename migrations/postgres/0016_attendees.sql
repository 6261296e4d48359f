-- Attendees' data (issue 31): questions asked per ticket, named tickets claimed and transferred,
-- refunds per ticket. Mirrors migrations/sqlite/0016_attendees.sql (the comments are there).
CREATE TABLE questions (
    id              UUID PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('TEXT', 'LONG_TEXT', 'CHOICE', 'MULTIPLE', 'YES_NO', 'COUNTRY', 'NUMBER')),
    label_fr        TEXT NOT NULL CHECK (length(trim(label_fr)) BETWEEN 1 AND 200),
    label_en        TEXT NOT NULL DEFAULT '',
    help_fr         TEXT NOT NULL DEFAULT '',
    help_en         TEXT NOT NULL DEFAULT '',
    options         TEXT NOT NULL DEFAULT '',
    required        BOOLEAN NOT NULL DEFAULT FALSE,
    all_passes      BOOLEAN NOT NULL DEFAULT TRUE,
    on_badge        BOOLEAN NOT NULL DEFAULT FALSE,
    position        BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    archived_at     TIMESTAMPTZ
);

CREATE TABLE question_passes (
    question_id     UUID NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    ticket_type_id  UUID NOT NULL REFERENCES ticket_types (id),
    PRIMARY KEY (question_id, ticket_type_id)
);

CREATE TABLE ticket_answers (
    ticket_id       UUID NOT NULL REFERENCES tickets (id),
    question_id     UUID NOT NULL REFERENCES questions (id),
    answer          TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ticket_id, question_id)
);
CREATE INDEX ticket_answers_question_idx ON ticket_answers (question_id);

ALTER TABLE orders ADD COLUMN attendees TEXT;
ALTER TABLE ticket_types ADD COLUMN names_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN holder_user_id UUID REFERENCES users (id);
ALTER TABLE tickets ADD COLUMN claim_hash TEXT;
ALTER TABLE tickets ADD COLUMN transfers BIGINT NOT NULL DEFAULT 0 CHECK (transfers >= 0);
ALTER TABLE tickets ADD COLUMN refunded_cents BIGINT NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0);
CREATE INDEX tickets_holder_user_idx ON tickets (holder_user_id);
CREATE UNIQUE INDEX tickets_claim_hash_idx ON tickets (claim_hash);
ALTER TABLE outbox_emails ADD COLUMN ticket_id UUID;

ALTER TABLE email_logs DROP CONSTRAINT email_logs_type_check;
ALTER TABLE email_logs ADD CONSTRAINT email_logs_type_check CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED', 'WAITLIST_OFFER', 'INVOICE_DOCUMENT', 'WORKSHOP_SEAT', 'HOLDER_TICKET', 'TICKET_REFUNDED', 'ATTENDEE_MESSAGE'));
