-- How many source rows were found committed late (after their minute was rolled up) and rolled
-- up then; shown in /metrics as perfbot_source_late_rows_total.
CREATE TABLE perfbot.source_late_rows (
    singleton boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    rows      bigint      NOT NULL DEFAULT 0,
    last_at   timestamptz NOT NULL DEFAULT now()
);
