-- perfbot's named queries. Each starts with a `-- name --` header; the comment lines right after
-- it say what it does. Parameters are always bound ($1, $2, …).

-- advisory_lock --
-- A session-level advisory lock (schema changes only: a no-transaction migration cannot hold a
-- transaction lock); keys are constants in the code.
SELECT pg_advisory_lock($1)

-- advisory_xact_lock --
-- An advisory lock held until the current transaction ends (one detection cycle at a time,
-- alert changes, rollup refreshes).
SELECT pg_advisory_xact_lock($1)

-- advisory_unlock --
SELECT pg_advisory_unlock($1)

-- advisory_unlock_all --
-- Release every session advisory lock of this connection (the pool's reset, a backstop).
SELECT pg_advisory_unlock_all()

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

-- table_sizes --
-- Every table of perfbot's schema with its size on disk (bytes, with indexes and TOAST) and
-- the planner's row estimate (pg_class.reltuples: cheap, refreshed by VACUUM and ANALYZE; null
-- before the table was first analysed), largest first.
SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END AS rows
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'perfbot' AND c.relkind IN ('r', 'p')
 ORDER BY bytes DESC, name

-- table_row_counts --
-- Exact row counts of perfbot's tables.
SELECT 'metrics' AS name, count(*) AS n FROM perfbot.metrics
UNION ALL SELECT 'merges', count(*) FROM perfbot.merges
UNION ALL SELECT 'rollup_minute', count(*) FROM perfbot.rollup_minute
UNION ALL SELECT 'rollup_hour', count(*) FROM perfbot.rollup_hour
UNION ALL SELECT 'operations', count(*) FROM perfbot.operations
UNION ALL SELECT 'baselines', count(*) FROM perfbot.baselines
UNION ALL SELECT 'anomalies', count(*) FROM perfbot.anomalies
UNION ALL SELECT 'correlations', count(*) FROM perfbot.correlations
UNION ALL SELECT 'alerts', count(*) FROM perfbot.alerts
UNION ALL SELECT 'alert_events', count(*) FROM perfbot.alert_events
UNION ALL SELECT 'deliveries', count(*) FROM perfbot.deliveries
UNION ALL SELECT 'silences', count(*) FROM perfbot.silences
UNION ALL SELECT 'job_runs', count(*) FROM perfbot.job_runs

-- add_dirty_range --
-- Rows landed with recorded_at in [from, to]: their rollups must be rebuilt.
INSERT INTO perfbot.rollup_dirty (range_from, range_to) VALUES ($1, $2)

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

-- take_dirty_ranges --
-- Claim every pending back-fill range (the caller puts back what it does not roll up in the
-- same transaction, so a failure puts them all back), clipped to start at $1 at the earliest
-- (older rollups would be pruned; ranges wholly before it are dropped).
WITH taken AS (DELETE FROM perfbot.rollup_dirty RETURNING range_from, range_to)
SELECT greatest(range_from, $1) AS range_from, range_to FROM taken WHERE range_to >= $1

-- pending_rollup_ranges --
-- The ranges the back-fill has still to roll up (a few merged ones, plus ingest's since).
SELECT range_from, range_to FROM perfbot.rollup_dirty ORDER BY range_from

-- backfill_horizon --
-- The oldest pending back-fill time, and whether any refresh ran ($1: the rollup watermark).
SELECT (SELECT min(range_from) FROM perfbot.rollup_dirty) AS oldest,
       EXISTS (SELECT 1 FROM perfbot.watermarks WHERE name = $1) AS refreshed

-- log_rollup_rebuild --
-- A rebuild of [$1, $2) (minutes and the hours holding them), in its transaction, under the
-- rollup lock: other processes' caches forget that range (`rollup_rebuilds_since`).
INSERT INTO perfbot.rollup_rebuilds (range_from, range_to) VALUES ($1, $2) RETURNING id

-- rollup_rebuilds_since --
-- The rebuilds logged after id $1, oldest first, each with the oldest id still logged (a
-- reader whose last id is older than that missed some).
SELECT id, range_from, range_to, (SELECT min(id) FROM perfbot.rollup_rebuilds) AS oldest
  FROM perfbot.rollup_rebuilds
 WHERE id > $1
 ORDER BY id

-- prune_rollup_rebuilds --
-- Keep the last $1 rebuilds logged.
DELETE FROM perfbot.rollup_rebuilds
 WHERE id <= (SELECT max(id) FROM perfbot.rollup_rebuilds) - $1

-- rebuild_plans --
-- For the rest of the transaction: no nested-loop joins. A rebuild's CTEs cover the newest
-- buckets, past the statistics' histogram, so the planner estimates them at one row and joins
-- them in nested loops: quadratic in operations (10 s a cycle at 3,300). Hash and merge joins
-- stay linear whatever the estimate. No JIT either: the cost penalty of the one nested loop left
-- (unnest of the histograms) would make every rebuild compile its plan (over a second).
SELECT set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true)

