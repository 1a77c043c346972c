-- perfbot's named queries. Each starts with a `-- name --` header; the comment lines right after
-- it say what it does. Parameters are always bound ($1, $2, …).

-- lock_migrations --
-- Serialise schema changes across replicas (session-level advisory lock).
SELECT pg_advisory_lock($1)

-- xact_lock --
-- The same lock, held until the current transaction ends.
SELECT pg_advisory_xact_lock($1)

-- unlock_migrations --
SELECT pg_advisory_unlock($1)

-- create_migrations_table --
CREATE SCHEMA IF NOT EXISTS perfbot;
CREATE TABLE IF NOT EXISTS perfbot.schema_migrations (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- applied_migrations --
SELECT version, checksum FROM perfbot.schema_migrations ORDER BY version

-- record_migration --
INSERT INTO perfbot.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)

-- migrations_table_exists --
SELECT to_regclass('perfbot.schema_migrations') IS NOT NULL

-- schema_version --
SELECT max(version) FROM perfbot.schema_migrations

-- ping --
SELECT 1

-- server_info --
-- Server version and the current database and user, for `perfbot db status`.
SELECT version() AS version, current_database() AS database, current_user AS "user",
       current_setting('server_version_num')::int AS version_num

-- table_row_counts --
-- Exact row counts of perfbot's tables.
SELECT 'metrics' AS name, count(*) AS n FROM perfbot.metrics
UNION ALL SELECT 'merges', count(*) FROM perfbot.merges
UNION ALL SELECT 'rollup_minute', count(*) FROM perfbot.rollup_minute
UNION ALL SELECT 'rollup_hour', count(*) FROM perfbot.rollup_hour
UNION ALL SELECT 'baselines', count(*) FROM perfbot.baselines
UNION ALL SELECT 'anomalies', count(*) FROM perfbot.anomalies
UNION ALL SELECT 'correlations', count(*) FROM perfbot.correlations
UNION ALL SELECT 'alerts', count(*) FROM perfbot.alerts
UNION ALL SELECT 'alert_events', count(*) FROM perfbot.alert_events
UNION ALL SELECT 'deliveries', count(*) FROM perfbot.deliveries
UNION ALL SELECT 'silences', count(*) FROM perfbot.silences
UNION ALL SELECT 'job_runs', count(*) FROM perfbot.job_runs

-- source_row_estimate --
-- Rows in the configured metric source, estimated from the planner's statistics.
SELECT coalesce(sum(c.reltuples), 0)::bigint FROM pg_class c WHERE c.oid = to_regclass($1)

-- add_dirty_range --
-- Rows landed with recorded_at in [from, to]: their rollups must be rebuilt.
INSERT INTO perfbot.rollup_dirty (range_from, range_to) VALUES ($1, $2)

-- count_metrics --
SELECT count(*) FROM perfbot.metrics

-- recent_metrics --
-- The newest metrics of one operation (all operations when $1 is null), newest first.
SELECT operation_type, duration_ms, recorded_at
  FROM perfbot.source_metrics
 WHERE ($1::text IS NULL OR operation_type = $1)
 ORDER BY recorded_at DESC
 LIMIT $2

-- merges_between --
-- Merge records started in [from, to), oldest first.
SELECT merge_id, source_branch, target_branch, status, strategy, conflicts, auto_resolved,
       auto_failed, base_find_ms, conflict_detect_ms, auto_resolve_ms, total_ms, started_at,
       completed_at, user_name
  FROM perfbot.source_merges
 WHERE started_at >= $1 AND started_at < $2
 ORDER BY started_at
