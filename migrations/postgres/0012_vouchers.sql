-- Vouchers and the waiting list (issue 16). Mirrors migrations/sqlite/0012_vouchers.sql, where
-- each column is explained.
ALTER TABLE ticket_types ADD COLUMN held_count BIGINT NOT NULL DEFAULT 0 CHECK (held_count >= 0);
ALTER TABLE ticket_types ADD CONSTRAINT ticket_types_seats_check CHECK (reserved_count + sold_count + held_count <= capacity);
ALTER TABLE ticket_types ADD COLUMN is_hidden BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE ticket_types ADD COLUMN waitlist_auto BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE vouchers (
    id              UUID PRIMARY KEY NOT NULL,
    code            TEXT NOT NULL UNIQUE,
    tag             TEXT NOT NULL DEFAULT '',
    ticket_type_id  UUID REFERENCES ticket_types (id),
    effect          TEXT NOT NULL CHECK (effect IN ('PERCENT', 'AMOUNT', 'PRICE')),
    value           BIGINT NOT NULL CHECK (value >= 0 AND (effect <> 'PERCENT' OR value <= 100)),
    max_uses        BIGINT NOT NULL CHECK (max_uses >= 1),
    uses            BIGINT NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    valid_from      TIMESTAMPTZ,
    valid_until     TIMESTAMPTZ,
    unlocks_hidden  BOOLEAN NOT NULL DEFAULT FALSE,
    holds_seats     BOOLEAN NOT NULL DEFAULT FALSE CHECK (NOT holds_seats OR ticket_type_id IS NOT NULL),
    hold_released_at TIMESTAMPTZ,
    user_id         UUID REFERENCES users (id),
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX vouchers_tag_idx ON vouchers (tag);
CREATE INDEX vouchers_holds_idx ON vouchers (valid_until) WHERE holds_seats AND hold_released_at IS NULL;

ALTER TABLE orders ADD COLUMN voucher_id UUID REFERENCES vouchers (id);
ALTER TABLE orders ADD COLUMN discount_cents BIGINT NOT NULL DEFAULT 0 CHECK (discount_cents >= 0);
CREATE INDEX orders_voucher_id_idx ON orders (voucher_id);
ALTER TABLE order_items ADD COLUMN list_price_cents BIGINT;
ALTER TABLE order_items ADD COLUMN voucher_seats BIGINT NOT NULL DEFAULT 0 CHECK (voucher_seats >= 0);
ALTER TABLE order_items ADD COLUMN held_seats BIGINT NOT NULL DEFAULT 0 CHECK (held_seats >= 0);

CREATE TABLE waitlist_entries (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users (id),
    ticket_type_id  UUID NOT NULL REFERENCES ticket_types (id),
    rank            BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'OFFERED', 'EXPIRED')),
    voucher_id      UUID REFERENCES vouchers (id),
    offered_until   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, ticket_type_id)
);
CREATE INDEX waitlist_entries_queue_idx ON waitlist_entries (ticket_type_id, status, rank);
CREATE INDEX waitlist_entries_voucher_idx ON waitlist_entries (voucher_id);

ALTER TABLE email_logs DROP CONSTRAINT email_logs_type_check;
ALTER TABLE email_logs ADD CONSTRAINT email_logs_type_check CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED', 'WAITLIST_OFFER'));
