-- Messages to attendees (issue 31, part 4). Mirrors migrations/sqlite/0017_messages.sql (the
-- comments are there).
CREATE TABLE messages (
    id              UUID PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('PRACTICAL', 'PROMOTIONAL')),
    subject_fr      TEXT NOT NULL CHECK (length(trim(subject_fr)) BETWEEN 1 AND 200),
    subject_en      TEXT NOT NULL DEFAULT '' CHECK (length(subject_en) <= 200),
    body_fr         TEXT NOT NULL CHECK (length(trim(body_fr)) BETWEEN 1 AND 20000),
    body_en         TEXT NOT NULL DEFAULT '' CHECK (length(body_en) <= 20000),
    filter          TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'SCHEDULED', 'SENDING', 'SENT')),
    send_at         TIMESTAMPTZ,
    created_by      UUID NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    recipients      BIGINT NOT NULL DEFAULT 0 CHECK (recipients >= 0),
    last_due_at     TIMESTAMPTZ
);
CREATE INDEX messages_due_idx ON messages (status, send_at);

CREATE TABLE message_recipients (
    message_id      UUID NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    user_id         UUID REFERENCES users (id),
    locale          TEXT NOT NULL CHECK (locale IN ('fr', 'en')),
    outbox_id       UUID REFERENCES outbox_emails (id),
    due_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (message_id, email)
);
CREATE INDEX message_recipients_outbox_idx ON message_recipients (outbox_id);
CREATE INDEX message_recipients_user_idx ON message_recipients (user_id);
