-- The event day (issue 29): check-in lists, every entry a row, workshops with seats, badges.
-- Mirrors migrations/sqlite/0015_checkin.sql.

-- A check-in list: which passes it admits, when, and how often. ONCE: once for the whole event;
-- DAILY: once per conference day (the default); INOUT: in and out again, a count of who is inside.
-- Bound to a workshop (talk_id), only the tickets booked on it get in.
CREATE TABLE checkin_lists (
    id              UUID PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 80),
    rule            TEXT NOT NULL DEFAULT 'DAILY' CHECK (rule IN ('ONCE', 'DAILY', 'INOUT')),
    all_passes      BOOLEAN NOT NULL DEFAULT TRUE,
    opens_at        TIMESTAMPTZ,
    closes_at       TIMESTAMPTZ,
    -- Not a foreign key: a list whose workshop is gone lets nobody in (no booking matches).
    talk_id         UUID,
    created_at      TIMESTAMPTZ NOT NULL,
    archived_at     TIMESTAMPTZ,
    CHECK (closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at)
);

CREATE TABLE checkin_list_passes (
    list_id         UUID NOT NULL REFERENCES checkin_lists (id) ON DELETE CASCADE,
    ticket_type_id  UUID NOT NULL REFERENCES ticket_types (id),
    PRIMARY KEY (list_id, ticket_type_id)
);

-- Every entry (IN) and exit (OUT); tickets.status/used_at/used_by_user_id keep meaning the first entry ever.
CREATE TABLE checkins (
    id              UUID PRIMARY KEY NOT NULL,
    list_id         UUID NOT NULL REFERENCES checkin_lists (id),
    ticket_id       UUID NOT NULL REFERENCES tickets (id),
    at              TIMESTAMPTZ NOT NULL,
    day             TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('IN', 'OUT')),
    staff_id        UUID REFERENCES users (id),
    device_id       UUID REFERENCES door_devices (id),
    offline         BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX checkins_ticket_idx ON checkins (ticket_id, list_id, at);
CREATE INDEX checkins_list_day_idx ON checkins (list_id, day, at);

INSERT INTO checkin_lists (id, name, rule, all_passes, created_at)
    VALUES ('00000000-0000-0000-0000-0000000000e0', 'Entrée', 'DAILY', TRUE, now());

