-- Traffic drops (an operation far below its usual request count) and a silent source are
-- anomalies too.
ALTER TABLE perfbot.anomalies DROP CONSTRAINT IF EXISTS anomalies_kind_check;
ALTER TABLE perfbot.anomalies ADD CONSTRAINT anomalies_kind_check
    CHECK (kind IN ('statistical', 'degradation', 'threshold', 'combined', 'traffic_drop', 'source_silent'));