-- build_rollups --
-- Minute rollups of source metrics with recorded_at in [$1, $2) and, when $8, hourly rollups of
-- the hours [$6, $7) that hold them (hours cover minutes), both from the raw rows in one pass (the
-- predicate on source_at, the time column in its own type, lets the source's index serve the
-- scan): moments in ms and ln(ms), extremes and the sparse log-bucket histogram. $3 = histogram
-- MIN_MS, $4 = SCALE, $5 = N_BUCKETS (see bot.analysis.histogram). Only rows of known
-- operations (perfbot.operations, where the refresh admitted them first): invalid or capped
-- names are skipped. Upserted in place: only rows whose values changed are written, and only
-- keys of the range no longer built are deleted (a rebuild each cycle must not leave a dead row
-- per unchanged minute). The deletions are NOT IN (a hashed subplan: linear) rather than NOT
-- EXISTS, which the planner turned into a nested-loop anti join over the CTE (estimated at one
-- row): quadratic in operations.
-- A histogram is packed in one bytea (`bot.analysis.histogram.pack`): a byte w, the width of
-- every count (1 if n < 256, 2 if n < 65,536, else 4), then per non-empty bucket, in bucket
-- order, its index (2 bytes) and count (w bytes), big-endian: 3 bytes a bucket in a minute of
-- fewer than 256 requests, where two arrays took 6, plus 48 bytes of array headers.
WITH samples AS (
    SELECT operation_type, recorded_at, duration_ms AS d,
           ln(greatest(duration_ms, $3::float8)) AS l,
           least($5::int - 1, floor(ln(greatest(duration_ms, $3::float8) / $3::float8) * $4::float8))::smallint AS idx
      FROM perfbot.source_metrics
     WHERE source_at >= perfbot.source_lo($6) AND source_at < perfbot.source_hi($7)
       AND recorded_at >= $6 AND recorded_at < $7
       AND EXISTS (SELECT 1 FROM perfbot.operations o WHERE o.name = operation_type)
), keyed AS (
    SELECT u.hourly, s.operation_type, s.d, s.l, s.idx,
           date_trunc(CASE WHEN u.hourly THEN 'hour' ELSE 'minute' END, s.recorded_at) AS bucket
      FROM samples s CROSS JOIN (VALUES (false), (true)) AS u(hourly)
     WHERE (u.hourly AND $8::boolean) OR (NOT u.hourly AND s.recorded_at >= $1 AND s.recorded_at < $2)
), moments AS (
    SELECT hourly, operation_type, bucket, count(*)::int AS n, sum(d) AS sum_ms,
           var_pop(d) * count(*) AS m2_ms, sum(l) AS sum_log, var_pop(l) * count(*) AS m2_log,
           min(d) AS min_ms, max(d) AS max_ms,
           CASE WHEN count(*) < 256 THEN 1 WHEN count(*) < 65536 THEN 2 ELSE 4 END AS w
      FROM keyed
     GROUP BY hourly, operation_type, bucket
), hist AS (
    SELECT m.hourly, m.operation_type, m.bucket,
           substring(int4send(m.w) FROM 4)
           || string_agg(int2send(p.idx) || substring(int4send(p.c) FROM 5 - m.w), ''::bytea
                         ORDER BY p.idx) AS hist
      FROM (SELECT hourly, operation_type, bucket, idx, count(*)::int AS c
              FROM keyed GROUP BY hourly, operation_type, bucket, idx) p
      JOIN moments m USING (hourly, operation_type, bucket)
     GROUP BY m.hourly, m.operation_type, m.bucket, m.w
), built AS (
    SELECT m.hourly, m.operation_type, m.bucket, m.n, m.sum_ms, m.m2_ms, m.sum_log, m.m2_log,
           m.min_ms, m.max_ms, h.hist
      FROM moments m JOIN hist h USING (hourly, operation_type, bucket)
), minutes_vanished AS (
    DELETE FROM perfbot.rollup_minute r
     WHERE r.bucket >= $1 AND r.bucket < $2
       AND (r.bucket, r.operation_type) NOT IN
           (SELECT b.bucket, b.operation_type FROM built b WHERE NOT b.hourly)
), hours_vanished AS (
    DELETE FROM perfbot.rollup_hour r
     WHERE $8::boolean AND r.bucket >= $6 AND r.bucket < $7
       AND (r.bucket, r.operation_type) NOT IN
           (SELECT b.bucket, b.operation_type FROM built b WHERE b.hourly)
), minutes AS (
    INSERT INTO perfbot.rollup_minute AS r
           (operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist)
    SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist FROM built WHERE NOT hourly
    ON CONFLICT (bucket, operation_type) DO UPDATE SET
           n = EXCLUDED.n, sum_ms = EXCLUDED.sum_ms, m2_ms = EXCLUDED.m2_ms,
           sum_log = EXCLUDED.sum_log, m2_log = EXCLUDED.m2_log, min_ms = EXCLUDED.min_ms,
           max_ms = EXCLUDED.max_ms, hist = EXCLUDED.hist
     WHERE (r.n, r.sum_ms, r.m2_ms, r.sum_log, r.m2_log, r.min_ms, r.max_ms, r.hist)
           IS DISTINCT FROM (EXCLUDED.n, EXCLUDED.sum_ms, EXCLUDED.m2_ms, EXCLUDED.sum_log,
           EXCLUDED.m2_log, EXCLUDED.min_ms, EXCLUDED.max_ms, EXCLUDED.hist)
)
INSERT INTO perfbot.rollup_hour AS r
       (operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist)
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist FROM built WHERE hourly
ON CONFLICT (bucket, operation_type) DO UPDATE SET
       n = EXCLUDED.n, sum_ms = EXCLUDED.sum_ms, m2_ms = EXCLUDED.m2_ms,
       sum_log = EXCLUDED.sum_log, m2_log = EXCLUDED.m2_log, min_ms = EXCLUDED.min_ms,
       max_ms = EXCLUDED.max_ms, hist = EXCLUDED.hist
 WHERE (r.n, r.sum_ms, r.m2_ms, r.sum_log, r.m2_log, r.min_ms, r.max_ms, r.hist)
       IS DISTINCT FROM (EXCLUDED.n, EXCLUDED.sum_ms, EXCLUDED.m2_ms, EXCLUDED.sum_log,
       EXCLUDED.m2_log, EXCLUDED.min_ms, EXCLUDED.max_ms, EXCLUDED.hist)

-- put_hour_rollups --
-- Hourly rollups of the hours [$1, $2) replaced by the rows given as arrays ($3 operation,
-- $4 bucket, $5 n, $6 sum_ms, $7 m2_ms, $8 sum_log, $9 m2_log, $10 min_ms, $11 max_ms, $12
-- packed histogram), which numpy merged from the hours' minute rollups: as `build_rollups`,
-- only rows whose values changed are written and keys of the range not given are deleted.
-- Returns how many rows it wrote or deleted (0: the hours were already so).
WITH given AS (
    SELECT * FROM unnest($3::text[], $4::timestamptz[], $5::int[], $6::float8[], $7::float8[],
                         $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::bytea[])
        AS g(operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist)
), vanished AS (
    DELETE FROM perfbot.rollup_hour r
     WHERE r.bucket >= $1 AND r.bucket < $2
       AND (r.bucket, r.operation_type) NOT IN (SELECT g.bucket, g.operation_type FROM given g)
    RETURNING 1
), written AS (
INSERT INTO perfbot.rollup_hour AS r
       (operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist)
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist FROM given
ON CONFLICT (bucket, operation_type) DO UPDATE SET
       n = EXCLUDED.n, sum_ms = EXCLUDED.sum_ms, m2_ms = EXCLUDED.m2_ms,
       sum_log = EXCLUDED.sum_log, m2_log = EXCLUDED.m2_log, min_ms = EXCLUDED.min_ms,
       max_ms = EXCLUDED.max_ms, hist = EXCLUDED.hist
 WHERE (r.n, r.sum_ms, r.m2_ms, r.sum_log, r.m2_log, r.min_ms, r.max_ms, r.hist)
       IS DISTINCT FROM (EXCLUDED.n, EXCLUDED.sum_ms, EXCLUDED.m2_ms, EXCLUDED.sum_log,
       EXCLUDED.m2_log, EXCLUDED.min_ms, EXCLUDED.max_ms, EXCLUDED.hist)
RETURNING 1
)
SELECT (SELECT count(*) FROM vanished) + (SELECT count(*) FROM written) AS changed

