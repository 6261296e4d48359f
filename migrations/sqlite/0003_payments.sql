-- Stripe events already processed: the event id is inserted in the transaction that processes it,
-- so a second delivery of the same event (or twenty in parallel) changes nothing.
CREATE TABLE webhook_events (
    id              TEXT PRIMARY KEY NOT NULL,
    type            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    received_at     TEXT NOT NULL
);

ALTER TABLE payments ADD COLUMN checkout_url TEXT;
ALTER TABLE payments ADD COLUMN stripe_refund_id TEXT;
ALTER TABLE payments ADD COLUMN note TEXT;
CREATE INDEX payments_payment_intent_idx ON payments (stripe_payment_intent_id);
CREATE INDEX orders_reserved_until_idx ON orders (status, reserved_until);

-- Mails about an order (tickets with their QR codes attached at sending time).
ALTER TABLE outbox_emails ADD COLUMN order_id BLOB REFERENCES orders (id);
