-- perfbot: no-transaction
-- /metrics (every scrape) and /perf status count the outbox by status and find its oldest unsent
-- row. Counting over the whole table read every sent row kept for the retention period; this
-- partial index holds only the unsent rows (a handful when all is well), so the counts and the
-- oldest one are index scans of it whatever the history. Dead rows are counted through
-- deliveries_dead (0001), sent ones never. Built CONCURRENTLY: the outbox keeps taking rows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_unsent
    ON perfbot.deliveries (status, created_at)
    WHERE status IN ('pending', 'sending');