-- rollup_minute_rows --
-- Minute rollups with bucket in [$1, $2), with histograms.
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist
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
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist
  FROM perfbot.rollup_hour
 WHERE bucket >= $1 AND bucket < $2
 ORDER BY bucket, operation_type

-- rollup_minute_columns --
-- Minute rollups with bucket in [$1, $2), ordered by bucket, as ONE row of columns: the names,
-- one a line (names hold no line break: `OPERATION_NAME_PATTERN`), and the others as binary
-- values (big-endian, as the `*send` functions write them) laid end to end: the bucket in
-- epoch seconds (int8), n (int4), the moments and extremes (float8), and the packed
-- histograms one after another (`hist_len`: their lengths, int4). numpy reads them in place
-- (`np.frombuffer`): a row per rollup would cost a Python object per histogram entry, text a
-- conversion per number, and numbering the names here a sort of every row by name.
SELECT string_agg(operation_type, E'\n') AS names,
       string_agg(int8send(extract(epoch FROM bucket)::bigint), ''::bytea) AS bucket,
       string_agg(int4send(n), ''::bytea) AS n,
       string_agg(float8send(sum_ms), ''::bytea) AS sum_ms,
       string_agg(float8send(m2_ms), ''::bytea) AS m2_ms,
       string_agg(float8send(sum_log), ''::bytea) AS sum_log,
       string_agg(float8send(m2_log), ''::bytea) AS m2_log,
       string_agg(float8send(min_ms), ''::bytea) AS min_ms,
       string_agg(float8send(max_ms), ''::bytea) AS max_ms,
       string_agg(int4send(length(hist)), ''::bytea) AS hist_len,
       string_agg(hist, ''::bytea) AS hist
  FROM (SELECT * FROM perfbot.rollup_minute
         WHERE bucket >= $1 AND bucket < $2
         ORDER BY bucket, operation_type) r

-- rollup_hour_columns --
-- Hourly rollups with bucket in [$1, $2), ordered by bucket, as ONE row of columns: the names,
-- one a line (names hold no line break: `OPERATION_NAME_PATTERN`), and the others as binary
-- values (big-endian, as the `*send` functions write them) laid end to end: the bucket in
-- epoch seconds (int8), n (int4), the moments and extremes (float8), and the packed
-- histograms one after another (`hist_len`: their lengths, int4). numpy reads them in place
-- (`np.frombuffer`): a row per rollup would cost a Python object per histogram entry, text a
-- conversion per number, and numbering the names here a sort of every row by name.
SELECT string_agg(operation_type, E'\n') AS names,
       string_agg(int8send(extract(epoch FROM bucket)::bigint), ''::bytea) AS bucket,
       string_agg(int4send(n), ''::bytea) AS n,
       string_agg(float8send(sum_ms), ''::bytea) AS sum_ms,
       string_agg(float8send(m2_ms), ''::bytea) AS m2_ms,
       string_agg(float8send(sum_log), ''::bytea) AS sum_log,
       string_agg(float8send(m2_log), ''::bytea) AS m2_log,
       string_agg(float8send(min_ms), ''::bytea) AS min_ms,
       string_agg(float8send(max_ms), ''::bytea) AS max_ms,
       string_agg(int4send(length(hist)), ''::bytea) AS hist_len,
       string_agg(hist, ''::bytea) AS hist
  FROM (SELECT * FROM perfbot.rollup_hour
         WHERE bucket >= $1 AND bucket < $2
         ORDER BY bucket, operation_type) r

-- rollup_hour_rows_of --
-- Hourly rollups of one operation ($3) with bucket in [$1, $2), with histograms (trends).
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist
  FROM perfbot.rollup_hour
 WHERE bucket >= $1 AND bucket < $2 AND operation_type = $3
 ORDER BY bucket

-- rollup_minute_rows_of --
-- Minute rollups of one operation ($3) with bucket in [$1, $2), with histograms (the latency
-- series of alert messages).
SELECT operation_type, bucket, n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms, hist
  FROM perfbot.rollup_minute
 WHERE bucket >= $1 AND bucket < $2 AND operation_type = $3
 ORDER BY bucket



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

-- last_job_success --
-- When the job $1 last finished a successful run (index-backed: job_runs_job_started, newest first).
SELECT finished_at FROM perfbot.job_runs
 WHERE job = $1 AND status = 'success' AND finished_at IS NOT NULL
 ORDER BY started_at DESC LIMIT 1

-- job_run_stats --
-- Per job since $1: runs, failures, last success start, average and max duration (ms).
SELECT job, count(*) AS runs, count(*) FILTER (WHERE status = 'failed') AS failures,
       max(started_at) FILTER (WHERE status = 'success') AS last_success,
       avg(duration_ms) AS avg_ms, max(duration_ms) AS max_ms
  FROM perfbot.job_runs
 WHERE started_at >= $1
 GROUP BY job


-- insert_alert --
-- A new alert; returns the whole row.
INSERT INTO perfbot.alerts
       (fingerprint, kind, severity, status, operation_types, bottleneck, title, summary, details,
        first_seen, last_seen, occurrences, parent_id, silence_id, plan, escalation_step,
        next_escalation_at, notified_channels, paged, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $20, 1,
        $19, $19)
RETURNING *

-- update_alert --
-- Write an alert's mutable state if nobody changed it since version $2; bumps the version.
UPDATE perfbot.alerts
   SET kind = $3, severity = $4, status = $5, operation_types = $6, bottleneck = $7, title = $8,
       summary = $9, details = $10, last_seen = $11, occurrences = $12, acknowledged_by = $13,
       acknowledged_at = $14, ack_severity = $15, resolved_at = $16, resolved_by = $17,
       parent_id = $18, silence_id = $19, escalation_step = $20, next_escalation_at = $21,
       updated_at = $22, plan = $23, notified_channels = $24, paged = $25,
       version = version + 1
 WHERE id = $1 AND version = $2
RETURNING *

