-- Vouchers and the waiting list (issue 16). Mirrors migrations/postgres/0012_vouchers.sql.

-- Seats held for someone who has not bought yet: the unused uses of seat-holding vouchers (sponsor
-- seats) and the seats offered to the waiting list (each offer is a personal one-use voucher).
-- The public buys only what is left: reserved + sold + held + the people waiting <= capacity.
-- A column CHECK may name the row's other columns in SQLite: it guards the whole sum.
ALTER TABLE ticket_types ADD COLUMN held_count INTEGER NOT NULL DEFAULT 0
    CHECK (held_count >= 0 AND reserved_count + sold_count + held_count <= capacity);
-- A hidden pass is sold only through a voucher that unlocks it (the speakers' pass).
ALTER TABLE ticket_types ADD COLUMN is_hidden BOOLEAN NOT NULL DEFAULT 0;
-- Seats freed on a sold-out pass are offered to its waiting list by the background job; off, an
-- admin sends the offers by hand.
ALTER TABLE ticket_types ADD COLUMN waitlist_auto BOOLEAN NOT NULL DEFAULT 1;

CREATE TABLE vouchers (
    id              BLOB PRIMARY KEY NOT NULL,
    -- Upper case, from an alphabet without look-alikes for generated codes.
    code            TEXT NOT NULL UNIQUE,
    -- Groups a batch ("speakers", "sponsor-acme", "waitlist").
    tag             TEXT NOT NULL DEFAULT '',
    -- The one pass it applies to; NULL: every pass.
    ticket_type_id  BLOB REFERENCES ticket_types (id),
    -- PERCENT: value % off; AMOUNT: value cents off each seat; PRICE: each seat costs value cents.
    effect          TEXT NOT NULL CHECK (effect IN ('PERCENT', 'AMOUNT', 'PRICE')),
    value           INTEGER NOT NULL CHECK (value >= 0 AND (effect <> 'PERCENT' OR value <= 100)),
    -- A use is a seat: a voucher of 5 uses discounts 5 seats, in one order or several.
    max_uses        INTEGER NOT NULL CHECK (max_uses >= 1),
    uses            INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    valid_from      TEXT,
    valid_until     TEXT,
    unlocks_hidden  BOOLEAN NOT NULL DEFAULT 0,
    -- Holds its unused uses as seats of its pass (held_count) until it expires (hold_released_at).
    holds_seats     BOOLEAN NOT NULL DEFAULT 0 CHECK (NOT holds_seats OR ticket_type_id IS NOT NULL),
    hold_released_at TEXT,
    -- A personal voucher (a waiting-list offer): only this account may use it.
    user_id         BLOB REFERENCES users (id),
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX vouchers_tag_idx ON vouchers (tag);
CREATE INDEX vouchers_holds_idx ON vouchers (valid_until) WHERE holds_seats AND hold_released_at IS NULL;

-- The voucher an order used and what it took off (integer cents).
ALTER TABLE orders ADD COLUMN voucher_id BLOB REFERENCES vouchers (id);
ALTER TABLE orders ADD COLUMN discount_cents INTEGER NOT NULL DEFAULT 0 CHECK (discount_cents >= 0);
CREATE INDEX orders_voucher_id_idx ON orders (voucher_id);
-- A line's price before the voucher, how many of its seats used the voucher, and how many of
-- those came out of the voucher's held seats (they go back to it if the order is released).
ALTER TABLE order_items ADD COLUMN list_price_cents INTEGER;
ALTER TABLE order_items ADD COLUMN voucher_seats INTEGER NOT NULL DEFAULT 0 CHECK (voucher_seats >= 0);
ALTER TABLE order_items ADD COLUMN held_seats INTEGER NOT NULL DEFAULT 0 CHECK (held_seats >= 0);

-- One entry per person and pass. WAITING, in order of `rank` (the join time; an admin moving
-- someone up swaps ranks); OFFERED: a personal voucher holds a seat until offered_until;
-- EXPIRED: the offer was not taken. Buying through the offer deletes the entry.
CREATE TABLE waitlist_entries (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB NOT NULL REFERENCES users (id),
    ticket_type_id  BLOB NOT NULL REFERENCES ticket_types (id),
    rank            INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'OFFERED', 'EXPIRED')),
    voucher_id      BLOB REFERENCES vouchers (id),
    offered_until   TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (user_id, ticket_type_id)
);
CREATE INDEX waitlist_entries_queue_idx ON waitlist_entries (ticket_type_id, status, rank);
CREATE INDEX waitlist_entries_voucher_idx ON waitlist_entries (voucher_id);

-- The offer mail is a kind email_logs.type accepts (rebuilt as in 0011).
CREATE TABLE email_logs_new (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB REFERENCES users (id),
    type            TEXT NOT NULL CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED', 'WAITLIST_OFFER')),
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
