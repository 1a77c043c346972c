-- Known operation names, for the cardinality caps (detection.max_operations and
-- detection.max_new_operations_per_hour): ingest and the rollup refresh add a name here, under
-- an advisory lock, before any row of it is stored or rolled up; rollups read only rows whose
-- name is here. first_seen is the database's clock when the name was admitted.
CREATE TABLE perfbot.operations (
    name       text        PRIMARY KEY,
    first_seen timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operations_first_seen ON perfbot.operations (first_seen);

-- Rows of the source that the rollup refresh skipped, by reason ('invalid_name': outside the
-- operation-name character set; 'operation_cap': a new name past a cap). Shown in /metrics.
CREATE TABLE perfbot.skipped_source_rows (
    reason    text        PRIMARY KEY,
    rows      bigint      NOT NULL DEFAULT 0,
    last_at   timestamptz NOT NULL DEFAULT now()
);

-- The operations perfbot already rolled up are known, first seen when their oldest rollup
-- was: an upgrade neither counts them as new this hour nor skips their rows. Names outside
-- the character set (bot/models/operations.py, OPERATION_NAME_PATTERN as of this migration)
-- are left out, so their rows are skipped from now on.
INSERT INTO perfbot.operations (name, first_seen)
SELECT operation_type, min(bucket)
  FROM perfbot.rollup_hour
 WHERE operation_type ~ '^[A-Za-z0-9_.:/-]{1,128}$'
 GROUP BY operation_type;
