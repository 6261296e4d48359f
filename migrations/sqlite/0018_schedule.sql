-- The programme in other tools' formats (issue 32): each talk keeps the GUID pretalx, frab and the
-- schedule readers know it by (NULL: its own id), its language (NULL: the conference's), and the
-- source it was imported from (NULL: written here). Mirrors migrations/postgres/0018_schedule.sql.
ALTER TABLE conferences ADD COLUMN guid BLOB;
ALTER TABLE conferences ADD COLUMN language TEXT CHECK (language IS NULL OR length(language) BETWEEN 2 AND 10);
ALTER TABLE conferences ADD COLUMN source TEXT CHECK (source IS NULL OR length(source) <= 500);
CREATE UNIQUE INDEX conferences_guid_idx ON conferences (guid);

-- Each import, by an admin (imported_by) or by the periodic job (NULL), with what it did.
CREATE TABLE schedule_imports (
    id              BLOB PRIMARY KEY NOT NULL,
    source          TEXT NOT NULL,
    imported_by     BLOB REFERENCES users (id) ON DELETE SET NULL,
    created         INTEGER NOT NULL DEFAULT 0,
    updated         INTEGER NOT NULL DEFAULT 0,
    unchanged       INTEGER NOT NULL DEFAULT 0,
    removed         INTEGER NOT NULL DEFAULT 0,
    gone            INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    imported_at     TEXT NOT NULL
);
CREATE INDEX schedule_imports_at_idx ON schedule_imports (imported_at);

-- The periodic import's turn (SCHEDULE_IMPORT_URL every SCHEDULE_IMPORT_MINUTES): the instance
-- that moves lease_until forward runs it, so several instances import once; an import takes the
-- row's lock first, so two imports never interleave.
INSERT INTO job_leases (name) VALUES ('schedule_import');

-- A talk made or unmade a workshop changes the schedule's `type`: the programme's revision moves
-- (bookings, which change `booked_count` only, do not).
CREATE TRIGGER workshops_insert_revision AFTER INSERT ON workshops
BEGIN UPDATE programme_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER workshops_delete_revision AFTER DELETE ON workshops
BEGIN UPDATE programme_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER workshops_capacity_revision AFTER UPDATE OF capacity ON workshops
BEGIN UPDATE programme_revision SET revision = revision + 1 WHERE id = 1; END;
