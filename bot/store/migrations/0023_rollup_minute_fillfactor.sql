-- Minute rollups are written once and rarely updated (a late row of a minute already rolled
-- up): in the soak, 693 updates for 360,920 inserts (0.2 %) over the week of history, 5,347 for
-- 696,080 (0.8 %) a week into the simulated month. The 10 %
-- of every page that 0017 kept free for in-place (HOT) updates therefore stays empty for the
-- 30 days the rows are kept: 10 % of the biggest table that grows with retention. Pages
-- (and index pages) are now filled; the rare update that finds its page full is written to
-- another page, and the cleanup's VACUUM reclaims the old version within the hour. Hourly
-- rollups keep 90: the current hour's rows are rewritten every cycle. Applies to pages written
-- from now on.
ALTER TABLE perfbot.rollup_minute SET (fillfactor = 100);
ALTER INDEX perfbot.rollup_minute_pkey SET (fillfactor = 100);
