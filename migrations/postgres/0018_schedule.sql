-- The programme in other tools' formats (issue 32): each talk keeps the GUID pretalx, frab and the
-- schedule readers know it by (NULL: its own id), its language (NULL: the conference's), and the
-- source it was imported from (NULL: written here). Mirrors migrations/sqlite/0018_schedule.sql.
ALTER TABLE conferences ADD COLUMN guid UUID;
ALTER TABLE conferences ADD COLUMN language TEXT CHECK (language IS NULL OR length(language) BETWEEN 2 AND 10);
ALTER TABLE conferences ADD COLUMN source TEXT CHECK (source IS NULL OR length(source) <= 500);
CREATE UNIQUE INDEX conferences_guid_idx ON conferences (guid);

-- Each import, by an admin (imported_by) or by the periodic job (NULL), with what it did.
CREATE TABLE schedule_imports (
    id              UUID PRIMARY KEY NOT NULL,
    source          TEXT NOT NULL,
    imported_by     UUID REFERENCES users (id) ON DELETE SET NULL,
    created         BIGINT NOT NULL DEFAULT 0,
    updated         BIGINT NOT NULL DEFAULT 0,
    unchanged       BIGINT NOT NULL DEFAULT 0,
    removed         BIGINT NOT NULL DEFAULT 0,
    gone            BIGINT NOT NULL DEFAULT 0,
    error           TEXT,
    imported_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX schedule_imports_at_idx ON schedule_imports (imported_at);

-- The periodic import's turn (SCHEDULE_IMPORT_URL every SCHEDULE_IMPORT_MINUTES): the instance
-- that moves lease_until forward runs it, so several instances import once; an import takes the
-- row's lock first, so two imports never interleave.
INSERT INTO job_leases (name) VALUES ('schedule_import');

-- A talk made or unmade a workshop changes the schedule's `type`: the programme's revision moves
-- (bookings, which change `booked_count` only, do not).
CREATE TRIGGER workshops_revision AFTER INSERT OR DELETE OR UPDATE OF capacity ON workshops
FOR EACH STATEMENT EXECUTE FUNCTION bump_programme_revision();
