-- What the rollups were built from: the source table, how its rows are read and the time zone of
-- its naive timestamps. When the configured source changes, the store rebuilds rollups and
-- baselines from the new one at start (see SourceRepository.apply); one row at most.
CREATE TABLE perfbot.source_identity (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    identity   text        NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
