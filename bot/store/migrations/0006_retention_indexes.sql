-- perfbot: no-transaction
-- Retention (issue 14): indexes for every foreign key that is deleted through, and for the
-- cleanup job's batched deletes. Built CONCURRENTLY (the outbox and alert tables may be large
-- and written to meanwhile); the audit trail's trigger change is migration 0009.
--
-- PostgreSQL checks a foreign key from the referencing side: deleting one referenced row runs
-- `UPDATE … SET col = NULL WHERE col = $1` (or DELETE, or a RESTRICT probe) on the referencing
-- table. Without an index on that column, every deleted row scans the whole referencing table,
-- and a nightly cleanup of N rows costs N full scans (20,000 of 40,000 outbox rows took 83 s).
-- Audit of perfbot's foreign keys (referencing column → referenced table, index):
--   deliveries.fallback_of       → deliveries   SET NULL  deliveries_fallback_of (new)
--   deliveries.alert_id          → alerts       CASCADE   deliveries_alert_channel (0001)
--   alert_messages.alert_id      → alerts       CASCADE   its primary key (0001)
--   alert_events.alert_id        → alerts       RESTRICT  alert_events_alert (0001)
--   alerts.parent_id             → alerts       SET NULL  alerts_parent (0001)
--   anomalies.alert_id           → alerts       SET NULL  anomalies_alert (new)
--   correlations.alert_id        → alerts       SET NULL  correlations_alert (new)
--   baseline_history.old_baseline_id → baselines SET NULL baseline_history_old (new)
--   baseline_history.new_baseline_id → baselines SET NULL baseline_history_new (new)
-- tests/integration/test_retention_indexes.py keeps this audit true for later migrations.

CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_fallback_of ON perfbot.deliveries (fallback_of)
    WHERE fallback_of IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS anomalies_alert ON perfbot.anomalies (alert_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS correlations_alert ON perfbot.correlations (alert_id)
    WHERE alert_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS baseline_history_old ON perfbot.baseline_history (old_baseline_id)
    WHERE old_baseline_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS baseline_history_new ON perfbot.baseline_history (new_baseline_id)
    WHERE new_baseline_id IS NOT NULL;

-- The cleanup job's batches find the oldest rows past their retention by these.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_finished ON perfbot.deliveries (created_at)
    WHERE status IN ('sent', 'dead');
CREATE INDEX CONCURRENTLY IF NOT EXISTS alerts_resolved_at ON perfbot.alerts (resolved_at)
    WHERE status = 'resolved';
CREATE INDEX CONCURRENTLY IF NOT EXISTS alert_events_unlinked_at ON perfbot.alert_events (at)
    WHERE alert_id IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS baseline_history_created_at ON perfbot.baseline_history (created_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS job_runs_started_at ON perfbot.job_runs (started_at);
