-- A detection cycle commits its anomalies together with its watermark, as pending; alerting
-- then takes each pending anomaly in the transaction that applies its alert change (and links
-- it), so a failure between the two leaves it pending for the next run and a re-run never counts
-- it twice. Correlations go the same way. `alert_id IS NULL` cannot say "pending": a detection
-- below alerts.min_severity is taken without an alert, and deleting an old alert sets its
-- anomalies' alert_id back to NULL.
-- Existing rows went through alerting when they were detected, hence the constant default
-- (no table rewrite). Their partial indexes are migration 0010 (built CONCURRENTLY).
ALTER TABLE perfbot.anomalies ADD COLUMN pending boolean NOT NULL DEFAULT false;
ALTER TABLE perfbot.correlations ADD COLUMN pending boolean NOT NULL DEFAULT false;
