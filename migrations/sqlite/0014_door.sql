-- The door works offline (issue 18). Mirrors migrations/postgres/0014_door.sql.

-- Keys that sign tickets' codes. The private key is never stored: it is derived from SECRET_KEY
-- and this row's random salt (HKDF-SHA256). The newest key not revoked signs; older ones still
-- verify the codes made with them. A revoked key's codes are refused (a suspected leak).
CREATE TABLE door_keys (
    id              INTEGER PRIMARY KEY NOT NULL CHECK (id BETWEEN 1 AND 255),
    salt            BLOB NOT NULL,
    public_key      BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      BLOB REFERENCES users (id),
    revoked_at      TEXT
);

-- A pass's short number in signed codes (2 bytes instead of a 16-byte id).
ALTER TABLE ticket_types ADD COLUMN door_no INTEGER CHECK (door_no BETWEEN 1 AND 65535);
UPDATE ticket_types SET door_no = s.n
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM ticket_types) s
    WHERE s.id = ticket_types.id;
CREATE UNIQUE INDEX ticket_types_door_no_idx ON ticket_types (door_no);

-- A ticket's issue number, in its signed code: +1 at each reissue, so older codes are revoked.
ALTER TABLE tickets ADD COLUMN issue_no INTEGER NOT NULL DEFAULT 1 CHECK (issue_no BETWEEN 1 AND 65535);

-- Devices fetch the tickets changed since their cursor. Every change of a ticket takes the next
-- number of one counter row (SQLite has one writer at a time: numbers commit in order).
CREATE TABLE door_counter (
    id              INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    n               INTEGER NOT NULL
);
INSERT INTO door_counter (id, n) VALUES (1, 0);
ALTER TABLE tickets ADD COLUMN door_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tickets_door_seq_idx ON tickets (door_seq);

CREATE TRIGGER tickets_door_seq_insert AFTER INSERT ON tickets
BEGIN
    UPDATE door_counter SET n = n + 1 WHERE id = 1;
    UPDATE tickets SET door_seq = (SELECT n FROM door_counter WHERE id = 1) WHERE id = NEW.id;
END;
CREATE TRIGGER tickets_door_seq_update AFTER UPDATE ON tickets
WHEN NEW.door_seq IS OLD.door_seq AND (NEW.status IS NOT OLD.status OR NEW.issue_no IS NOT OLD.issue_no
    OR NEW.used_at IS NOT OLD.used_at OR NEW.used_by_user_id IS NOT OLD.used_by_user_id
    OR NEW.holder_name IS NOT OLD.holder_name OR NEW.ticket_type_id IS NOT OLD.ticket_type_id)
BEGIN
    UPDATE door_counter SET n = n + 1 WHERE id = 1;
    UPDATE tickets SET door_seq = (SELECT n FROM door_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- A phone or tablet at the door (its id is made by the browser and kept across logins).
CREATE TABLE door_devices (
    id              BLOB PRIMARY KEY NOT NULL,
    label           TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 80),
    user_id         BLOB REFERENCES users (id),
    first_seen_at   TEXT NOT NULL,
    last_sync_at    TEXT NOT NULL,
    last_cursor     INTEGER NOT NULL DEFAULT 0
);

-- What a device did while it could not ask the server, sent later; once per nonce.
CREATE TABLE door_entries (
    nonce           BLOB PRIMARY KEY NOT NULL,
    device_id       BLOB NOT NULL REFERENCES door_devices (id),
    staff_id        BLOB NOT NULL REFERENCES users (id),
    ticket_id       BLOB REFERENCES tickets (id),
    device_time     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    -- What the device answered at the door (OK lets the person in).
    local_answer    TEXT NOT NULL CHECK (local_answer IN ('OK', 'ALREADY_USED', 'CANCELED', 'REFUNDED', 'NOT_VALID_TODAY', 'UNKNOWN')),
    -- What the server made of it: LET_IN, CONFLICT (already let in by another entry), REFUSED (the
    -- device refused it too); let in by a device that did not know, the ticket left as it was:
    -- REVOKED (a code replaced by a reissue), CANCELED (a ticket canceled or refunded), NOT_VALID
    -- (outside its pass's window at the entry's time); UNKNOWN.
    outcome         TEXT NOT NULL CHECK (outcome IN ('LET_IN', 'CONFLICT', 'REFUSED', 'REVOKED', 'CANCELED', 'NOT_VALID', 'UNKNOWN')),
    key_id          INTEGER,
    issue_no        INTEGER
);
CREATE INDEX door_entries_device_idx ON door_entries (device_id, received_at);
CREATE INDEX door_entries_ticket_idx ON door_entries (ticket_id);

-- A ticket let in twice: the first entry (an offline entry's nonce, or an online scan's id) and
-- the second, with their devices when known.
CREATE TABLE door_conflicts (
    id              BLOB PRIMARY KEY NOT NULL,
    ticket_id       BLOB NOT NULL REFERENCES tickets (id),
    first_scan_id   BLOB,
    first_device_id BLOB REFERENCES door_devices (id),
    first_staff_id  BLOB REFERENCES users (id),
    first_at        TEXT,
    second_nonce    BLOB NOT NULL UNIQUE REFERENCES door_entries (nonce),
    detected_at     TEXT NOT NULL
);
CREATE INDEX door_conflicts_ticket_idx ON door_conflicts (ticket_id);
