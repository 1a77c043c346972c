"""`preset: pggit` against each shape of `pggit.performance_metrics` pgGit has shipped, installed
from pgGit's own DDL (tests/data/pggit), with rows written the way pgGit writes them: naive
`CURRENT_TIMESTAMP` values in the writer's session time zone, which is not UTC."""

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import yaml

from bot.config import Settings
from bot.errors import ConfigError
from bot.store import Store
from bot.store.queries import QUERIES
from bot.store.rollups import MINUTE
from tests.database import admin_execute, source_metrics, unique_name

DDL = Path(__file__).parent.parent / "data" / "pggit"
NEW_YORK = "America/New_York"
T0 = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 10:00 in New York


async def install(store: Store, shape: str, *, writer_tz: str = NEW_YORK) -> None:
    """pgGit's tables of `shape`, and the database's TimeZone set as a pgGit install has it."""
    async with store.connector.pool.acquire() as conn:
        await conn.execute((DDL / f"shape_{shape}.sql").read_text())
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f"ALTER DATABASE {database} SET timezone = '{writer_tz}'")


async def write(store: Store, statement: str, *args: object, tz: str = NEW_YORK) -> None:
    """Run `statement` as a pgGit writer would: in a session whose TimeZone is `tz`. `$1` of the
    statement is an instant the writer's CURRENT_TIMESTAMP would be, turned into the naive
    local time pgGit stores."""
    async with store.connector.pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SET LOCAL timezone = '{tz}'")
        await conn.execute(statement, *args)


SHAPE_A_ROW = """
INSERT INTO pggit.performance_metrics (operation_type, duration_microseconds, duration_ms,
    start_time, end_time, user_name, error_details, recorded_at, period_start)
SELECT $2, $3::bigint, $3::bigint::numeric / 1000, $1::timestamptz::timestamp - interval '1 second',
       $1::timestamptz::timestamp, 'alice', $4::jsonb, $1::timestamptz::timestamp,
       date_trunc('day', $1::timestamptz)::timestamp
"""
SHAPE_B_ROW = """
INSERT INTO pggit.performance_metrics (operation_type, operation_name, started_at, completed_at,
    duration_ms)
SELECT $2, $2, $1::timestamptz::timestamp, $1::timestamptz::timestamp, $3::bigint::numeric / 1000
"""
SHAPE_C_ROW = """
INSERT INTO pggit.performance_metrics (metric_type, metric_value, recorded_at)
SELECT $2, $3::bigint::numeric / 1000, $1::timestamptz::timestamp
"""


async def rollup_counts(
    store: Store, start: datetime, end: datetime
) -> Counter[tuple[str, datetime]]:
    await store.rollups.refresh(end, initial_backfill=end - start)
    await store.rollups.backfill()
    rollups = await store.rollups.between("minute", start, end)
    counts: Counter[tuple[str, datetime]] = Counter()
    async with store.connector.pool.acquire() as conn:
        for r in await conn.fetch(
            "SELECT operation_type, bucket, n FROM perfbot.rollup_minute WHERE bucket >= $1 AND bucket < $2",
            start,
            end,
        ):
            counts[(r["operation_type"], r["bucket"])] = r["n"]
    assert len(rollups.operations) == len({op for op, _ in counts})
    return counts


async def test_shape_a_reads_local_times_keeps_failures_apart_and_names_branches(
    store: Store,
) -> None:
    await install(store, "a")
    for minute in range(3):
        for i in range(4):
            at = T0 + timedelta(minutes=minute, seconds=10 * i)
            await write(store, SHAPE_A_ROW, at, "commit", 5000 + i, None)
    await write(store, SHAPE_A_ROW, T0, "commit", 900_000, '{"error": "lock timeout"}')
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO pggit.branches (branch_id, branch_name, created_by) VALUES "
            "(1, 'main', 'alice'), (6, 'feature/login', 'bob')"
        )
    await write(
        store,
        """INSERT INTO pggit.merge_performance_metrics (source_branch_id, target_branch_id,
               total_merge_us, conflict_detection_us, merge_status, user_name, started_at)
           VALUES (6, 1, 50000, 30000, 'SUCCESS', 'alice', $1::timestamptz::timestamp)""",
        T0,
    )
    layout = await store.source.apply(Settings.load(source={"preset": "pggit"}).source)
    assert "shape A" in layout.metrics.shape
    assert layout.metrics.timezone == NEW_YORK

    metrics = await source_metrics(store, "commit", 100)
    assert len(metrics) == 12  # the failed one is not a latency
    assert min(m.recorded_at for m in metrics) == T0
    counts = await rollup_counts(store, T0 - MINUTE, T0 + 5 * MINUTE)
    assert counts == {("commit", T0 + k * MINUTE): 4 for k in range(3)}
    async with store.connector.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM perfbot.source_failed") == 1

    [merge] = await store.source.merges(T0 - MINUTE, T0 + MINUTE)
    assert (merge.source_branch, merge.target_branch) == ("feature/login", "main")
    assert merge.started_at == T0
    assert merge.conflict_detect_ms == pytest.approx(30.0)


