-- The event day (issue 29): check-in lists, every entry a row, workshops with seats, badges.
-- Mirrors migrations/postgres/0015_checkin.sql.

-- A check-in list: which passes it admits, when, and how often. ONCE: once for the whole event;
-- DAILY: once per conference day (the default); INOUT: in and out again, a count of who is inside.
-- Bound to a workshop (talk_id), only the tickets booked on it get in.
CREATE TABLE checkin_lists (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 80),
    rule            TEXT NOT NULL DEFAULT 'DAILY' CHECK (rule IN ('ONCE', 'DAILY', 'INOUT')),
    all_passes      INTEGER NOT NULL DEFAULT 1,
    opens_at        TEXT,
    closes_at       TEXT,
    -- Not a foreign key: a list whose workshop is gone lets nobody in (no booking matches).
    talk_id         BLOB,
    created_at      TEXT NOT NULL,
    archived_at     TEXT,
    CHECK (closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at)
);

-- The passes a list admits when it does not admit them all.
CREATE TABLE checkin_list_passes (
    list_id         BLOB NOT NULL REFERENCES checkin_lists (id) ON DELETE CASCADE,
    ticket_type_id  BLOB NOT NULL REFERENCES ticket_types (id),
    PRIMARY KEY (list_id, ticket_type_id)
);

-- Every entry (IN) and exit (OUT): the scan's id (an offline entry's nonce), the list, the
-- conference day it counts for (the conference's calendar date), the device and the steward.
-- tickets.status/used_at/used_by_user_id keep meaning the first entry ever.
CREATE TABLE checkins (
    id              BLOB PRIMARY KEY NOT NULL,
    list_id         BLOB NOT NULL REFERENCES checkin_lists (id),
    ticket_id       BLOB NOT NULL REFERENCES tickets (id),
    at              TEXT NOT NULL,
    day             TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('IN', 'OUT')),
    staff_id        BLOB REFERENCES users (id),
    device_id       BLOB REFERENCES door_devices (id),
    offline         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX checkins_ticket_idx ON checkins (ticket_id, list_id, at);
CREATE INDEX checkins_list_day_idx ON checkins (list_id, day, at);

-- The default list: every pass, once per day within each pass's validity. A fresh install is right
-- without any set-up.
INSERT INTO checkin_lists (id, name, rule, all_passes, created_at)
    VALUES (X'000000000000000000000000000000E0', 'Entrée', 'DAILY', 1, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));

-- Tickets let in before lists existed: their entry, on the default list (day: the UTC date).
INSERT INTO checkins (id, list_id, ticket_id, at, day, direction, staff_id, offline)
    SELECT CASE WHEN used_scan_id IS NOT NULL AND (SELECT COUNT(*) FROM tickets o WHERE o.used_scan_id = tickets.used_scan_id) = 1
                THEN used_scan_id ELSE randomblob(16) END, X'000000000000000000000000000000E0', id, used_at,
           substr(used_at, 1, 10), 'IN', used_by_user_id, 0
    FROM tickets WHERE status = 'USED' AND used_at IS NOT NULL;

-- Every entry changes what the door's devices must know of the ticket.
ALTER TABLE tickets ADD COLUMN last_checkin_at TEXT;
DROP TRIGGER tickets_door_seq_update;
CREATE TRIGGER tickets_door_seq_update AFTER UPDATE ON tickets
WHEN NEW.door_seq IS OLD.door_seq AND (NEW.status IS NOT OLD.status OR NEW.issue_no IS NOT OLD.issue_no
    OR NEW.used_at IS NOT OLD.used_at OR NEW.used_by_user_id IS NOT OLD.used_by_user_id
    OR NEW.holder_name IS NOT OLD.holder_name OR NEW.ticket_type_id IS NOT OLD.ticket_type_id
    OR NEW.last_checkin_at IS NOT OLD.last_checkin_at)
BEGIN
    UPDATE door_counter SET n = n + 1 WHERE id = 1;
    UPDATE tickets SET door_seq = (SELECT n FROM door_counter WHERE id = 1) WHERE id = NEW.id;
END;
-- Tickets let in before: phones fetch them again, with their entry.
UPDATE tickets SET last_checkin_at = used_at WHERE status = 'USED';

