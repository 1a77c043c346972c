-- The ranges rollup rebuilds replaced, in the order they committed (all rebuilds hold the
-- rollup lock). Each process caches recent rollups (bot.store.hour_cache); before its own
-- rebuild it reads the ranges logged since it last looked and forgets only those buckets, where
-- it used to drop its whole minute cache whenever another replica had refreshed (at 10,000
-- operations, two hours of minutes read again every cycle) and never heard of another process's
-- hours rebuilt for late rows or a back-fill. Kept to the last 10,000 rebuilds; a process that
-- fell further behind forgets everything.
CREATE TABLE perfbot.rollup_rebuilds (
    id         bigserial   PRIMARY KEY,
    range_from timestamptz NOT NULL,
    range_to   timestamptz NOT NULL  -- exclusive
);
DELETE FROM perfbot.watermarks WHERE name = 'rollup_rebuilt';
