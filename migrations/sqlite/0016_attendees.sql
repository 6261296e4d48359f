-- Attendees' data (issue 31): questions asked per ticket, named tickets claimed and transferred,
-- refunds per ticket. Mirrors migrations/postgres/0016_attendees.sql.

-- A question the organiser asks per ticket. CHOICE and MULTIPLE list their options one per line,
-- "français | English"; an answer keeps the option's French text (MULTIPLE: one per line).
-- YES_NO answers "yes" or "no", COUNTRY an ISO 3166 alpha-2 code, NUMBER a decimal number.
CREATE TABLE questions (
    id              BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('TEXT', 'LONG_TEXT', 'CHOICE', 'MULTIPLE', 'YES_NO', 'COUNTRY', 'NUMBER')),
    label_fr        TEXT NOT NULL CHECK (length(trim(label_fr)) BETWEEN 1 AND 200),
    label_en        TEXT NOT NULL DEFAULT '',
    help_fr         TEXT NOT NULL DEFAULT '',
    help_en         TEXT NOT NULL DEFAULT '',
    options         TEXT NOT NULL DEFAULT '',
    required        INTEGER NOT NULL DEFAULT 0,
    all_passes      INTEGER NOT NULL DEFAULT 1,
    on_badge        INTEGER NOT NULL DEFAULT 0,
    position        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    archived_at     TEXT
);

-- The passes a question is asked for when not all of them.
CREATE TABLE question_passes (
    question_id     BLOB NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    ticket_type_id  BLOB NOT NULL REFERENCES ticket_types (id),
    PRIMARY KEY (question_id, ticket_type_id)
);

-- A ticket's answers (personal data: erased with its holder).
CREATE TABLE ticket_answers (
    ticket_id       BLOB NOT NULL REFERENCES tickets (id),
    question_id     BLOB NOT NULL REFERENCES questions (id),
    answer          TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (ticket_id, question_id)
);
CREATE INDEX ticket_answers_question_idx ON ticket_answers (question_id);

-- What the buyer typed per seat at checkout (names, e-mails, answers, JSON) until the tickets are
-- issued; then it moves to the tickets and is cleared (also when the order is released).
ALTER TABLE orders ADD COLUMN attendees TEXT;

-- A pass whose tickets each need their holder's name and e-mail at checkout.
ALTER TABLE ticket_types ADD COLUMN names_required INTEGER NOT NULL DEFAULT 0;

-- The account that claimed a ticket mailed to its holder (their programme, their ticket page);
-- the SHA-256 of the claim link's token; how many times it was transferred; what was refunded.
ALTER TABLE tickets ADD COLUMN holder_user_id BLOB REFERENCES users (id);
ALTER TABLE tickets ADD COLUMN claim_hash TEXT;
ALTER TABLE tickets ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0 CHECK (transfers >= 0);
ALTER TABLE tickets ADD COLUMN refunded_cents INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0);
CREATE INDEX tickets_holder_user_idx ON tickets (holder_user_id);
CREATE UNIQUE INDEX tickets_claim_hash_idx ON tickets (claim_hash);

-- A holder's ticket mail carries that ticket's code only.
ALTER TABLE outbox_emails ADD COLUMN ticket_id BLOB;

-- The new mails: a holder's ticket, a ticket refunded, a message to attendees (rebuilt as in 0015).
CREATE TABLE email_logs_new (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB REFERENCES users (id),
    type            TEXT NOT NULL CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED', 'WAITLIST_OFFER', 'INVOICE_DOCUMENT', 'WORKSHOP_SEAT', 'HOLDER_TICKET', 'TICKET_REFUNDED', 'ATTENDEE_MESSAGE')),
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
