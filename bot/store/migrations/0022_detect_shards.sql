-- Replicas share detection: operations hash into `detection.shards` shards, and each replica
-- claims (job, window end, shard) units here with a lease (database time). A unit whose lease
-- ran out without `done_at` is taken over by the next replica that asks. Each shard keeps its
-- own watermark (`detect:<shard>`), committed with the shard's anomalies in one transaction.
CREATE TABLE IF NOT EXISTS perfbot.shard_claims (
    job         text        NOT NULL,
    slot        timestamptz NOT NULL,
    shard       integer     NOT NULL,
    owner       text        NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 1,
    done_at     timestamptz,
    scored_from timestamptz,
    scored_to   timestamptz,
    PRIMARY KEY (job, slot, shard)
);
-- retention drops old claims by slot
CREATE INDEX IF NOT EXISTS shard_claims_slot ON perfbot.shard_claims (slot);
