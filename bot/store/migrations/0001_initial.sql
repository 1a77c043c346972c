-- perfbot's schema. Event time is always recorded_at; every timestamp is timestamptz (UTC).
-- Durations of operations are milliseconds in double precision.

CREATE SCHEMA IF NOT EXISTS perfbot;

-- Metrics perfbot ingests itself (CSV, JSON API, the demo). A pgGit database can instead be read
-- in place through the perfbot.source_metrics view (see source mapping in the store).
CREATE TABLE perfbot.metrics (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_type text             NOT NULL CHECK (operation_type <> ''),
    duration_ms    double precision NOT NULL CHECK (duration_ms >= 0 AND duration_ms < 'Infinity'),
    recorded_at    timestamptz      NOT NULL,
    branch         text,
    user_name      text
);
CREATE INDEX metrics_recorded_at ON perfbot.metrics USING brin (recorded_at);
CREATE INDEX metrics_operation_recorded_at ON perfbot.metrics (operation_type, recorded_at);

-- pgGit merge records.
CREATE TABLE perfbot.merges (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merge_id           text,
    source_branch      text        NOT NULL,
    target_branch      text        NOT NULL,
    status             text        NOT NULL
        CHECK (status IN ('SUCCESS', 'PARTIAL_SUCCESS', 'FAILED', 'ABANDONED', 'CONFLICT')),
    strategy           text,
    conflicts          integer     NOT NULL DEFAULT 0 CHECK (conflicts >= 0),
    auto_resolved      integer     NOT NULL DEFAULT 0 CHECK (auto_resolved >= 0),
    auto_failed        integer     NOT NULL DEFAULT 0 CHECK (auto_failed >= 0),
    base_find_ms       double precision CHECK (base_find_ms >= 0),
    conflict_detect_ms double precision CHECK (conflict_detect_ms >= 0),
    auto_resolve_ms    double precision CHECK (auto_resolve_ms >= 0),
    total_ms           double precision NOT NULL CHECK (total_ms >= 0),
    started_at         timestamptz NOT NULL,
    completed_at       timestamptz,
    user_name          text
);
CREATE INDEX merges_started_at ON perfbot.merges (started_at);

-- The views every detection query reads. Migrations point them at perfbot's own tables; the
-- store re-creates them from `source:` in the configuration (e.g. pggit.performance_metrics).
CREATE VIEW perfbot.source_metrics AS
    SELECT operation_type, duration_ms, recorded_at FROM perfbot.metrics;
CREATE VIEW perfbot.source_merges AS
    SELECT merge_id, source_branch, target_branch, status, strategy, conflicts, auto_resolved,
           auto_failed, base_find_ms, conflict_detect_ms, auto_resolve_ms, total_ms, started_at,
           completed_at, user_name
      FROM perfbot.merges;

-- Per-minute and per-hour rollups of the source metrics. Moments (n, sum, m2 = sum of squared
-- deviations from the bucket mean) in ms and in ln(ms), extremes, and a sparse log-bucket
-- histogram (bucket index → count; see bot.analysis.histogram) for quantiles.
CREATE TABLE perfbot.rollup_minute (
    operation_type text             NOT NULL,
    bucket         timestamptz      NOT NULL,
    n              integer          NOT NULL CHECK (n > 0),
    sum_ms         double precision NOT NULL,
    m2_ms          double precision NOT NULL,
    sum_log        double precision NOT NULL,
    m2_log         double precision NOT NULL,
    min_ms         double precision NOT NULL,
    max_ms         double precision NOT NULL,
    hist_idx       smallint[]       NOT NULL,
    hist_cnt       integer[]        NOT NULL,
    PRIMARY KEY (bucket, operation_type)
);
CREATE TABLE perfbot.rollup_hour (LIKE perfbot.rollup_minute INCLUDING ALL);

