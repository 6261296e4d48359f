-- Live programme changes: every change of a talk's time or room, with the talk as it was before, so
-- that attendees who saved it see "moved from 10:00" and, if they opted in, get one mail per batch.
CREATE TABLE talk_changes (
    id              BLOB PRIMARY KEY NOT NULL,
    conference_id   BLOB NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    old_start_at    TEXT NOT NULL,
    old_end_at      TEXT NOT NULL,
    old_location    TEXT,
    changed_at      TEXT NOT NULL,
    -- set when the change was claimed by the batch that mails it (NULL: not mailed yet)
    mail_batch      BLOB,
    mailed_at       TEXT
);
CREATE INDEX talk_changes_conference_id_idx ON talk_changes (conference_id, changed_at);
CREATE INDEX talk_changes_unmailed_idx ON talk_changes (mailed_at, changed_at);
-- When the user asked to be mailed about changes to the talks they saved (NULL: not asked).
ALTER TABLE users ADD COLUMN programme_mail_since TEXT;
