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

-- get_watermark --
SELECT value FROM perfbot.watermarks WHERE name = $1

-- set_watermark --
INSERT INTO perfbot.watermarks (name, value, updated_at) VALUES ($1, $2, now())
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()

-- rollup_lock --
SELECT pg_advisory_xact_lock($1)

-- take_dirty_ranges --
-- Claim every pending backfill range (the caller rebuilds rollups for them in the same
-- transaction, so a failure puts them back).
DELETE FROM perfbot.rollup_dirty RETURNING range_from, range_to

-- delete_rollup_minute --
DELETE FROM perfbot.rollup_minute WHERE bucket >= $1 AND bucket < $2

-- build_rollup_minute --
-- Per-minute rollups of source metrics with recorded_at in [$1, $2): moments in ms and ln(ms),
-- extremes and the sparse log-bucket histogram. $3 = histogram MIN_MS, $4 = SCALE,
-- $5 = N_BUCKETS (see bot.analysis.histogram).
WITH samples AS (
    SELECT operation_type,
           date_trunc('minute', recorded_at) AS bucket,
           duration_ms AS d,
           ln(greatest(duration_ms, $3::float8)) AS l,
           least($5::int - 1, floor(ln(greatest(duration_ms, $3::float8) / $3::float8) * $4::float8))::smallint AS idx
      FROM perfbot.source_metrics
     WHERE recorded_at >= $1 AND recorded_at < $2
), moments AS (
    SELECT operation_type, bucket, count(*)::int AS n, sum(d) AS sum_ms,
           var_pop(d) * count(*) AS m2_ms, sum(l) AS sum_log, var_pop(l) * count(*) AS m2_log,
           min(d) AS min_ms, max(d) AS max_ms
      FROM samples
     GROUP BY operation_type, bucket
), hist AS (
    SELECT operation_type, bucket,
           array_agg(idx ORDER BY idx) AS hist_idx, array_agg(c ORDER BY idx) AS hist_cnt
      FROM (SELECT operation_type, bucket, idx, count(*)::int AS c
              FROM samples GROUP BY operation_type, bucket, idx) per_bucket
     GROUP BY operation_type, bucket
)
INSERT INTO perfbot.rollup_minute
       (operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist_idx, hist_cnt)
SELECT m.operation_type, m.bucket, m.n, m.sum_ms, m.m2_ms, m.sum_log, m.m2_log, m.min_ms, m.max_ms,
       h.hist_idx, h.hist_cnt
  FROM moments m JOIN hist h USING (operation_type, bucket)
ON CONFLICT (bucket, operation_type) DO UPDATE SET
       n = EXCLUDED.n, sum_ms = EXCLUDED.sum_ms, m2_ms = EXCLUDED.m2_ms,
       sum_log = EXCLUDED.sum_log, m2_log = EXCLUDED.m2_log, min_ms = EXCLUDED.min_ms,
       max_ms = EXCLUDED.max_ms, hist_idx = EXCLUDED.hist_idx, hist_cnt = EXCLUDED.hist_cnt

-- delete_rollup_hour --
DELETE FROM perfbot.rollup_hour WHERE bucket >= $1 AND bucket < $2

-- build_rollup_hour --
-- Hourly rollups for the hours in [$1, $2) merged from the minute rollups: moments by Chan's
-- parallel formula, histograms summed bucket by bucket.
WITH m AS (
    SELECT operation_type, date_trunc('hour', bucket) AS hour, n, sum_ms, m2_ms, sum_log, m2_log,
           min_ms, max_ms, hist_idx, hist_cnt
      FROM perfbot.rollup_minute
     WHERE bucket >= $1 AND bucket < $2
), totals AS (
    SELECT operation_type, hour, sum(n)::int AS n, sum(sum_ms) AS sum_ms, sum(sum_log) AS sum_log,
           min(min_ms) AS min_ms, max(max_ms) AS max_ms
      FROM m GROUP BY operation_type, hour
), spread AS (
    SELECT m.operation_type, m.hour,
           sum(m.m2_ms + m.n * power(m.sum_ms / m.n - t.sum_ms / t.n, 2)) AS m2_ms,
           sum(m.m2_log + m.n * power(m.sum_log / m.n - t.sum_log / t.n, 2)) AS m2_log
      FROM m JOIN totals t USING (operation_type, hour)
     GROUP BY m.operation_type, m.hour
), hist AS (
    SELECT operation_type, hour, array_agg(idx ORDER BY idx) AS hist_idx,
           array_agg(cnt ORDER BY idx) AS hist_cnt
      FROM (SELECT m.operation_type, m.hour, u.idx, sum(u.cnt)::int AS cnt
              FROM m, unnest(m.hist_idx, m.hist_cnt) AS u(idx, cnt)
             GROUP BY m.operation_type, m.hour, u.idx) per_bucket
     GROUP BY operation_type, hour
)
INSERT INTO perfbot.rollup_hour
       (operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist_idx, hist_cnt)
