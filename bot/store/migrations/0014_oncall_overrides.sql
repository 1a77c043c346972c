-- On-call overrides made from chat or the CLI (`/perf override @user 4h [schedule]`): `person`
-- (a people id of the configuration) is on call over `schedule` from `starts_at` to `ends_at`.
-- Removing one stamps `removed_at`/`removed_by`; the row stays for the record. Of several
-- active overrides the later created wins (ordered by created_at, id).
CREATE TABLE perfbot.oncall_overrides (
    id         bigserial   PRIMARY KEY,
    schedule   text        NOT NULL,
    person     text        NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL,
    removed_at timestamptz,
    removed_by text,
    CHECK (ends_at > starts_at)
);
CREATE INDEX oncall_overrides_live ON perfbot.oncall_overrides (schedule, ends_at)
    WHERE removed_at IS NULL;
