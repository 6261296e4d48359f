-- Private calendar subscriptions: the feed URL carries an HMAC of (user, version) under the server's
-- secret; revoking bumps the version, which kills the old URL.
CREATE TABLE calendar_feeds (
    user_id         UUID PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TIMESTAMPTZ NOT NULL
);
