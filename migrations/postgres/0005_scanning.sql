-- Door scanning: the scan attempt that let a ticket in (the scanner's own id for the attempt), so a
-- retried scan whose first answer was lost in a flaky network is answered OK again, not ALREADY USED.
ALTER TABLE tickets ADD COLUMN used_scan_id UUID;
CREATE INDEX tickets_used_at_idx ON tickets (used_at);
