-- Tessera schema for PostgreSQL. Mirrors migrations/sqlite/0001_schema.sql column for column.
-- Ids are native UUIDs, timestamps TIMESTAMPTZ (UTC),
-- money is BIGINT cents, enums are TEXT with CHECK constraints.

-- A. Identity / auth
CREATE TABLE users (
    id              UUID PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL DEFAULT 'USER' CHECK (role IN ('USER', 'ADMIN', 'STAFF_SCAN')),
    status          TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DISABLED')),
    email_verified_at TIMESTAMPTZ,
    locale          TEXT NOT NULL DEFAULT 'fr' CHECK (locale IN ('fr', 'en')),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    deleted_at      TIMESTAMPTZ,
    anonymized_at   TIMESTAMPTZ
);
-- Emails are stored normalised (trimmed, lower case): unique regardless of the case typed.
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE user_credentials (
    user_id         UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash   TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- Better Auth's tables, implemented by Tessera itself.
CREATE TABLE accounts (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id     TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (provider_id, account_id)
);
CREATE INDEX accounts_user_id_idx ON accounts (user_id);

CREATE TABLE sessions (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    user_agent      TEXT,
    ip_hash         TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE verification_tokens (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL CHECK (purpose IN ('VERIFY_EMAIL', 'RESET_PASSWORD', 'CHANGE_EMAIL')),
    token_hash      TEXT NOT NULL UNIQUE,
    new_email       TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    used_at         TIMESTAMPTZ
);
CREATE INDEX verification_tokens_user_id_idx ON verification_tokens (user_id);

-- B. Profile
CREATE TABLE profiles (
    user_id         UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_name      TEXT,
    last_name       TEXT,
    phone           TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- C. Conferences (the talks of the programme)
CREATE TABLE conferences (
    id              UUID PRIMARY KEY NOT NULL,
    title           TEXT NOT NULL CHECK (length(trim(title)) > 0),
    description     TEXT NOT NULL DEFAULT '',
    theme           TEXT NOT NULL,
    start_at        TIMESTAMPTZ NOT NULL,
    end_at          TIMESTAMPTZ NOT NULL,
    speaker_name    TEXT,
    location        TEXT,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX conferences_start_at_idx ON conferences (start_at);
CREATE INDEX conferences_theme_idx ON conferences (theme);

-- D. Personal programme
CREATE TABLE user_program_items (
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conference_id   UUID NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, conference_id)
);
CREATE INDEX user_program_items_conference_id_idx ON user_program_items (conference_id);

-- E. Ticketing
CREATE TABLE ticket_types (
    id              UUID PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT,
    price_cents     BIGINT NOT NULL CHECK (price_cents >= 0),
    currency        TEXT NOT NULL DEFAULT 'eur' CHECK (length(currency) = 3),
    capacity        BIGINT NOT NULL CHECK (capacity >= 0),
    -- seats held by PENDING_PAYMENT orders and seats sold for good (PAID): kept by the ticketing service,
    -- so that a reservation is one conditional UPDATE (reserved_count + sold_count + n <= capacity).
    reserved_count  BIGINT NOT NULL DEFAULT 0 CHECK (reserved_count >= 0),
    sold_count      BIGINT NOT NULL DEFAULT 0 CHECK (sold_count >= 0),
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    sales_start_at  TIMESTAMPTZ,
    sales_end_at    TIMESTAMPTZ,
    valid_from      TIMESTAMPTZ,
    valid_until     TIMESTAMPTZ,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CHECK (reserved_count + sold_count <= capacity)
);

CREATE TABLE orders (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'PENDING_PAYMENT', 'PAID', 'CANCELED', 'REFUNDED')),
    total_cents     BIGINT NOT NULL CHECK (total_cents >= 0),
    currency        TEXT NOT NULL DEFAULT 'eur',
    reserved_until  TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_user_id_idx ON orders (user_id);
CREATE INDEX orders_status_idx ON orders (status);

CREATE TABLE order_items (
    id              UUID PRIMARY KEY NOT NULL,
    order_id        UUID NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    ticket_type_id  UUID NOT NULL REFERENCES ticket_types (id),
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    line_total_cents BIGINT NOT NULL CHECK (line_total_cents = unit_price_cents * quantity),
    UNIQUE (order_id, ticket_type_id)
);

CREATE TABLE payments (
    id              UUID PRIMARY KEY NOT NULL,
    order_id        UUID NOT NULL REFERENCES orders (id),
    provider        TEXT NOT NULL DEFAULT 'stripe',
    status          TEXT NOT NULL DEFAULT 'INIT' CHECK (status IN ('INIT', 'SUCCEEDED', 'FAILED', 'REFUNDED')),
    stripe_checkout_session_id TEXT UNIQUE,
    stripe_payment_intent_id TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_order_id_idx ON payments (order_id);

-- F. Tickets and entry
CREATE TABLE tickets (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id),
    order_id        UUID NOT NULL REFERENCES orders (id),
    ticket_type_id  UUID NOT NULL REFERENCES ticket_types (id),
    status          TEXT NOT NULL DEFAULT 'VALID' CHECK (status IN ('VALID', 'USED', 'CANCELED')),
    holder_name     TEXT,
    holder_email    TEXT,
    issued_at       TIMESTAMPTZ NOT NULL,
    used_at         TIMESTAMPTZ,
    used_by_user_id UUID REFERENCES users (id)
);
CREATE INDEX tickets_user_id_idx ON tickets (user_id);
CREATE INDEX tickets_order_id_idx ON tickets (order_id);
CREATE INDEX tickets_ticket_type_id_idx ON tickets (ticket_type_id, status);

CREATE TABLE ticket_tokens (
    id              UUID PRIMARY KEY NOT NULL,
    ticket_id       UUID NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX ticket_tokens_ticket_id_idx ON ticket_tokens (ticket_id);

-- G. Email logs
CREATE TABLE email_logs (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID REFERENCES users (id),
    type            TEXT NOT NULL CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED')),
    provider_message_id TEXT,
    status          TEXT NOT NULL CHECK (status IN ('SENT', 'FAILED')),
    attempts        BIGINT NOT NULL DEFAULT 1,
    error           TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_logs_user_id_idx ON email_logs (user_id);

-- H. Consents
CREATE TABLE user_consents (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type            TEXT NOT NULL CHECK (type IN ('TERMS_ACCEPTED', 'PRIVACY_ACCEPTED', 'MARKETING_OPTIN')),
    version         TEXT NOT NULL,
    accepted_at     TIMESTAMPTZ NOT NULL,
    ip_hash         TEXT,
    user_agent      TEXT
);
CREATE INDEX user_consents_user_id_idx ON user_consents (user_id);

-- I. Audit
CREATE TABLE audit_logs (
    id              UUID PRIMARY KEY NOT NULL,
    actor_user_id   UUID NOT NULL REFERENCES users (id),
    action          TEXT NOT NULL,
    entity_type     TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    meta            JSONB NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_user_id);
CREATE INDEX audit_logs_entity_idx ON audit_logs (entity_type, entity_id);
CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at);
