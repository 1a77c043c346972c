-- perfbot: no-transaction
-- The pending findings of migration 0007: partial indexes as small as the alerting backlog,
-- built CONCURRENTLY (detection goes on writing anomalies meanwhile).
CREATE INDEX CONCURRENTLY IF NOT EXISTS anomalies_pending ON perfbot.anomalies (detected_at, id)
    WHERE pending;
CREATE INDEX CONCURRENTLY IF NOT EXISTS correlations_pending
    ON perfbot.correlations (analyzed_at, id) WHERE pending;
