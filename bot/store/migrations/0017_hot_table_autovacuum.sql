-- The tables that churn every day get vacuumed after 2 % of their rows are dead instead of
-- PostgreSQL's default 20 %: raw metrics lose a slice of a day to retention every hour, minute
-- rollups a day's worth a night, the outbox is updated per send. At the default, a table of
-- 8 days of raw rows waits for ~1.5 days of dead rows before it is vacuumed, and the space
-- freed by a cleanup is not reused by the next day's rows (the database keeps growing).
-- Rollups are updated in place each cycle (the streaming minutes, the current hour): pages
-- kept 10 % free let those updates stay on their page (HOT, no index entry, no dead tuple for
-- vacuum); it applies to pages written from now on.
ALTER TABLE perfbot.metrics SET (autovacuum_vacuum_scale_factor = 0.02,
                                 autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE perfbot.rollup_minute SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02,
                                       autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE perfbot.rollup_hour SET (fillfactor = 90, autovacuum_vacuum_scale_factor = 0.02,
                                     autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE perfbot.deliveries SET (autovacuum_vacuum_scale_factor = 0.02,
                                    autovacuum_analyze_scale_factor = 0.02);