async def test_shape_b_is_timed_by_started_at_and_has_no_merges(store: Store) -> None:
    await install(store, "b")
    for i in range(5):
        await write(store, SHAPE_B_ROW, T0 + timedelta(seconds=i), "branch_create", 2000)
    await write(  # an operation still running: no duration yet
        store,
        "INSERT INTO pggit.performance_metrics (operation_type, operation_name) VALUES ('merge', 'm')",
    )
    layout = await store.source.apply(Settings.load(source={"preset": "pggit"}).source)
    assert "shape B" in layout.metrics.shape
    assert layout.merges is None
    counts = await rollup_counts(store, T0 - MINUTE, T0 + 2 * MINUTE)
    assert counts == {("branch_create", T0): 5}
    assert await store.source.merges(T0 - MINUTE, T0 + MINUTE) == []


async def test_shape_c_reads_only_duration_types(store: Store) -> None:
    await install(store, "c")
    for i in range(3):
        await write(store, SHAPE_C_ROW, T0 + timedelta(seconds=i), "ddl_tracking_ms", 7000)
    await write(store, SHAPE_C_ROW, T0, "objects_tracked", 42_000)  # a count, not a latency
    layout = await store.source.apply(Settings.load(source={"preset": "pggit"}).source)
    assert "shape C" in layout.metrics.shape
    [metric, *_] = await source_metrics(store, None, 10)
    assert (metric.operation_type, metric.duration_ms) == ("ddl_tracking", 7.0)
    counts = await rollup_counts(store, T0 - MINUTE, T0 + 2 * MINUTE)
    assert counts == {("ddl_tracking", T0): 3}


async def test_a_configured_time_zone_wins_over_the_database_default(store: Store) -> None:
    await install(store, "b", writer_tz="UTC")
    await write(store, SHAPE_B_ROW, T0, "commit", 1000, tz="Europe/Paris")
    await store.source.apply(
        Settings.load(source={"preset": "pggit", "timezone": "Europe/Paris"}).source
    )
    [metric] = await source_metrics(store, None, 10)
    assert metric.recorded_at == T0


@pytest.mark.parametrize(
    ("shape", "row", "operation"),
    [("a", SHAPE_A_ROW, "commit"), ("b", SHAPE_B_ROW, "commit"), ("c", SHAPE_C_ROW, "commit_ms")],
)
async def test_the_incremental_scan_uses_the_source_index(
    store: Store, shape: str, row: str, operation: str
) -> None:
    await install(store, shape)
    async with store.connector.pool.acquire() as conn:
        # 10 days of history, a row a minute, as pgGit would have written it
        await conn.execute(f"SET timezone = '{NEW_YORK}'")
        for day in range(10):
            start = T0 - timedelta(days=day + 1)
            extra: tuple[None, ...] = (None,) if shape == "a" else ()  # no error_details
            await conn.executemany(
                row,
                [(start + timedelta(minutes=m), operation, 1000 + m, *extra) for m in range(1440)],
            )
        await conn.execute("RESET timezone")
        await conn.execute("ANALYZE pggit.performance_metrics")
    await store.source.apply(Settings.load(source={"preset": "pggit"}).source)
    async with store.connector.pool.acquire() as conn:
        plan = "\n".join(
            r[0]
            for r in await conn.fetch(
                "EXPLAIN " + QUERIES["unknown_source_operations"],
                T0 - 2 * MINUTE,
                T0,
                T0,
                ".*",
            )
        )
    assert "Seq Scan on performance_metrics" not in plan, plan
    assert "Index" in plan, plan