-- get_alert --
SELECT * FROM perfbot.alerts WHERE id = $1

-- get_alert_for_update --
SELECT * FROM perfbot.alerts WHERE id = $1 FOR UPDATE

-- list_alerts --
-- Alerts whose status is in $1, newest activity first.
SELECT * FROM perfbot.alerts WHERE status = ANY($1::text[]) ORDER BY last_seen DESC, id DESC LIMIT $2

-- unresolved_alerts --
SELECT * FROM perfbot.alerts WHERE status <> 'resolved' ORDER BY id

-- unresolved_alerts_touching --
-- Unresolved alerts naming any of the operations $1 or with fingerprint $2 (an external alert
-- names no operation), locked for the caller's transaction.
SELECT * FROM perfbot.alerts
 WHERE status <> 'resolved' AND (operation_types && $1::text[] OR fingerprint = $2)
 ORDER BY id
   FOR UPDATE

-- alert_counts --
-- How many unresolved alerts there are, by status and severity (read through
-- alerts_status_last_seen: resolved alerts, nearly all of them, are never visited).
SELECT status, severity, count(*)::int AS n
  FROM perfbot.alerts
 WHERE status IN ('open', 'acknowledged')
 GROUP BY status, severity

-- alerts_created_since_touching --
-- Alerts created since $1 naming any of the operations $2 (for the recurrence rule).
SELECT * FROM perfbot.alerts WHERE created_at >= $1 AND operation_types && $2::text[] ORDER BY id

-- alerts_by_ids --
SELECT * FROM perfbot.alerts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE

-- child_alerts --
SELECT * FROM perfbot.alerts WHERE parent_id = $1 ORDER BY id

-- insert_alert_event --
INSERT INTO perfbot.alert_events (alert_id, at, actor, source, action, details)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id

-- alert_events --
SELECT * FROM perfbot.alert_events WHERE alert_id = $1 ORDER BY at, id

-- last_alert_event --
SELECT * FROM perfbot.alert_events WHERE alert_id = $1 AND action = $2
 ORDER BY at DESC, id DESC
 LIMIT 1

-- enqueue_delivery --
-- Queue one message; the NOTIFY wakes delivery workers when the transaction commits.
WITH queued AS (
    INSERT INTO perfbot.deliveries
           (alert_id, channel, event, severity, max_attempts, next_attempt_at, is_fallback,
            fallback_of, mention, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $6)
    RETURNING id
)
SELECT id, pg_notify('perfbot_deliveries', '') FROM queued

-- claim_deliveries --
-- Claim up to $3 due deliveries for worker $1, leased for $4 (an interval) from the database's
-- own now(), so every replica measures leases on one clock: pending ones whose time ($2, the
-- bot's clock, which set next_attempt_at) has come, and ones whose lease expired (a worker died
-- or stalled mid-send). A row waits while an earlier row of the same alert and channel is
-- unsent, so every alert's messages reach a channel in order.
UPDATE perfbot.deliveries d
   SET status = 'sending', claimed_by = $1, claimed_until = now() + $4::interval,
       attempts = d.attempts + 1
 WHERE d.id IN (
       SELECT c.id
         FROM perfbot.deliveries c
        WHERE ((c.status = 'pending' AND c.next_attempt_at <= $2)
               OR (c.status = 'sending' AND c.claimed_until < now()))
          AND NOT EXISTS (
              SELECT 1 FROM perfbot.deliveries e
               WHERE e.alert_id = c.alert_id AND e.channel = c.channel AND e.id < c.id
                 AND e.status IN ('pending', 'sending'))
        ORDER BY c.next_attempt_at, c.id
        LIMIT $3
          FOR UPDATE SKIP LOCKED)
RETURNING d.*

-- delivery_sent --
-- Outcome writes ($1 the delivery) hold only while worker $4 still has claim number $5 (its
-- attempt) on the row: a worker whose lease expired and was retaken changes nothing.
UPDATE perfbot.deliveries
   SET status = 'sent', sent_at = $2, last_status = $3, last_error = NULL,
       claimed_by = NULL, claimed_until = NULL
 WHERE id = $1 AND claimed_by = $4 AND attempts = $5 AND status = 'sending'

