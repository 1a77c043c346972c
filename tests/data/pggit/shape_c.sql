-- pgGit tag v0.5.0: sql/pggit_monitoring.sql (shape C), statements copied as they are.

CREATE SCHEMA IF NOT EXISTS pggit;

CREATE TABLE IF NOT EXISTS pggit.performance_metrics (
    metric_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    metric_type TEXT NOT NULL,
    metric_value NUMERIC NOT NULL,
    tags JSONB DEFAULT '{}'::jsonb,
    recorded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS idx_perf_metrics_type_time
    ON pggit.performance_metrics(metric_type, recorded_at DESC);
