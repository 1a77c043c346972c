-- Rollup histograms in one packed bytea column, `hist`, instead of two arrays (`hist_idx`
-- smallint[], `hist_cnt` integer[]): a byte w, the width of every count (1 if n < 256, 2 if
-- n < 65,536, else 4), then per non-empty bucket, in bucket order, its index (2 bytes) and
-- count (w bytes), big-endian (`bot.analysis.histogram.pack`). A minute of 20 requests over 14
-- buckets took 132 bytes in the arrays (two 24-byte headers, 2 + 4 bytes an entry) and takes
-- 43 now: the minute rollups, kept 30 days, are the table that grows with retention (in the soak
-- about 300 bytes a row with its index, 14.5 MB a simulated day at 33 operations).
-- Each table is rewritten twice, under its exclusive lock (the bot waits for it): once to pack
-- the arrays, once more to drop the bytes of the dropped column from every row.
CREATE FUNCTION perfbot.hist_pack_0027(n integer, i smallint[], c integer[]) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT substring(int4send(w) FROM 4)
           || string_agg(int2send(u.i) || substring(int4send(u.c) FROM 5 - w), ''::bytea
                         ORDER BY u.i)
      FROM (SELECT CASE WHEN n < 256 THEN 1 WHEN n < 65536 THEN 2 ELSE 4 END AS w) widths,
           unnest(i, c) AS u(i, c)
     GROUP BY w
$$;

ALTER TABLE perfbot.rollup_minute
    ALTER COLUMN hist_idx TYPE bytea USING perfbot.hist_pack_0027(n, hist_idx, hist_cnt);
ALTER TABLE perfbot.rollup_minute DROP COLUMN hist_cnt;
ALTER TABLE perfbot.rollup_minute RENAME COLUMN hist_idx TO hist;
ALTER TABLE perfbot.rollup_minute ALTER COLUMN hist TYPE bytea USING hist || ''::bytea;

ALTER TABLE perfbot.rollup_hour
    ALTER COLUMN hist_idx TYPE bytea USING perfbot.hist_pack_0027(n, hist_idx, hist_cnt);
ALTER TABLE perfbot.rollup_hour DROP COLUMN hist_cnt;
ALTER TABLE perfbot.rollup_hour RENAME COLUMN hist_idx TO hist;
ALTER TABLE perfbot.rollup_hour ALTER COLUMN hist TYPE bytea USING hist || ''::bytea;

DROP FUNCTION perfbot.hist_pack_0027(integer, smallint[], integer[]);