-- delivery_retry --
-- Back to pending, to be tried again at $2 (guarded by worker $5's claim number $6).
UPDATE perfbot.deliveries
   SET status = 'pending', next_attempt_at = $2, last_error = $3, last_status = $4,
       claimed_by = NULL, claimed_until = NULL
 WHERE id = $1 AND claimed_by = $5 AND attempts = $6 AND status = 'sending'

-- delivery_defer --
-- Not sent and not tried (rate limit, open circuit): back to pending at $2 without using up an
-- attempt (guarded by worker $4's claim number $5).
UPDATE perfbot.deliveries
   SET status = 'pending', next_attempt_at = $2, attempts = greatest(attempts - 1, 0),
       last_error = coalesce($3, last_error), claimed_by = NULL, claimed_until = NULL
 WHERE id = $1 AND claimed_by = $4 AND attempts = $5 AND status = 'sending'

-- has_fallback --
SELECT EXISTS (SELECT 1 FROM perfbot.deliveries WHERE fallback_of = $1)

-- delivery_dead --
-- Given up (guarded by worker $4's claim number $5).
UPDATE perfbot.deliveries
   SET status = 'dead', last_error = $2, last_status = $3, claimed_by = NULL, claimed_until = NULL
 WHERE id = $1 AND claimed_by = $4 AND attempts = $5 AND status = 'sending'

-- release_deliveries --
-- A worker shutting down hands back what it claimed but did not send.
UPDATE perfbot.deliveries
   SET status = 'pending', claimed_by = NULL, claimed_until = NULL, attempts = greatest(attempts - 1, 0)
 WHERE status = 'sending' AND claimed_by = $1

-- next_delivery_due --
-- When the next pending delivery falls due (or an expired claim can be retaken), on the bot's
-- clock ($1 is its now): leases run on the database's clock and are shifted onto it.
SELECT min(CASE WHEN status = 'pending' THEN next_attempt_at
                ELSE $1::timestamptz + (claimed_until - now()) END)
  FROM perfbot.deliveries
 WHERE status IN ('pending', 'sending')

-- delivery_queue_stats --
-- Queue depth by status and the age of the oldest unsent delivery at $1 (seconds), on every
-- /metrics scrape: each part an index scan of a partial index (deliveries_unsent,
-- deliveries_dead), never a scan of the sent rows kept for the retention period.
SELECT (SELECT count(*) FROM perfbot.deliveries WHERE status = 'pending') AS pending,
       (SELECT count(*) FROM perfbot.deliveries WHERE status = 'sending') AS sending,
       (SELECT count(*) FROM perfbot.deliveries WHERE status = 'dead') AS dead,
       extract(epoch FROM $1::timestamptz - (
           SELECT min(created_at) FROM perfbot.deliveries
            WHERE status IN ('pending', 'sending'))) AS oldest_s

-- deliveries_for_alert --
SELECT * FROM perfbot.deliveries WHERE alert_id = $1 ORDER BY id

-- alerts_by_id_nolock --
SELECT * FROM perfbot.alerts WHERE id = ANY($1::bigint[])

-- message_refs --
-- Message references of the given alerts (all channels).
SELECT alert_id, channel, ref FROM perfbot.alert_messages WHERE alert_id = ANY($1::bigint[])

-- save_message_ref --
INSERT INTO perfbot.alert_messages (alert_id, channel, ref, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (alert_id, channel) DO UPDATE SET ref = EXCLUDED.ref, updated_at = EXCLUDED.updated_at


-- insert_silence --
INSERT INTO perfbot.silences (match, reason, created_by, source, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *

-- active_silences --
SELECT * FROM perfbot.silences WHERE ended_at IS NULL AND expires_at > $1 ORDER BY id

-- get_silence --
SELECT * FROM perfbot.silences WHERE id = $1

-- end_silence --
UPDATE perfbot.silences SET ended_at = $2, ended_by = $3 WHERE id = $1 AND ended_at IS NULL
RETURNING *

-- insert_anomalies --
-- Store anomalies, one row per element of the arrays $1..$19 (one array per column, in the
-- column order below), pending alerting when $20 and not already linked to an alert. Rows are
-- inserted in array order, so the ids returned, ascending, match the arrays.
INSERT INTO perfbot.anomalies
       (operation_type, kind, severity, detector, z_score, value_ms, baseline_mean_ms,
        baseline_p99_ms, deviation_pct, degradation_pct, trend_slope, confidence, outliers,
        samples, window_start, window_end, detected_at, alert_id, details, pending)
SELECT operation_type, kind, severity, detector, z_score, value_ms, baseline_mean_ms,
       baseline_p99_ms, deviation_pct, degradation_pct, trend_slope, confidence, outliers,
       samples, window_start, window_end, detected_at, alert_id, details,
       $20::boolean AND alert_id IS NULL
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[],
              $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[],
              $12::float8[], $13::int[], $14::int[], $15::timestamptz[], $16::timestamptz[],
              $17::timestamptz[], $18::bigint[], $19::jsonb[])
       WITH ORDINALITY
       AS u(operation_type, kind, severity, detector, z_score, value_ms, baseline_mean_ms,
            baseline_p99_ms, deviation_pct, degradation_pct, trend_slope, confidence, outliers,
            samples, window_start, window_end, detected_at, alert_id, details, ord)
 ORDER BY ord
RETURNING id

-- advance_watermark --
-- Compare-and-set: move watermark $1 from $2 to $3; returns its name when it moved, nothing
-- when it no longer reads $2 (another cycle moved it first; a racing update waits for that
-- cycle's commit, then finds the new value).
UPDATE perfbot.watermarks SET value = $3, updated_at = now()
 WHERE name = $1 AND value = $2
RETURNING name

-- create_watermark --
-- Set watermark $1 to $2 if it was never set; returns its name, or nothing when another cycle
-- set it first.
INSERT INTO perfbot.watermarks (name, value, updated_at) VALUES ($1, $2, now())
ON CONFLICT (name) DO NOTHING
RETURNING name

-- pending_anomalies --
-- Anomalies not yet through alerting, oldest first, at most $1.
SELECT * FROM perfbot.anomalies WHERE pending ORDER BY detected_at, id LIMIT $1

-- take_anomalies --
-- Take the anomalies $1 (bigint[]) for alerting in the caller's transaction; returns the ids of
-- those still pending (another run that took one first leaves it out).
UPDATE perfbot.anomalies SET pending = false WHERE id = ANY($1::bigint[]) AND pending
RETURNING id

-- anomalies_by_id --
-- The anomalies $1 (bigint[]).
SELECT * FROM perfbot.anomalies WHERE id = ANY($1::bigint[])

-- link_anomalies --
UPDATE perfbot.anomalies SET alert_id = $2 WHERE id = ANY($1::bigint[])

-- latest_degradations_since --
-- The newest degradation anomaly of each operation detected since $1 (what the degradation
-- throttle remembers; the range is read through anomalies_detected_at).
SELECT DISTINCT ON (operation_type) *
  FROM perfbot.anomalies
 WHERE detected_at >= $1 AND kind = 'degradation'
 ORDER BY operation_type, detected_at DESC, id DESC

-- anomalies_since --
-- Anomalies detected since $1, optionally of one operation ($2) and at least severity rank $3
-- (0 INFO, 1 WARNING, 2 CRITICAL), newest first.
SELECT * FROM perfbot.anomalies
 WHERE detected_at >= $1
   AND ($2::text IS NULL OR operation_type = $2)
   AND CASE severity WHEN 'CRITICAL' THEN 2 WHEN 'WARNING' THEN 1 ELSE 0 END >= $3
 ORDER BY detected_at DESC, id DESC
 LIMIT $4

-- operations_with_anomalies_since --
-- Operations with an anomaly of at least WARNING since $1 (the "degraded now" set).
SELECT DISTINCT operation_type FROM perfbot.anomalies
 WHERE detected_at >= $1 AND severity IN ('WARNING', 'CRITICAL')

-- spike_hours_since --
-- Per operation, the starts of the hours (UTC: sessions run in UTC) that the window of a spike
-- (statistical, threshold or combined anomaly) detected since $1 touched. Degradation is judged
-- without them, so a spike is never its own degradation.
SELECT DISTINCT a.operation_type, h.hour
  FROM perfbot.anomalies a
 CROSS JOIN LATERAL generate_series(date_trunc('hour', a.window_start),
                                    date_trunc('hour', a.window_end - interval '1 microsecond'),
                                    interval '1 hour') AS h(hour)
 WHERE a.detected_at >= $1 AND a.kind IN ('statistical', 'threshold', 'combined')


-- insert_correlation --
-- One correlation, pending alerting when $13 and not already linked to an alert ($12).
INSERT INTO perfbot.correlations
       (operation_a, operation_b, r, n, confidence, bottleneck, severity, recommendations,
        window_start, window_end, analyzed_at, alert_id, pending)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::boolean AND $12::bigint IS NULL)
RETURNING id

-- pending_correlations --
-- Correlations not yet through alerting, oldest analysis first.
SELECT * FROM perfbot.correlations WHERE pending ORDER BY analyzed_at, id

-- take_correlations --
-- Take the correlations $1 (bigint[]) for alerting in the caller's transaction; returns the ids
-- of those still pending.
UPDATE perfbot.correlations SET pending = false WHERE id = ANY($1::bigint[]) AND pending
RETURNING id

-- link_correlations --
UPDATE perfbot.correlations SET alert_id = $2 WHERE id = ANY($1::bigint[])

-- correlations_since --
-- The latest analysis of every pair analysed since $1, strongest first.
SELECT * FROM (
    SELECT DISTINCT ON (operation_a, operation_b) *
      FROM perfbot.correlations
     WHERE analyzed_at >= $1
     ORDER BY operation_a, operation_b, analyzed_at DESC
) latest
 ORDER BY r DESC
 LIMIT $2


-- active_baselines --
SELECT * FROM perfbot.baselines WHERE active ORDER BY operation_type

-- active_baselines_version --
-- What names the set of active baselines: rows only turn inactive (never back) and new ones
-- get higher ids, so any change moves the count or the highest id.
SELECT count(*) AS count, coalesce(max(id), 0) AS top FROM perfbot.baselines WHERE active

-- active_baseline --
-- The active baseline of operation $1, if any (one row through baselines_one_active).
SELECT * FROM perfbot.baselines WHERE active AND operation_type = $1

-- deactivate_baseline --
UPDATE perfbot.baselines SET active = false WHERE operation_type = $1 AND active

-- insert_baseline --
INSERT INTO perfbot.baselines
       (operation_type, sample_count, mean_ms, stddev_ms, min_ms, max_ms, p50_ms, p75_ms, p90_ms,
        p95_ms, p99_ms, mad_ms, multiplier, window_start, window_end, computed_at, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, true)
RETURNING id

-- insert_baseline_history --
INSERT INTO perfbot.baseline_history
       (operation_type, old_baseline_id, new_baseline_id, old_p99_ms, new_p99_ms, change_pct,
        sample_count, replaced, reason, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)

-- baseline_history --
SELECT operation_type, old_p99_ms, new_p99_ms, change_pct, sample_count, replaced, reason, created_at
  FROM perfbot.baseline_history
 WHERE ($1::text IS NULL OR operation_type = $1)
 ORDER BY created_at DESC
 LIMIT $2

-- known_operation_names --
-- Which of the names $1 (text[]) are known operations.
SELECT name FROM perfbot.operations WHERE name = ANY($1::text[])

-- all_operation_names --
-- Every known operation name (at most about detection.max_operations of them).
SELECT name FROM perfbot.operations

-- operation_counts --
-- How many operations are known, and how many of them were first seen in the last hour (by
-- the database's clock, the same one that stamps first_seen).
SELECT count(*)::int AS known,
       (count(*) FILTER (WHERE first_seen > now() - interval '1 hour'))::int AS new_last_hour
  FROM perfbot.operations

-- add_operations --
-- Admit the names $1 (text[]), first seen now; names already known stay as they were.
INSERT INTO perfbot.operations (name)
SELECT DISTINCT unnest($1::text[])
ON CONFLICT (name) DO NOTHING

-- unknown_source_operations --
-- Operation names of source rows with recorded_at in [$1, $2) that are not known operations,
-- with how many rows each has and how many of those are at or after $3 (not counted by an
-- earlier refresh); valid says whether the name matches the operation-name pattern $4.
SELECT operation_type AS name, operation_type ~ $4 AS valid, count(*)::bigint AS n,
       (count(*) FILTER (WHERE recorded_at >= $3))::bigint AS fresh
  FROM perfbot.source_metrics
 WHERE source_at >= perfbot.source_lo($1) AND source_at < perfbot.source_hi($2)
   AND recorded_at >= $1 AND recorded_at < $2
   AND NOT EXISTS (SELECT 1 FROM perfbot.operations o WHERE o.name = operation_type)
 GROUP BY operation_type
 ORDER BY count(*) DESC, operation_type

-- add_skipped_source_rows --
-- Count $2 more source rows skipped for reason $1.
INSERT INTO perfbot.skipped_source_rows (reason, rows) VALUES ($1, $2)
ON CONFLICT (reason) DO UPDATE
   SET rows = perfbot.skipped_source_rows.rows + EXCLUDED.rows, last_at = now()

-- skipped_source_rows --
-- Source rows skipped so far, by reason.
SELECT reason, rows FROM perfbot.skipped_source_rows

-- delete_idle_operations --
-- Forget operations first seen before $1 that have no hourly rollups left (after the rollup
-- retention prune), so that max_operations counts the names in use, not every name ever seen.
DELETE FROM perfbot.operations o
 WHERE o.first_seen < $1
   AND NOT EXISTS (SELECT 1 FROM perfbot.rollup_hour r WHERE r.operation_type = o.name)
-- remember_request --
-- Claim a request's key; a row comes back only for the first claim (replays get none).
INSERT INTO perfbot.seen_requests (key, platform, seen_at, expires_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO NOTHING
RETURNING key

-- table_exists --
-- Whether the table $1 (a quoted, schema-qualified name) exists.
SELECT to_regclass($1) IS NOT NULL

-- table_columns --
-- The columns of the existing table $1 (a quoted, schema-qualified name) and their types.
SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type
  FROM pg_attribute a
 WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped

-- unreadable_columns --
-- Which of the columns $2 of the table $1 (a quoted, qualified name) perfbot's role may not read.
SELECT c AS name FROM unnest($2::text[]) c WHERE NOT has_column_privilege($1::regclass, c, 'SELECT')

-- current_user --
SELECT current_user

-- show_timezone --
SELECT current_setting('TimeZone')

-- table_row_estimate --
-- The planner's row estimate of the table $1 (a quoted, qualified name): cheap on any size.
SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)

-- source_newest --
-- The newest source metric's time (through the source's time index).
SELECT recorded_at FROM perfbot.source_metrics ORDER BY source_at DESC LIMIT 1

-- source_failed_since --
-- Failed operations the source recorded since $1 (pgGit shape A's error_details).
SELECT count(*) FROM perfbot.source_failed WHERE recorded_at >= $1

-- last_job_runs --
-- The newest $2 runs of each job named in $1, newest first within each job (index-backed: one
-- short descent of job_runs_job_started per job).
SELECT r.id, r.job, r.slot, r.status, r.owner, r.started_at, r.finished_at, r.duration_ms,
       r.rows, r.error
  FROM unnest($1::text[]) AS j(job),
       LATERAL (SELECT * FROM perfbot.job_runs x
                 WHERE x.job = j.job ORDER BY x.started_at DESC LIMIT $2) r
 ORDER BY r.job, r.started_at DESC

-- get_source_identity --
SELECT identity FROM perfbot.source_identity

-- set_source_identity --
INSERT INTO perfbot.source_identity (identity) VALUES ($1)
ON CONFLICT (singleton) DO UPDATE SET identity = EXCLUDED.identity, changed_at = now()

-- forget_rollups --
-- Rollups built from another source: emptied, with the rollup and detection watermarks and any
-- pending back-fill ranges, so the next refresh rolls up the new source from the start.
TRUNCATE perfbot.rollup_minute, perfbot.rollup_hour, perfbot.rollup_dirty

-- forget_rollup_watermarks --
DELETE FROM perfbot.watermarks WHERE name = ANY($1::text[])

-- retire_baselines --
-- Baselines of another source: no longer active (their history is kept); the next cycle
-- computes fresh ones.
UPDATE perfbot.baselines SET active = false WHERE active

-- late_buckets --
-- Buckets ($3: 'minute' or 'hour') in [$1, $2) where the source now has more rows of known
-- operations than the minute rollups count (rows committed after their minute was rolled up),
-- with both counts.
WITH src AS (
    SELECT date_trunc($3, recorded_at) AS bucket, count(*)::bigint AS n
      FROM perfbot.source_metrics
     WHERE source_at >= perfbot.source_lo($1) AND source_at < perfbot.source_hi($2)
       AND recorded_at >= $1 AND recorded_at < $2
       AND EXISTS (SELECT 1 FROM perfbot.operations o WHERE o.name = operation_type)
     GROUP BY 1
), rolled AS (
    SELECT date_trunc($3, bucket) AS bucket, sum(n)::bigint AS n
      FROM perfbot.rollup_minute WHERE bucket >= $1 AND bucket < $2 GROUP BY 1
)
SELECT src.bucket, src.n AS source_rows, coalesce(rolled.n, 0) AS rolled_rows
  FROM src LEFT JOIN rolled USING (bucket)
 WHERE src.n > coalesce(rolled.n, 0)
 ORDER BY src.bucket

-- add_late_source_rows --
-- Count $1 more source rows found committed late and rolled up.
INSERT INTO perfbot.source_late_rows (rows) VALUES ($1)
ON CONFLICT (singleton) DO UPDATE
   SET rows = perfbot.source_late_rows.rows + EXCLUDED.rows, last_at = now()

-- late_source_rows --
SELECT rows FROM perfbot.source_late_rows

-- operation_named --
-- The known operation named $1, exactly, else case-insensitively (the first by name).
(SELECT name FROM perfbot.operations WHERE name = $1)
UNION ALL
(SELECT name FROM perfbot.operations WHERE lower(name) = lower($1) ORDER BY name LIMIT 1)
LIMIT 1

-- operations_with_prefix --
-- Up to $2 known operation names whose lower-cased name starts with $1 (a lower-cased LIKE
-- prefix with its wildcards escaped), in name order.
SELECT name FROM perfbot.operations WHERE lower(name) LIKE $1 || '%' ORDER BY lower(name) LIMIT $2

-- operations_by_name --
-- The first $1 known operation names in name order.
SELECT name FROM perfbot.operations ORDER BY name LIMIT $1

-- rolled_up_before --
-- Raw metrics recorded before this moment are in the rollups (and so may be pruned): the
-- rollup watermark less the late-arrival grace $1, floored to the minute, and no later than
-- the oldest back-fill range still waiting to be rolled up. Null before the first refresh.
SELECT least(date_trunc('minute', w.value - $1::interval),
             (SELECT min(range_from) FROM perfbot.rollup_dirty))
  FROM perfbot.watermarks w
 WHERE w.name = 'rollup'

-- enable_retention_deletes --
-- For this transaction only: the audit trail's append-only trigger lets retention delete the
-- events of resolved alerts (migration 0006).
SELECT set_config('perfbot.retention', 'on', true)

-- prune_metrics --
-- One batch: the oldest $2 raw metrics recorded before $1 (which the caller keeps behind the
-- rollup watermark) and before any back-fill range still waiting to be rolled up (read in the
-- same snapshot as the rows, so rows ingested meanwhile are never deleted unrolled).
DELETE FROM perfbot.metrics WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.metrics
     WHERE recorded_at < least($1, (SELECT min(range_from) FROM perfbot.rollup_dirty))
     ORDER BY recorded_at
     LIMIT $2))

-- prune_merges --
-- One batch: the oldest $2 merge records started before $1.
DELETE FROM perfbot.merges WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.merges WHERE started_at < $1 ORDER BY started_at LIMIT $2))

-- prune_rollup_minute --
-- One batch: the oldest $2 minute rollups with bucket before $1.
DELETE FROM perfbot.rollup_minute WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM perfbot.rollup_minute
     WHERE bucket < $1 ORDER BY bucket LIMIT $2))

