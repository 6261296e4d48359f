-- How much of a payment was refunded, in cents (Stripe's cumulative `amount_refunded`): a partial
-- refund is recorded here and cancels nothing; the order is refunded only once it covers the charge.
ALTER TABLE payments ADD COLUMN refunded_cents INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0);