def as_user(url: str, user: str) -> str:
    """`url` logging in as `user` (trust authentication, as on the test servers)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("user", "password")])
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, query, parts.fragment))


@pytest.mark.parametrize(
    ("grant", "denied"),
    [
        ("", "operation_type, duration_ms, started_at"),
        (
            "GRANT SELECT (operation_type, duration_ms) ON pggit.performance_metrics TO {role}",
            "started_at",
        ),
    ],
)
async def test_a_missing_select_grant_is_named(
    store: Store, db_url: str, grant: str, denied: str
) -> None:
    await install(store, "b")
    role = unique_name("reader")
    await admin_execute(
        db_url,
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA pggit TO {role}",
        *([grant.format(role=role)] if grant else []),
    )
    try:
        reader = await Store.open(as_user(db_url, role))
        try:
            with pytest.raises(ConfigError) as caught:
                await reader.source.inspect(Settings.load(source={"preset": "pggit"}).source)
        finally:
            await reader.close()
        problem = caught.value.problems[0]
        assert f"may not read pggit.performance_metrics ({denied})" in problem
        assert f'GRANT SELECT ON pggit.performance_metrics TO "{role}";' in problem
    finally:
        await admin_execute(db_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


async def test_an_unknown_table_shape_is_a_clear_error(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute("CREATE SCHEMA pggit; CREATE TABLE pggit.performance_metrics (x int)")
    with pytest.raises(ConfigError) as caught:
        await store.source.apply(Settings.load(source={"preset": "pggit"}).source)
    assert "matches none of the pgGit shapes" in caught.value.problems[0]


async def test_a_source_without_merges(store: Store) -> None:
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE public.timings (op text, ms real, at timestamp);"
            "INSERT INTO public.timings VALUES ('commit', 4.5, '2026-11-27 10:00:00')"
        )
    source = Settings.load(
        source={
            "table": "public.timings",
            "columns": {"operation_type": "op", "duration_ms": "ms", "recorded_at": "at"},
            "merges_table": None,
            "timezone": NEW_YORK,
        }
    ).source
    layout = await store.source.apply(source)
    assert layout.merges is None
    [metric] = await source_metrics(store, None, 5)
    assert metric.recorded_at == T0


def test_shapes_are_installed_from_pggit_sources() -> None:
    for shape in "abc":
        assert "statements copied as they are" in (DDL / f"shape_{shape}.sql").read_text()


async def test_config_check_connect_reports_the_shape_and_changes_nothing(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    await install(store, "b")
    config = tmp_path / "perfbot.yml"
    config.write_text("source: {preset: pggit}\n")
    env = {**os.environ, "PERFBOT_DATABASE_URL": db_url}
    command = [sys.executable, "-m", "bot", "--config", str(config), "config", "check", "--connect"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "shape B" in done.stdout
    assert "time America/New_York (naive timestamps)" in done.stdout
    async with store.connector.pool.acquire() as conn:  # the views were not re-pointed
        assert await conn.fetchval("SELECT count(*) FROM perfbot.source_metrics") == 0
        definition = await conn.fetchval("SELECT pg_get_viewdef('perfbot.source_metrics')")
    assert "pggit" not in definition

    config.write_text("source: {table: pggit.nothing}\n")
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "source.table: table pggit.nothing does not exist" in done.stderr


def readme_yaml(containing: str) -> dict[str, Any]:
    """The README's YAML example that contains `containing`, parsed."""
    readme = (Path(__file__).parent.parent.parent / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    [block] = [b for b in blocks if containing in b]
    loaded = yaml.safe_load(textwrap.dedent(block))
    assert isinstance(loaded, dict)
    return loaded


async def test_the_readme_explicit_mapping_runs_as_written(store: Store) -> None:
    example = readme_yaml("public.request_timings")
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE public.request_timings "
            "(endpoint text, latency_ms double precision, finished_at timestamptz)"
        )
        await conn.execute("INSERT INTO public.request_timings VALUES ('GET:/users', 12.5, $1)", T0)
    layout = await store.source.apply(Settings.load(**example).source)
    assert layout.merges is None
    [metric] = await source_metrics(store, None, 5)
    assert (metric.operation_type, metric.duration_ms, metric.recorded_at) == (
        "GET:/users",
        12.5,
        T0,
    )


async def test_a_changed_source_rebuilds_rollups_and_baselines(store: Store) -> None:
    default = Settings.load().source
    first = await store.source.apply(default)
    assert not first.changed
    async with store.connector.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO perfbot.metrics (operation_type, duration_ms, recorded_at) "
            "VALUES ('commit', 5, $1)",
            T0,
        )
    await store.rollups.refresh(T0 + MINUTE, initial_backfill=timedelta(hours=1))
    await store.rollups.backfill()
    async with store.connector.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM perfbot.rollup_minute") == 1
    assert not (await store.source.apply(default)).changed  # the same source again

    await install(store, "b")
    changed = await store.source.apply(Settings.load(source={"preset": "pggit"}).source)
    assert changed.changed
    async with store.connector.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM perfbot.rollup_minute") == 0
        assert await conn.fetchval("SELECT count(*) FROM perfbot.rollup_hour") == 0
        assert (
            await conn.fetchval("SELECT value FROM perfbot.watermarks WHERE name = 'rollup'")
            is None
        )
    # a time zone is part of what the rollups were built from
    paris = Settings.load(source={"preset": "pggit", "timezone": "Europe/Paris"}).source
    assert (await store.source.apply(paris)).changed
    assert not (await store.source.apply(paris)).changed
