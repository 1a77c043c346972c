-- Signed chat requests (Slack) and button clicks (Mattermost) already executed, so that a
-- replay within the signature window does nothing: the first INSERT of a key wins, on every
-- replica. `key` is a SHA-256 of the request's credential; rows past `expires_at` are pruned
-- by the cleanup job.
CREATE TABLE perfbot.seen_requests (
    key        bytea       PRIMARY KEY,
    platform   text        NOT NULL,
    seen_at    timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX seen_requests_expires_at ON perfbot.seen_requests (expires_at);
