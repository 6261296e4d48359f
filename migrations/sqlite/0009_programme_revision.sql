-- The programme's revision: bumped in the same transaction as every change to a talk, from any
-- writer, so that the cached public pages (server/page_cache.rs) are never served stale.
CREATE TABLE programme_revision (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO programme_revision (id, revision) VALUES (1, 1);
CREATE TRIGGER conferences_insert_revision AFTER INSERT ON conferences
BEGIN UPDATE programme_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER conferences_update_revision AFTER UPDATE ON conferences
BEGIN UPDATE programme_revision SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER conferences_delete_revision AFTER DELETE ON conferences
BEGIN UPDATE programme_revision SET revision = revision + 1 WHERE id = 1; END;
