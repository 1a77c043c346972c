-- Who scored a shard's window, written in the transaction that moves the shard's watermark and
-- stores its anomalies: the record holds when a replica dies after that commit and before it
-- marks the unit done (whoever takes the unit over then finds nothing left to score, and
-- `owner` names the last lease holder, not the scorer).
ALTER TABLE perfbot.shard_claims ADD COLUMN IF NOT EXISTS scored_by text;
