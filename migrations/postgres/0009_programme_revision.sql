-- The programme's revision: bumped in the same transaction as every change to a talk, from any
-- writer (any instance), so that the cached public pages (server/page_cache.rs) are never served stale.
CREATE TABLE programme_revision (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO programme_revision (id, revision) VALUES (1, 1);
CREATE FUNCTION bump_programme_revision() RETURNS trigger AS $$
BEGIN
    UPDATE programme_revision SET revision = revision + 1 WHERE id = 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER conferences_revision AFTER INSERT OR UPDATE OR DELETE ON conferences
FOR EACH STATEMENT EXECUTE FUNCTION bump_programme_revision();
