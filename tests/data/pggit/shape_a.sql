-- pgGit tag v0.1.0: sql/v1.0.0/phase_1_schema.sql (branches) and
-- sql/v1.0.0/phase7_performance_schema.sql (shape A), statements copied as they are.

CREATE SCHEMA IF NOT EXISTS pggit;

CREATE TABLE pggit.branches (
    branch_id SERIAL PRIMARY KEY,
    branch_name TEXT UNIQUE NOT NULL,
    parent_branch_id INTEGER REFERENCES pggit.branches(branch_id),
    head_commit_hash CHAR(64),
    status TEXT DEFAULT 'ACTIVE',
    branch_type TEXT DEFAULT 'schema-only',
    description TEXT,
    metadata JSONB,
    object_count INTEGER DEFAULT 0,
    modified_objects INTEGER DEFAULT 0,
    storage_bytes BIGINT DEFAULT 0,
    deduplication_ratio NUMERIC(5,2) DEFAULT 100.00,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    merged_by TEXT,
    merged_at TIMESTAMP,
    UNIQUE (branch_name),
    CHECK (status IN ('ACTIVE', 'MERGED', 'DELETED', 'CONFLICTED', 'STALE')),
    CHECK (branch_type IN ('schema-only', 'full', 'temporal', 'compressed'))
);

CREATE INDEX idx_branches_parent_id ON pggit.branches(parent_branch_id);

CREATE INDEX idx_branches_status ON pggit.branches(status);

CREATE INDEX idx_branches_created_at ON pggit.branches(created_at DESC);

CREATE TABLE IF NOT EXISTS pggit.performance_metrics (
    metric_id BIGSERIAL PRIMARY KEY,

    -- Operation identification
    operation_type TEXT NOT NULL,                  -- 'commit', 'merge', 'rollback', etc.
    operation_name TEXT,                          -- Specific operation (e.g., 'merge_main_to_feature')

    -- Timing (microsecond precision)
    duration_microseconds BIGINT NOT NULL,        -- Exact microseconds for precision analysis
    duration_ms NUMERIC(10,3) NOT NULL,           -- Milliseconds (computed from microseconds)
    start_time TIMESTAMP NOT NULL,                -- When operation started
    end_time TIMESTAMP NOT NULL,                  -- When operation ended

    -- Context
    branch_id INTEGER REFERENCES pggit.branches(branch_id) ON DELETE SET NULL,
    user_name TEXT NOT NULL,                      -- WHO performed the operation
    session_id TEXT,                              -- Session tracking for correlation

    -- Resource utilization
    rows_affected INTEGER,                        -- Affected rows (for DML ops)
    memory_bytes BIGINT,                          -- Peak memory usage
    cpu_microseconds BIGINT,                      -- CPU time consumed
    connection_count INTEGER DEFAULT 1,           -- For distributed tracing context

    -- Flexible metadata storage
    operation_metadata JSONB,                     -- {"param1": value, "param2": value, ...}
    error_details JSONB,                          -- If operation failed

    -- Recording
    recorded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    period_start TIMESTAMP NOT NULL,              -- For partitioning by day/month

    -- Data quality & constraints
    CONSTRAINT chk_duration_positive CHECK (duration_microseconds > 0),
    CONSTRAINT chk_duration_consistency CHECK (duration_ms = duration_microseconds::NUMERIC / 1000),
    CONSTRAINT chk_time_order CHECK (start_time < end_time),
    CONSTRAINT chk_user_name_not_empty CHECK (length(trim(user_name)) > 0),
    CONSTRAINT chk_operation_type_not_empty CHECK (length(trim(operation_type)) > 0)
);

CREATE INDEX idx_performance_metrics_operation_type
    ON pggit.performance_metrics(operation_type);

CREATE INDEX idx_performance_metrics_branch_id
    ON pggit.performance_metrics(branch_id)
    WHERE branch_id IS NOT NULL;

CREATE INDEX idx_performance_metrics_recorded_at
    ON pggit.performance_metrics(recorded_at DESC);

CREATE INDEX idx_performance_metrics_period_start
    ON pggit.performance_metrics(period_start DESC);

CREATE INDEX idx_performance_metrics_user_name
    ON pggit.performance_metrics(user_name);

CREATE INDEX idx_performance_metrics_composite
    ON pggit.performance_metrics(operation_type, period_start DESC, duration_microseconds DESC);

CREATE TABLE IF NOT EXISTS pggit.merge_performance_metrics (
    merge_metric_id BIGSERIAL PRIMARY KEY,

    -- Merge identification
    source_branch_id INTEGER NOT NULL REFERENCES pggit.branches(branch_id) ON DELETE CASCADE,
    target_branch_id INTEGER NOT NULL REFERENCES pggit.branches(branch_id) ON DELETE CASCADE,
    merge_base_commit_hash TEXT,

    -- Merge workflow phases
    merge_base_calculation_us BIGINT,             -- Time to find LCA
    conflict_detection_us BIGINT,                 -- Time to identify conflicts
    conflict_count INTEGER,                       -- How many conflicts?
    auto_resolution_us BIGINT,                    -- Time for auto-resolution
    auto_resolution_success_count INTEGER DEFAULT 0,
    auto_resolution_failure_count INTEGER DEFAULT 0,

    -- Total merge time
    total_merge_us BIGINT NOT NULL,

    -- Merge outcome
    merge_status TEXT NOT NULL,                   -- SUCCESS, PARTIAL_SUCCESS, FAILED, ABANDONED
    merge_outcome_details JSONB,

    -- Context
    user_name TEXT NOT NULL,
    session_id TEXT,

    -- Timing
    started_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,

    CONSTRAINT chk_merge_status CHECK (merge_status IN ('SUCCESS', 'PARTIAL_SUCCESS', 'FAILED', 'ABANDONED')),
    CONSTRAINT chk_merge_times CHECK (completed_at IS NULL OR started_at <= completed_at)
);

CREATE INDEX idx_merge_performance_source_branch
    ON pggit.merge_performance_metrics(source_branch_id);

CREATE INDEX idx_merge_performance_target_branch
    ON pggit.merge_performance_metrics(target_branch_id);

CREATE INDEX idx_merge_performance_started_at
    ON pggit.merge_performance_metrics(started_at DESC);

CREATE INDEX idx_merge_performance_merge_status
    ON pggit.merge_performance_metrics(merge_status);