-- Offline entries name their list and direction; two more answers (NOT_ON_LIST, EXIT) and two more
-- outcomes (NOT_ON_LIST: let in where the list would not; LET_OUT: an exit). SQLite cannot change a
-- CHECK: the table is rebuilt (door_conflicts' references are checked at commit).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE door_entries_old AS SELECT * FROM door_entries;
DROP TABLE door_entries;
CREATE TABLE door_entries (
    nonce           BLOB PRIMARY KEY NOT NULL,
    device_id       BLOB NOT NULL REFERENCES door_devices (id),
    staff_id        BLOB NOT NULL REFERENCES users (id),
    ticket_id       BLOB REFERENCES tickets (id),
    device_time     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    local_answer    TEXT NOT NULL CHECK (local_answer IN ('OK', 'ALREADY_USED', 'CANCELED', 'REFUNDED', 'NOT_VALID_TODAY', 'UNKNOWN', 'NOT_ON_LIST', 'EXIT')),
    outcome         TEXT NOT NULL CHECK (outcome IN ('LET_IN', 'CONFLICT', 'REFUSED', 'REVOKED', 'CANCELED', 'NOT_VALID', 'UNKNOWN', 'NOT_ON_LIST', 'LET_OUT')),
    key_id          INTEGER,
    issue_no        INTEGER,
    list_id         BLOB REFERENCES checkin_lists (id),
    direction       TEXT NOT NULL DEFAULT 'IN' CHECK (direction IN ('IN', 'OUT'))
);
INSERT INTO door_entries (nonce, device_id, staff_id, ticket_id, device_time, received_at, local_answer, outcome, key_id, issue_no, list_id)
    SELECT nonce, device_id, staff_id, ticket_id, device_time, received_at, local_answer, outcome, key_id, issue_no,
           X'000000000000000000000000000000E0' FROM door_entries_old;
DROP TABLE door_entries_old;
CREATE INDEX door_entries_device_idx ON door_entries (device_id, received_at);
CREATE INDEX door_entries_ticket_idx ON door_entries (ticket_id);

-- A double entry is one of a list and a day.
ALTER TABLE door_conflicts ADD COLUMN list_id BLOB REFERENCES checkin_lists (id);
ALTER TABLE door_conflicts ADD COLUMN day TEXT;
UPDATE door_conflicts SET list_id = X'000000000000000000000000000000E0', day = substr(first_at, 1, 10);

-- Workshops: a talk that needs a booking, with its number of seats; a booking holds one seat for
-- one ticket. (Their own table: a booking does not change the talk, so the programme's cached pages
-- and change mails are left alone.)
CREATE TABLE workshops (
    talk_id         BLOB PRIMARY KEY NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    capacity        INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 100000),
    booked_count    INTEGER NOT NULL DEFAULT 0 CHECK (booked_count >= 0 AND booked_count <= capacity)
);
CREATE TABLE workshop_bookings (
    talk_id         BLOB NOT NULL REFERENCES workshops (talk_id) ON DELETE CASCADE,
    ticket_id       BLOB NOT NULL REFERENCES tickets (id),
    user_id         BLOB NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (talk_id, ticket_id),
    UNIQUE (talk_id, user_id)
);
CREATE INDEX workshop_bookings_user_idx ON workshop_bookings (user_id);

-- A ticket canceled (a refund, an erasure) frees its workshop seats.
CREATE TRIGGER tickets_free_workshop_seats AFTER UPDATE OF status ON tickets
WHEN NEW.status = 'CANCELED' AND OLD.status <> 'CANCELED'
BEGIN
    UPDATE workshops SET booked_count = booked_count - 1
        WHERE talk_id IN (SELECT talk_id FROM workshop_bookings WHERE ticket_id = NEW.id);
    DELETE FROM workshop_bookings WHERE ticket_id = NEW.id;
END;

-- Badges print the holder's company.
ALTER TABLE profiles ADD COLUMN company TEXT CHECK (company IS NULL OR length(company) <= 120);

-- A full workshop's waiting list: the first in line whose pass covers it gets the next seat freed
-- (booked for them, and mailed: WORKSHOP_SEAT).
CREATE TABLE workshop_waitlist (
    talk_id         BLOB NOT NULL REFERENCES workshops (talk_id) ON DELETE CASCADE,
    user_id         BLOB NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (talk_id, user_id)
);
CREATE INDEX workshop_waitlist_queue_idx ON workshop_waitlist (talk_id, created_at);

-- The mail of a workshop seat given from the waiting list (email_logs rebuilt as in 0013).
CREATE TABLE email_logs_new (
    id              BLOB PRIMARY KEY NOT NULL,
    user_id         BLOB REFERENCES users (id),
    type            TEXT NOT NULL CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED', 'WAITLIST_OFFER', 'INVOICE_DOCUMENT', 'WORKSHOP_SEAT')),
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
