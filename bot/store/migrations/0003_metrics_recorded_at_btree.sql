-- Detection reads the newest minutes of metrics by recorded_at every cycle. A BRIN index
-- returns every not-yet-summarised page range (all recent inserts) as a candidate, so the scan
-- of "the last two minutes" read hundreds of thousands of rows; a btree reads only them.
DROP INDEX IF EXISTS perfbot.metrics_recorded_at;
CREATE INDEX metrics_recorded_at ON perfbot.metrics (recorded_at);