INSERT INTO checkins (id, list_id, ticket_id, at, day, direction, staff_id, offline)
    SELECT CASE WHEN used_scan_id IS NOT NULL AND (SELECT COUNT(*) FROM tickets o WHERE o.used_scan_id = tickets.used_scan_id) = 1
                THEN used_scan_id ELSE md5(random()::text || id::text)::uuid END, '00000000-0000-0000-0000-0000000000e0', id, used_at,
           to_char(used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'IN', used_by_user_id, FALSE
    FROM tickets WHERE status = 'USED' AND used_at IS NOT NULL;

ALTER TABLE tickets ADD COLUMN last_checkin_at TIMESTAMPTZ;
CREATE OR REPLACE FUNCTION tickets_door_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status
        AND NEW.issue_no IS NOT DISTINCT FROM OLD.issue_no
        AND NEW.used_at IS NOT DISTINCT FROM OLD.used_at
        AND NEW.used_by_user_id IS NOT DISTINCT FROM OLD.used_by_user_id
        AND NEW.holder_name IS NOT DISTINCT FROM OLD.holder_name
        AND NEW.ticket_type_id IS NOT DISTINCT FROM OLD.ticket_type_id
        AND NEW.last_checkin_at IS NOT DISTINCT FROM OLD.last_checkin_at THEN
        RETURN NEW;
    END IF;
    UPDATE door_counter SET n = n + 1 WHERE id = 1 RETURNING n INTO NEW.door_seq;
    RETURN NEW;
END $$;
-- Tickets let in before: phones fetch them again, with their entry.
UPDATE tickets SET last_checkin_at = used_at WHERE status = 'USED';

ALTER TABLE door_entries DROP CONSTRAINT door_entries_local_answer_check;
ALTER TABLE door_entries ADD CONSTRAINT door_entries_local_answer_check CHECK (local_answer IN ('OK', 'ALREADY_USED', 'CANCELED', 'REFUNDED', 'NOT_VALID_TODAY', 'UNKNOWN', 'NOT_ON_LIST', 'EXIT'));
ALTER TABLE door_entries DROP CONSTRAINT door_entries_outcome_check;
ALTER TABLE door_entries ADD CONSTRAINT door_entries_outcome_check CHECK (outcome IN ('LET_IN', 'CONFLICT', 'REFUSED', 'REVOKED', 'CANCELED', 'NOT_VALID', 'UNKNOWN', 'NOT_ON_LIST', 'LET_OUT'));
ALTER TABLE door_entries ADD COLUMN list_id UUID REFERENCES checkin_lists (id);
ALTER TABLE door_entries ADD COLUMN direction TEXT NOT NULL DEFAULT 'IN' CHECK (direction IN ('IN', 'OUT'));
UPDATE door_entries SET list_id = '00000000-0000-0000-0000-0000000000e0';

ALTER TABLE door_conflicts ADD COLUMN list_id UUID REFERENCES checkin_lists (id);
ALTER TABLE door_conflicts ADD COLUMN day TEXT;
UPDATE door_conflicts SET list_id = '00000000-0000-0000-0000-0000000000e0', day = to_char(first_at AT TIME ZONE 'UTC', 'YYYY-MM-DD');

-- Workshops: a talk that needs a booking, with its number of seats; a booking holds one seat for
-- one ticket. (Their own table: a booking does not change the talk, so the programme's cached pages
-- and change mails are left alone.)
CREATE TABLE workshops (
    talk_id         UUID PRIMARY KEY NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    capacity        BIGINT NOT NULL CHECK (capacity BETWEEN 1 AND 100000),
    booked_count    BIGINT NOT NULL DEFAULT 0 CHECK (booked_count >= 0 AND booked_count <= capacity)
);
CREATE TABLE workshop_bookings (
    talk_id         UUID NOT NULL REFERENCES workshops (talk_id) ON DELETE CASCADE,
    ticket_id       UUID NOT NULL REFERENCES tickets (id),
    user_id         UUID NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (talk_id, ticket_id),
    UNIQUE (talk_id, user_id)
);
CREATE INDEX workshop_bookings_user_idx ON workshop_bookings (user_id);

-- A ticket canceled (a refund, an erasure) frees its workshop seats.
CREATE FUNCTION tickets_free_workshop_seats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The bookings the statement itself deleted, so a seat freed at the same moment by its holder
    -- is not counted twice.
    IF EXISTS (SELECT 1 FROM workshop_bookings WHERE ticket_id = NEW.id) THEN
        WITH gone AS (DELETE FROM workshop_bookings WHERE ticket_id = NEW.id RETURNING talk_id)
        UPDATE workshops w SET booked_count = w.booked_count - 1 FROM gone WHERE w.talk_id = gone.talk_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tickets_free_workshop_seats AFTER UPDATE OF status ON tickets
    FOR EACH ROW WHEN (NEW.status = 'CANCELED' AND OLD.status IS DISTINCT FROM 'CANCELED')
    EXECUTE FUNCTION tickets_free_workshop_seats();

-- Badges print the holder's company.
ALTER TABLE profiles ADD COLUMN company TEXT CHECK (company IS NULL OR length(company) <= 120);

-- A full workshop's waiting list: the first in line whose pass covers it gets the next seat freed
-- (booked for them, and mailed: WORKSHOP_SEAT).
CREATE TABLE workshop_waitlist (
    talk_id         UUID NOT NULL REFERENCES workshops (talk_id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users (id),
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (talk_id, user_id)
);
CREATE INDEX workshop_waitlist_queue_idx ON workshop_waitlist (talk_id, created_at);

-- The mail of a workshop seat given from the waiting list.
ALTER TABLE email_logs DROP CONSTRAINT email_logs_type_check;
ALTER TABLE email_logs ADD CONSTRAINT email_logs_type_check CHECK (type IN ('ORDER_CONFIRMED', 'TICKET_SENT', 'RESET_PASSWORD', 'VERIFY_EMAIL', 'CHANGE_EMAIL', 'ACCOUNT_EXISTS', 'PROGRAMME_CHANGED', 'ORDER_REFUNDED', 'EMAIL_CHANGED', 'ACCOUNT_DELETED', 'WAITLIST_OFFER', 'INVOICE_DOCUMENT', 'WORKSHOP_SEAT'));
