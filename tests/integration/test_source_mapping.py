"""perfbot reads pgGit's own tables in place through the source views."""

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.errors import ConfigError
from bot.store import Store
from tests import database

PGGIT_SCHEMA = """
CREATE SCHEMA pggit;
CREATE TABLE pggit.performance_metrics (
    metric_id bigserial PRIMARY KEY,
    operation_type text NOT NULL,
    duration_microseconds bigint NOT NULL,
    duration_ms numeric(10,3) NOT NULL,
    user_name text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE pggit.merge_performance_metrics (
    merge_metric_id bigserial PRIMARY KEY,
    source_branch_id integer NOT NULL,
    target_branch_id integer NOT NULL,
    merge_base_calculation_us bigint,
    conflict_detection_us bigint,
    auto_resolution_us bigint,
    total_merge_us bigint NOT NULL,
    conflict_count integer,
    auto_resolution_success_count integer DEFAULT 0,
    auto_resolution_failure_count integer DEFAULT 0,
    merge_status text NOT NULL,
    user_name text NOT NULL,
    started_at timestamptz NOT NULL,
    completed_at timestamptz
);
INSERT INTO pggit.performance_metrics (operation_type, duration_microseconds, duration_ms, user_name, recorded_at)
VALUES ('commit', 5250, 5.250, 'alice', '2026-11-27 10:00:00+00'),
       ('get_history', 12000, 12.000, 'bob', '2026-11-27 10:01:00+00');
INSERT INTO pggit.merge_performance_metrics (source_branch_id, target_branch_id, merge_base_calculation_us,
    conflict_detection_us, auto_resolution_us, total_merge_us, conflict_count,
    auto_resolution_success_count, merge_status, user_name, started_at, completed_at)
VALUES (7, 1, 2000, 30000, 15000, 50000, 2, 2, 'SUCCESS', 'alice', '2026-11-27 10:00:00+00', '2026-11-27 10:00:00.05+00');
"""


async def test_pggit_tables_are_read_in_place(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(PGGIT_SCHEMA)
    await store.source.apply(Settings.load(source={"preset": "pggit"}).source)
    metrics = await database.source_metrics(store, None, 10)
    assert [(m.operation_type, m.duration_ms) for m in metrics] == [
        ("get_history", 12.0),
        ("commit", 5.25),
    ]
    merges = await store.source.merges(
        datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)
    )
    assert len(merges) == 1
    merge = merges[0]
    assert (merge.source_branch, merge.target_branch, merge.status) == ("7", "1", "SUCCESS")
    assert merge.total_ms == pytest.approx(50.0)
    assert merge.conflict_detect_ms == pytest.approx(30.0)
    assert merge.conflicts == 2
    assert merge.auto_resolved == 2
    assert merge.strategy is None


async def test_custom_column_names(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE public.timings (op text, ms real, at timestamptz);"
            "INSERT INTO public.timings VALUES ('commit', 4.5, '2026-11-27 10:00:00+00')"
        )
    source = Settings.load(
        source={
            "table": "public.timings",
            "columns": {"operation_type": "op", "duration_ms": "ms", "recorded_at": "at"},
        }
    ).source
    await store.source.apply(source)
    [metric] = await database.source_metrics(store, "commit", 5)
    assert metric.duration_ms == 4.5


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({"table": "pggit.nothing_here"}, "source.table: table pggit.nothing_here does not exist"),
        (
            {"columns": {"duration_ms": "duration_seconds"}},
            "source.columns: perfbot.metrics has no column 'duration_seconds'",
        ),
        (
            {"columns": {"recorded_at": "operation_type"}},
            "column 'operation_type' of perfbot.metrics is text, not a timestamp",
        ),
    ],
)
async def test_missing_source_objects_are_config_errors(
    store: Store, source: dict, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await store.source.apply(Settings.load(source=source).source)
    assert problem in caught.value.problems[0]
