-- The source views gain `source_at`, the source's time column as stored, so that the
-- incremental scan's predicate on it can use the source table's own index (a cast to timestamptz
-- in the predicate cannot); `perfbot.source_lo`/`source_hi` turn the scan's instants into that
-- column's type. The store re-creates all of them from `source:` at every start; these are the
-- defaults over perfbot's own tables (timestamptz, so the bounds are the instants themselves).
-- `perfbot.source_failed` holds the source's failed operations (pgGit's error_details), counted
-- apart from the latencies; perfbot's own table has none.
CREATE OR REPLACE VIEW perfbot.source_metrics AS
    SELECT operation_type, duration_ms, recorded_at, recorded_at AS source_at FROM perfbot.metrics;
CREATE VIEW perfbot.source_failed AS
    SELECT operation_type, recorded_at FROM perfbot.metrics WHERE false;
CREATE FUNCTION perfbot.source_lo(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT t';
CREATE FUNCTION perfbot.source_hi(t timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT t';
