-- Retention (issue 14): indexes for every foreign key that is deleted through, and for the
-- cleanup job's batched deletes.
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

CREATE INDEX IF NOT EXISTS deliveries_fallback_of ON perfbot.deliveries (fallback_of)
    WHERE fallback_of IS NOT NULL;
CREATE INDEX IF NOT EXISTS anomalies_alert ON perfbot.anomalies (alert_id);
CREATE INDEX IF NOT EXISTS correlations_alert ON perfbot.correlations (alert_id)
    WHERE alert_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS baseline_history_old ON perfbot.baseline_history (old_baseline_id)
    WHERE old_baseline_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS baseline_history_new ON perfbot.baseline_history (new_baseline_id)
    WHERE new_baseline_id IS NOT NULL;

-- The cleanup job's batches find the oldest rows past their retention by these.
CREATE INDEX IF NOT EXISTS deliveries_finished ON perfbot.deliveries (created_at)
    WHERE status IN ('sent', 'dead');
CREATE INDEX IF NOT EXISTS alerts_resolved_at ON perfbot.alerts (resolved_at)
    WHERE status = 'resolved';
CREATE INDEX IF NOT EXISTS alert_events_unlinked_at ON perfbot.alert_events (at)
    WHERE alert_id IS NULL;
CREATE INDEX IF NOT EXISTS baseline_history_created_at ON perfbot.baseline_history (created_at);
CREATE INDEX IF NOT EXISTS job_runs_started_at ON perfbot.job_runs (started_at);

-- The audit trail stays append-only, except that retention may delete the events of an alert
-- it deletes (resolved, past perfbot.retention.alerts) or unlinked events past it: the cleanup
-- job sets `perfbot.retention = 'on'` for its own transaction only (SET LOCAL). Updates are
-- always refused.
CREATE OR REPLACE FUNCTION perfbot.alert_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('perfbot.retention', true) = 'on'
       AND NOT EXISTS (SELECT 1 FROM perfbot.alerts a
                        WHERE a.id = OLD.alert_id AND a.status <> 'resolved') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'perfbot.alert_events is append-only (% refused)', TG_OP;
END
$$;