-- Time ranges whose rollups must be recomputed because rows arrived late (a CSV backfill).
CREATE TABLE perfbot.rollup_dirty (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    range_from timestamptz NOT NULL,
    range_to   timestamptz NOT NULL CHECK (range_to >= range_from),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Named progress markers (rollups refreshed up to, detection evaluated up to).
CREATE TABLE perfbot.watermarks (
    name       text PRIMARY KEY,
    value      timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE perfbot.baselines (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_type text             NOT NULL,
    sample_count   integer          NOT NULL CHECK (sample_count > 0),
    mean_ms        double precision NOT NULL,
    stddev_ms      double precision NOT NULL,
    min_ms         double precision NOT NULL,
    max_ms         double precision NOT NULL,
    p50_ms         double precision NOT NULL,
    p75_ms         double precision NOT NULL,
    p90_ms         double precision NOT NULL,
    p95_ms         double precision NOT NULL,
    p99_ms         double precision NOT NULL,
    mad_ms         double precision,
    multiplier     double precision NOT NULL CHECK (multiplier > 0),
    window_start   timestamptz      NOT NULL,
    window_end     timestamptz      NOT NULL,
    computed_at    timestamptz      NOT NULL,
    active         boolean          NOT NULL DEFAULT true,
    CHECK (p50_ms <= p75_ms AND p75_ms <= p90_ms AND p90_ms <= p95_ms AND p95_ms <= p99_ms)
);
CREATE UNIQUE INDEX baselines_one_active ON perfbot.baselines (operation_type) WHERE active;

CREATE TABLE perfbot.baseline_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_type  text             NOT NULL,
    old_baseline_id bigint REFERENCES perfbot.baselines (id) ON DELETE SET NULL,
    new_baseline_id bigint REFERENCES perfbot.baselines (id) ON DELETE SET NULL,
    old_p99_ms      double precision,
    new_p99_ms      double precision NOT NULL,
    change_pct      double precision,
    sample_count    integer          NOT NULL,
    replaced        boolean          NOT NULL,
    reason          text             NOT NULL CHECK (reason IN ('first', 'scheduled', 'manual', 'force')),
    created_at      timestamptz      NOT NULL
);
CREATE INDEX baseline_history_operation ON perfbot.baseline_history (operation_type, created_at);

CREATE TABLE perfbot.alerts (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint        text        NOT NULL,
    kind               text        NOT NULL,
    severity           text        NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    status             text        NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    operation_types    text[]      NOT NULL,
    bottleneck         text,
    title              text        NOT NULL,
    summary            text        NOT NULL,
    details            jsonb       NOT NULL DEFAULT '{}',
    first_seen         timestamptz NOT NULL,
    last_seen          timestamptz NOT NULL,
    occurrences        integer     NOT NULL DEFAULT 1,
    acknowledged_by    text,
    acknowledged_at    timestamptz,
    ack_severity       text,
    resolved_at        timestamptz,
    resolved_by        text,
    parent_id          bigint REFERENCES perfbot.alerts (id) ON DELETE SET NULL,
    silence_id         bigint,
    plan               jsonb       NOT NULL,
    escalation_step    integer     NOT NULL DEFAULT 0,
    next_escalation_at timestamptz,
    version            integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
-- One open (or acknowledged) alert per fingerprint: repeats update it.
CREATE UNIQUE INDEX alerts_one_open_per_fingerprint ON perfbot.alerts (fingerprint)
    WHERE status <> 'resolved';
CREATE INDEX alerts_due_escalation ON perfbot.alerts (next_escalation_at)
    WHERE status = 'open' AND next_escalation_at IS NOT NULL;
CREATE INDEX alerts_status_last_seen ON perfbot.alerts (status, last_seen);
CREATE INDEX alerts_operation_types ON perfbot.alerts USING gin (operation_types);
CREATE INDEX alerts_parent ON perfbot.alerts (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE perfbot.anomalies (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_type   text        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('statistical', 'degradation', 'threshold', 'combined')),
    severity         text        NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    detector         text        NOT NULL,
    z_score          double precision,
    value_ms         double precision,
    baseline_mean_ms double precision,
    baseline_p99_ms  double precision,
    deviation_pct    double precision,
    degradation_pct  double precision,
    trend_slope      double precision,
    confidence       double precision,
    outliers         integer     NOT NULL DEFAULT 0,
    samples          integer     NOT NULL DEFAULT 0,
    window_start     timestamptz NOT NULL,
    window_end       timestamptz NOT NULL,
    detected_at      timestamptz NOT NULL,
    alert_id         bigint REFERENCES perfbot.alerts (id) ON DELETE SET NULL,
    details          jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX anomalies_detected_at ON perfbot.anomalies (detected_at);
CREATE INDEX anomalies_operation_detected_at ON perfbot.anomalies (operation_type, detected_at);

CREATE TABLE perfbot.correlations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_a     text             NOT NULL,
    operation_b     text             NOT NULL,
    r               double precision NOT NULL CHECK (r BETWEEN -1 AND 1),
    n               integer          NOT NULL,
    confidence      double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    bottleneck      text             NOT NULL,
    severity        text             NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    recommendations text[]           NOT NULL,
    window_start    timestamptz      NOT NULL,
    window_end      timestamptz      NOT NULL,
    analyzed_at     timestamptz      NOT NULL,
    alert_id        bigint REFERENCES perfbot.alerts (id) ON DELETE SET NULL,
    CHECK (operation_a < operation_b)
);
CREATE INDEX correlations_analyzed_at ON perfbot.correlations (analyzed_at);
CREATE INDEX correlations_pair ON perfbot.correlations (operation_a, operation_b, analyzed_at);

-- Append-only audit trail: who did what to which alert, when, from where.
CREATE TABLE perfbot.alert_events (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id bigint REFERENCES perfbot.alerts (id) ON DELETE RESTRICT,
    at       timestamptz NOT NULL,
    actor    text        NOT NULL,
    source   text        NOT NULL CHECK (source IN ('slack', 'mattermost', 'console', 'cli', 'api', 'system')),
    action   text        NOT NULL,
    details  jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON perfbot.alert_events (alert_id, at);

CREATE FUNCTION perfbot.alert_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'perfbot.alert_events is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER alert_events_append_only BEFORE UPDATE OR DELETE ON perfbot.alert_events
    FOR EACH ROW EXECUTE FUNCTION perfbot.alert_events_append_only();

-- The outbox: one row per message to one channel about one alert event.
CREATE TABLE perfbot.deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id        bigint      NOT NULL REFERENCES perfbot.alerts (id) ON DELETE CASCADE,
    channel         text        NOT NULL,
    event           text        NOT NULL,
    severity        text        NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    status          text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL CHECK (max_attempts > 0),
    next_attempt_at timestamptz NOT NULL,
    claimed_by      text,
    claimed_until   timestamptz,
    is_fallback     boolean     NOT NULL DEFAULT false,
    fallback_of     bigint REFERENCES perfbot.deliveries (id) ON DELETE SET NULL,
    mention         text[]      NOT NULL DEFAULT '{}',
    last_error      text,
    last_status     integer,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE INDEX deliveries_due ON perfbot.deliveries (next_attempt_at)
    WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_alert_channel ON perfbot.deliveries (alert_id, channel, id);
CREATE INDEX deliveries_dead ON perfbot.deliveries (created_at) WHERE status = 'dead';

-- Where each alert's message lives on each channel, so later events edit it in place
-- (Slack channel + ts, Mattermost post id, email Message-ID, PagerDuty dedup key).
CREATE TABLE perfbot.alert_messages (
    alert_id   bigint      NOT NULL REFERENCES perfbot.alerts (id) ON DELETE CASCADE,
    channel    text        NOT NULL,
    ref        jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (alert_id, channel)
);

CREATE TABLE perfbot.silences (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    match      jsonb       NOT NULL,
    reason     text,
    created_by text        NOT NULL,
    source     text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    ended_at   timestamptz,
    ended_by   text
);
CREATE INDEX silences_active ON perfbot.silences (expires_at) WHERE ended_at IS NULL;

-- One row per scheduled run; UNIQUE (job, slot) makes N replicas run each slot once.
CREATE TABLE perfbot.job_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text        NOT NULL,
    slot        timestamptz NOT NULL,
    status      text        NOT NULL CHECK (status IN ('running', 'success', 'failed')),
    owner       text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    duration_ms double precision,
    rows        integer,
    error       text,
    UNIQUE (job, slot)
);
CREATE INDEX job_runs_job_started ON perfbot.job_runs (job, started_at DESC);