-- prune_rollup_hour --
-- One batch: the oldest $2 hourly rollups with bucket before $1.
DELETE FROM perfbot.rollup_hour WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM perfbot.rollup_hour
     WHERE bucket < $1 ORDER BY bucket LIMIT $2))

-- vacuum_metrics --
-- Plain VACUUM (never FULL: no exclusive lock) after the cleanup deleted raw rows, so the space
-- is reused by the next rows at once instead of when autovacuum next gets to the table. Runs
-- outside a transaction.
VACUUM perfbot.metrics

-- vacuum_rollup_minute --
-- As vacuum_metrics, for the minute rollups.
VACUUM perfbot.rollup_minute

-- vacuum_rollup_hour --
-- As vacuum_metrics, for the hourly rollups.
VACUUM perfbot.rollup_hour

-- prune_anomalies --
-- One batch: the oldest $2 anomalies detected before $1.
DELETE FROM perfbot.anomalies WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.anomalies WHERE detected_at < $1 ORDER BY detected_at LIMIT $2))

-- prune_correlations --
-- One batch: the oldest $2 correlations analysed before $1.
DELETE FROM perfbot.correlations WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.correlations WHERE analyzed_at < $1 ORDER BY analyzed_at LIMIT $2))

-- prune_alerts --
-- One batch: up to $2 alerts resolved before $1, with everything that refers to them: their
-- audit events, anomalies and correlations are deleted here, their deliveries and message
-- references by ON DELETE CASCADE. Never an alert still open or acknowledged, one with a
-- delivery still queued, or the parent of an unresolved alert; an alert locked by a writer is
-- left for the next batch. Needs enable_retention_deletes first in the same transaction.
WITH doomed AS (
    SELECT a.id FROM perfbot.alerts a
     WHERE a.status = 'resolved' AND a.resolved_at < $1
       AND NOT EXISTS (SELECT 1 FROM perfbot.deliveries d
                        WHERE d.alert_id = a.id AND d.status IN ('pending', 'sending'))
       AND NOT EXISTS (SELECT 1 FROM perfbot.alerts c
                        WHERE c.parent_id = a.id AND c.status <> 'resolved')
     ORDER BY a.resolved_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED
), events AS (
    DELETE FROM perfbot.alert_events WHERE alert_id = ANY(ARRAY(SELECT id FROM doomed))
), anomalies AS (
    DELETE FROM perfbot.anomalies WHERE alert_id = ANY(ARRAY(SELECT id FROM doomed))
), correlations AS (
    DELETE FROM perfbot.correlations WHERE alert_id = ANY(ARRAY(SELECT id FROM doomed))
)
DELETE FROM perfbot.alerts WHERE id = ANY(ARRAY(SELECT id FROM doomed))

