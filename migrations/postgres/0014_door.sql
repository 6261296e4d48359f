-- The door works offline (issue 18). Mirrors migrations/sqlite/0014_door.sql.

-- Keys that sign tickets' codes. The private key is never stored: it is derived from SECRET_KEY
-- and this row's random salt (HKDF-SHA256). The newest key not revoked signs; older ones still
-- verify the codes made with them. A revoked key's codes are refused (a suspected leak).
CREATE TABLE door_keys (
    id              BIGINT PRIMARY KEY NOT NULL CHECK (id BETWEEN 1 AND 255),
    salt            BYTEA NOT NULL,
    public_key      BYTEA NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      UUID REFERENCES users (id),
    revoked_at      TIMESTAMPTZ
);

-- A pass's short number in signed codes (2 bytes instead of a 16-byte id).
ALTER TABLE ticket_types ADD COLUMN door_no BIGINT CHECK (door_no BETWEEN 1 AND 65535);
UPDATE ticket_types SET door_no = s.n
    FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM ticket_types) s
    WHERE s.id = ticket_types.id;
CREATE UNIQUE INDEX ticket_types_door_no_idx ON ticket_types (door_no);

-- A ticket's issue number, in its signed code: +1 at each reissue, so older codes are revoked.
ALTER TABLE tickets ADD COLUMN issue_no BIGINT NOT NULL DEFAULT 1 CHECK (issue_no BETWEEN 1 AND 65535);

-- Devices fetch the tickets changed since their cursor. Every change of a ticket takes the next
-- number of one counter row: the row stays locked until the writer commits, so numbers become
-- visible in order and a reader's cursor never skips a change committed late.
CREATE TABLE door_counter (
    id              BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    n               BIGINT NOT NULL
);
INSERT INTO door_counter (id, n) VALUES (1, 0);
ALTER TABLE tickets ADD COLUMN door_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tickets_door_seq_idx ON tickets (door_seq);

CREATE FUNCTION tickets_door_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status
        AND NEW.issue_no IS NOT DISTINCT FROM OLD.issue_no
        AND NEW.used_at IS NOT DISTINCT FROM OLD.used_at
        AND NEW.used_by_user_id IS NOT DISTINCT FROM OLD.used_by_user_id
        AND NEW.holder_name IS NOT DISTINCT FROM OLD.holder_name
        AND NEW.ticket_type_id IS NOT DISTINCT FROM OLD.ticket_type_id THEN
        RETURN NEW;
    END IF;
    UPDATE door_counter SET n = n + 1 WHERE id = 1 RETURNING n INTO NEW.door_seq;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_door_seq BEFORE INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION tickets_door_seq();

-- A phone or tablet at the door (its id is made by the browser and kept across logins).
CREATE TABLE door_devices (
    id              UUID PRIMARY KEY NOT NULL,
    label           TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 80),
    user_id         UUID REFERENCES users (id),
    first_seen_at   TIMESTAMPTZ NOT NULL,
    last_sync_at    TIMESTAMPTZ NOT NULL,
    last_cursor     BIGINT NOT NULL DEFAULT 0
);

-- What a device did while it could not ask the server, sent later; once per nonce.
CREATE TABLE door_entries (
    nonce           UUID PRIMARY KEY NOT NULL,
    device_id       UUID NOT NULL REFERENCES door_devices (id),
    staff_id        UUID NOT NULL REFERENCES users (id),
    ticket_id       UUID REFERENCES tickets (id),
    device_time     TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    -- What the device answered at the door (OK lets the person in).
    local_answer    TEXT NOT NULL CHECK (local_answer IN ('OK', 'ALREADY_USED', 'CANCELED', 'REFUNDED', 'NOT_VALID_TODAY', 'UNKNOWN')),
    -- What the server made of it: LET_IN, CONFLICT (already let in by another entry), REFUSED (the
    -- device refused it too); let in by a device that did not know, the ticket left as it was:
    -- REVOKED (a code replaced by a reissue), CANCELED (a ticket canceled or refunded), NOT_VALID
    -- (outside its pass's window at the entry's time); UNKNOWN.
    outcome         TEXT NOT NULL CHECK (outcome IN ('LET_IN', 'CONFLICT', 'REFUSED', 'REVOKED', 'CANCELED', 'NOT_VALID', 'UNKNOWN')),
    key_id          BIGINT,
    issue_no        BIGINT
);
CREATE INDEX door_entries_device_idx ON door_entries (device_id, received_at);
CREATE INDEX door_entries_ticket_idx ON door_entries (ticket_id);

-- A ticket let in twice: the first entry (an offline entry's nonce, or an online scan's id) and
-- the second, with their devices when known.
CREATE TABLE door_conflicts (
    id              UUID PRIMARY KEY NOT NULL,
    ticket_id       UUID NOT NULL REFERENCES tickets (id),
    first_scan_id   UUID,
    first_device_id UUID REFERENCES door_devices (id),
    first_staff_id  UUID REFERENCES users (id),
    first_at        TIMESTAMPTZ,
    second_nonce    UUID NOT NULL UNIQUE REFERENCES door_entries (nonce),
    detected_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX door_conflicts_ticket_idx ON door_conflicts (ticket_id);
