-- Other tools read and write through the REST API (issue 32, /api/v1) and hear of changes through
-- webhooks. Mirrors migrations/sqlite/0019_interchange.sql.

-- A bearer token for /api/v1: only its SHA-256 is kept (the token is shown once), with its first
-- characters to recognise it, its scopes ("orders:read,checkins:write"), the admin it acts for,
-- when it was last used and when it was revoked.
CREATE TABLE api_tokens (
    id              UUID PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash      TEXT NOT NULL UNIQUE,
    prefix          TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    created_by      UUID NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ
);

-- An address told of events ("order.paid,talk.changed"), each delivery signed with its secret.
CREATE TABLE webhooks (
    id              UUID PRIMARY KEY NOT NULL,
    url             TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 500),
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_by      UUID NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    disabled_at     TIMESTAMPTZ
);

-- The outbox: one row per event and webhook, written in the transaction of the change, sent by
-- whichever instance takes it first (`locked_until`), retried with backoff until delivered or
-- given up (FAILED), replayable.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY NOT NULL,
    webhook_id      UUID NOT NULL REFERENCES webhooks (id),
    event_id        UUID NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_id        UUID,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, created_at);

-- Each try of a delivery: the receiver's status code, or why it could not be reached.
CREATE TABLE webhook_attempts (
    id              UUID PRIMARY KEY NOT NULL,
    delivery_id     UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at              TIMESTAMPTZ NOT NULL,
    status_code     BIGINT,
    error           TEXT,
    duration_ms     BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, at);

-- When the server wrote each check-in (a phone's offline entries arrive after the instant they
-- happened, `at`): the API lists them in that order, so that a client polling for new ones misses
-- none. Written by every entry from now on; the ones before, at their instant.
ALTER TABLE checkins ADD COLUMN recorded_at TIMESTAMPTZ;
UPDATE checkins SET recorded_at = at;

-- The API's pages, in the order rows were made.
CREATE INDEX checkins_recorded_idx ON checkins (recorded_at, id);
CREATE INDEX orders_created_idx ON orders (created_at, id);
CREATE INDEX tickets_issued_idx ON tickets (issued_at, id);
CREATE INDEX ticket_types_created_idx ON ticket_types (created_at, id);
CREATE INDEX conferences_created_idx ON conferences (created_at, id);