SELECT t.operation_type, t.hour, t.n, t.sum_ms, s.m2_ms, t.sum_log, s.m2_log, t.min_ms, t.max_ms,
       h.hist_idx, h.hist_cnt
  FROM totals t JOIN spread s USING (operation_type, hour) JOIN hist h USING (operation_type, hour)
ON CONFLICT (bucket, operation_type) DO UPDATE SET
       n = EXCLUDED.n, sum_ms = EXCLUDED.sum_ms, m2_ms = EXCLUDED.m2_ms,
       sum_log = EXCLUDED.sum_log, m2_log = EXCLUDED.m2_log, min_ms = EXCLUDED.min_ms,
       max_ms = EXCLUDED.max_ms, hist_idx = EXCLUDED.hist_idx, hist_cnt = EXCLUDED.hist_cnt

-- rollup_minute_rows --
-- Minute rollups with bucket in [$1, $2), with histograms.
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist_idx, hist_cnt
  FROM perfbot.rollup_minute
 WHERE bucket >= $1 AND bucket < $2
 ORDER BY bucket, operation_type

-- rollup_minute_means --
-- Minute rollups with bucket in [$1, $2), moments only (for correlation).
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms
  FROM perfbot.rollup_minute
 WHERE bucket >= $1 AND bucket < $2
 ORDER BY bucket, operation_type

-- rollup_hour_rows --
-- Hourly rollups with bucket in [$1, $2), with histograms.
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist_idx, hist_cnt
  FROM perfbot.rollup_hour
 WHERE bucket >= $1 AND bucket < $2
 ORDER BY bucket, operation_type

-- known_operations --
-- Every operation with hourly rollups since $1, busiest first.
SELECT operation_type, sum(n)::bigint AS samples
  FROM perfbot.rollup_hour
 WHERE bucket >= $1
 GROUP BY operation_type
 ORDER BY samples DESC, operation_type

-- delete_rollup_minute_before --
DELETE FROM perfbot.rollup_minute WHERE bucket < $1

-- delete_rollup_hour_before --
DELETE FROM perfbot.rollup_hour WHERE bucket < $1

-- claim_job_slot --
-- Claim one run of a job; returns nothing when another replica already has this slot.
INSERT INTO perfbot.job_runs (job, slot, status, owner, started_at)
VALUES ($1, $2, 'running', $3, $4)
ON CONFLICT (job, slot) DO NOTHING
RETURNING id

-- finish_job_run --
UPDATE perfbot.job_runs
   SET status = $2, finished_at = $3, duration_ms = $4, rows = $5, error = $6
 WHERE id = $1

-- latest_job_runs --
-- The newest run of every job, and each job's latest success and failure count in the window.
SELECT DISTINCT ON (job) id, job, slot, status, owner, started_at, finished_at, duration_ms, rows, error
  FROM perfbot.job_runs
 ORDER BY job, started_at DESC

-- job_run_stats --
-- Per job since $1: runs, failures, last success start, average and max duration (ms).
SELECT job, count(*) AS runs, count(*) FILTER (WHERE status = 'failed') AS failures,
       max(started_at) FILTER (WHERE status = 'success') AS last_success,
       avg(duration_ms) AS avg_ms, max(duration_ms) AS max_ms
  FROM perfbot.job_runs
 WHERE started_at >= $1
 GROUP BY job

-- recent_job_runs --
-- The newest runs of one job.
SELECT id, job, slot, status, owner, started_at, finished_at, duration_ms, rows, error
  FROM perfbot.job_runs
 WHERE job = $1
 ORDER BY started_at DESC
 LIMIT $2

-- delete_job_runs_before --
DELETE FROM perfbot.job_runs WHERE started_at < $1