-- prune_unlinked_alert_events --
-- One batch: the oldest $2 audit events that name no alert, recorded before $1. Needs
-- enable_retention_deletes first in the same transaction.
DELETE FROM perfbot.alert_events WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.alert_events
     WHERE alert_id IS NULL AND at < $1 ORDER BY at LIMIT $2))

-- prune_deliveries --
-- One batch: the oldest $2 sent or dead deliveries created before $1 (pending and sending ones
-- are never deleted). Each deleted row's fallback copies are found by deliveries_fallback_of.
DELETE FROM perfbot.deliveries WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.deliveries
     WHERE status IN ('sent', 'dead') AND created_at < $1
     ORDER BY created_at
     LIMIT $2))

-- prune_silences --
-- One batch: up to $2 silences that ended, or expired, before $1.
DELETE FROM perfbot.silences WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.silences WHERE coalesce(ended_at, expires_at) < $1 LIMIT $2))

-- prune_baseline_history --
-- One batch: the oldest $2 baseline history rows written before $1.
DELETE FROM perfbot.baseline_history WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.baseline_history WHERE created_at < $1 ORDER BY created_at LIMIT $2))

-- prune_baselines --
-- One batch: up to $2 replaced (inactive) baselines computed before $1; history rows that
-- still name one lose the reference (ON DELETE SET NULL, indexed).
DELETE FROM perfbot.baselines WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.baselines WHERE NOT active AND computed_at < $1 LIMIT $2))

