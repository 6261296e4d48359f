-- Messages to attendees (issue 31, part 4): written in French and English, sent to the ticket
-- holders a filter chooses, through the mail outbox at MESSAGE_RATE_PER_MINUTE.
-- Mirrors migrations/postgres/0017_messages.sql.

-- A message. PRACTICAL goes to every holder the filter chooses, PROMOTIONAL only to those whose
-- account currently opts in to marketing. `filter` is the recipients' filter as JSON (passes, order
-- status, checked in or not, a question and its answer). SCHEDULED until `send_at`; then its
-- recipients are written below and their mails to the outbox, one transaction, and it is SENT
-- (`recipients` mails, the last one due at `last_due_at`). A scheduled message canceled goes back
-- to DRAFT. SENDING is never seen outside that transaction.
CREATE TABLE messages (
    id              BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('PRACTICAL', 'PROMOTIONAL')),
    subject_fr      TEXT NOT NULL CHECK (length(trim(subject_fr)) BETWEEN 1 AND 200),
    subject_en      TEXT NOT NULL DEFAULT '' CHECK (length(subject_en) <= 200),
    body_fr         TEXT NOT NULL CHECK (length(trim(body_fr)) BETWEEN 1 AND 20000),
    body_en         TEXT NOT NULL DEFAULT '' CHECK (length(body_en) <= 20000),
    filter          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(filter)),
    status          TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'SCHEDULED', 'SENDING', 'SENT')),
    send_at         TEXT,
    created_by      BLOB NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    recipients      INTEGER NOT NULL DEFAULT 0 CHECK (recipients >= 0),
    last_due_at     TEXT
);
CREATE INDEX messages_due_idx ON messages (status, send_at);

-- One recipient of a message: one per address (personal data: erased with its person). `due_at`
-- is when its mail may leave at the earliest (the rate's schedule); `outbox_id` is that mail, whose
-- status gives the message's delivery figures.
CREATE TABLE message_recipients (
    message_id      BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    user_id         BLOB REFERENCES users (id),
    locale          TEXT NOT NULL CHECK (locale IN ('fr', 'en')),
    outbox_id       BLOB REFERENCES outbox_emails (id),
    due_at          TEXT NOT NULL,
    PRIMARY KEY (message_id, email)
);
CREATE INDEX message_recipients_outbox_idx ON message_recipients (outbox_id);
CREATE INDEX message_recipients_user_idx ON message_recipients (user_id);
