-- perfbot: no-transaction
-- Detection reads the newest minutes of metrics by recorded_at every cycle. A BRIN index
-- returns every not-yet-summarised page range (all recent inserts) as a candidate, so the scan
-- of "the last two minutes" read hundreds of thousands of rows; a btree reads only them.
-- Built CONCURRENTLY (writers go on during the build) under a temporary name, so that the BRIN
-- serves reads until the btree is ready; then the BRIN is dropped and the btree takes its name.
-- Every step is idempotent: a start after a failure halfway runs the file again (an INVALID
-- metrics_recorded_at_btree left by a failed build is dropped and rebuilt by the runner).
-- An earlier text of this file built the same index in a transaction (see
-- migrate.EQUIVALENT_CHECKSUMS).
CREATE INDEX CONCURRENTLY IF NOT EXISTS metrics_recorded_at_btree ON perfbot.metrics (recorded_at);
DROP INDEX CONCURRENTLY IF EXISTS perfbot.metrics_recorded_at;
ALTER INDEX IF EXISTS perfbot.metrics_recorded_at_btree RENAME TO metrics_recorded_at;
