-- A buyer's orders by status (the open-orders limit at checkout): without it, SQLite counted a
-- buyer's pending orders by walking every pending order of everyone, inside the write turn.
CREATE INDEX orders_user_id_status_idx ON orders (user_id, status);
