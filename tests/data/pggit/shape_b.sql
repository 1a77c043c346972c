-- pgGit main branch (tag v0.2.1): sql/017_performance_monitoring.sql (shape B),
-- statements copied as they are.

CREATE SCHEMA IF NOT EXISTS pggit;

CREATE TABLE IF NOT EXISTS pggit.performance_metrics (
    metric_id UUID DEFAULT gen_random_uuid() PRIMARY KEY,
    operation_type TEXT NOT NULL, -- 'branch_create', 'merge', 'migration', 'ai_analysis', etc.
    operation_name TEXT NOT NULL,
    started_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP,
    completed_at TIMESTAMP(6),
    duration_ms DECIMAL(10,3),
    cpu_time_ms DECIMAL(10,3),
    io_time_ms DECIMAL(10,3),
    rows_affected BIGINT,
    memory_used_mb DECIMAL(10,2),
    cache_hits INT,
    cache_misses INT,
    query_plan JSONB,
    context JSONB DEFAULT '{}'::JSONB
);

CREATE INDEX IF NOT EXISTS idx_perf_metrics_started 
ON pggit.performance_metrics(started_at DESC);

CREATE INDEX IF NOT EXISTS idx_perf_metrics_operation 
ON pggit.performance_metrics(operation_type, started_at DESC);

CREATE INDEX IF NOT EXISTS idx_perf_metrics_duration 
ON pggit.performance_metrics(duration_ms DESC) 
WHERE duration_ms > 100;