-- prune_job_runs --
-- One batch: the oldest $2 job runs started before $1.
DELETE FROM perfbot.job_runs WHERE id = ANY(ARRAY(
    SELECT id FROM perfbot.job_runs
     WHERE started_at < $1 ORDER BY started_at LIMIT $2))

-- prune_seen_requests --
-- One batch: up to $2 seen request keys whose window closed before $1.
DELETE FROM perfbot.seen_requests WHERE key = ANY(ARRAY(
    SELECT key FROM perfbot.seen_requests WHERE expires_at < $1 ORDER BY expires_at LIMIT $2))

-- insert_oncall_override --
-- A new override: schedule $1, person $2, from $3 to $4, created at $5 by $6.
INSERT INTO perfbot.oncall_overrides (schedule, person, starts_at, ends_at, created_at, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *

-- live_oncall_overrides --
-- Overrides not removed that end after $1, of the schedules in $2 (every schedule when null),
-- in the order they were created (a later one wins).
SELECT * FROM perfbot.oncall_overrides
 WHERE removed_at IS NULL AND ends_at > $1 AND ($2::text[] IS NULL OR schedule = ANY($2))
 ORDER BY created_at, id

-- remove_oncall_override --
-- Remove override $1 at $2 by $3 unless it was removed already; the row when it was removed.
UPDATE perfbot.oncall_overrides SET removed_at = $2, removed_by = $3
 WHERE id = $1 AND removed_at IS NULL
RETURNING *

-- invalid_index_exists --
-- Whether schema $1 holds an index named $2 that is INVALID (a concurrent build that failed).
SELECT EXISTS (
    SELECT 1
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = $2 AND NOT i.indisvalid
)

-- claim_shard --
-- Claim shard $3 of job $1's slot $2 for owner $4 until now() + $5 seconds; returns the shard
-- when claimed, nothing when it is done or another owner's lease still runs.
INSERT INTO perfbot.shard_claims (job, slot, shard, owner, lease_until)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
ON CONFLICT (job, slot, shard) DO UPDATE
   SET owner = EXCLUDED.owner, claimed_at = now(), lease_until = EXCLUDED.lease_until,
       attempts = perfbot.shard_claims.attempts + 1
 WHERE perfbot.shard_claims.done_at IS NULL AND perfbot.shard_claims.lease_until < now()
RETURNING shard

-- finish_shard --
-- Mark shard $3 of (job $1, slot $2) done, by owner $4: the holder of the claim, or the replica
-- whose scoring committed (`scored_by`) although its lease ran out and another took the unit
-- over. Returns the shard, or nothing when there was no claim to finish.
UPDATE perfbot.shard_claims
   SET done_at = now()
 WHERE job = $1 AND slot = $2 AND shard = $3 AND done_at IS NULL
   AND (owner = $4 OR scored_by = $4)
RETURNING shard

-- record_shard_score --
-- In the transaction that moves shard $3's watermark: owner $4 scored [$5, $6) of (job $1,
-- slot $2).
UPDATE perfbot.shard_claims
   SET scored_from = $5, scored_to = $6, scored_by = $4
 WHERE job = $1 AND slot = $2 AND shard = $3

-- count_done_shards --
SELECT count(*) FROM perfbot.shard_claims
 WHERE job = $1 AND slot = $2 AND shard >= 0 AND done_at IS NOT NULL

-- delete_shard_claims_before --
DELETE FROM perfbot.shard_claims WHERE slot < $1
