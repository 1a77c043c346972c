"""The cleanup's batch loop against a fake retention repository: a batch that runs out of time
is retried smaller (nothing was deleted: its transaction rolled back), and when even the
smallest batch times out the error goes to the job, which records the failure."""

import math
from datetime import UTC, datetime
from typing import cast

import pytest

from bot import errors
from bot.cleanup import MIN_BATCH, Cleanup, Target
from bot.config import Settings
from bot.store import Store

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


class SlowPile:
    """A table of `rows` rows whose DELETE runs out of time above `max_ok` rows a batch."""

    def __init__(self, rows: int, max_ok: int) -> None:
        self.left = rows
        self.max_ok = max_ok
        self.calls: list[int] = []

    async def prune_batch(self, table: str, before: datetime, limit: int) -> int:
        self.calls.append(limit)
        if limit > self.max_ok:
            raise errors.QueryTimeout("query too slow: TimeoutError")
        deleted = min(limit, self.left)
        self.left -= deleted
        return deleted


class FakeStore:
    def __init__(self, retention: SlowPile) -> None:
        self.retention = retention


def cleanup(pile: SlowPile) -> Cleanup:
    return Cleanup(cast(Store, FakeStore(pile)), Settings.load(), timer=lambda: 0.0)


async def test_a_batch_that_times_out_is_retried_smaller(caplog: pytest.LogCaptureFixture) -> None:
    pile = SlowPile(rows=3000, max_ok=1000)

    pruned = await cleanup(pile).prune(Target("job_runs", NOW), math.inf)

    assert (pruned.rows, pruned.finished, pile.left) == (3000, True, 0)
    assert pile.calls[:3] == [10_000, 1250, 156]  # each time-out: eight times smaller
    assert pruned.max_batch_rows <= 1000
    timeouts = [r for r in caplog.records if r.__dict__.get("action") == "retention_batch_timeout"]
    assert [r.__dict__["next_batch"] for r in timeouts[:2]] == [1250, 156]


async def test_when_even_the_smallest_batch_times_out_the_job_fails() -> None:
    pile = SlowPile(rows=3000, max_ok=MIN_BATCH - 1)

    with pytest.raises(errors.QueryTimeout):
        await cleanup(pile).prune(Target("job_runs", NOW), math.inf)

    assert pile.calls == [10_000, 1250, 156, MIN_BATCH]
    assert pile.left == 3000


class Vacuums:
    """A retention repository whose tables each have `rows[table]` rows to prune and whose
    VACUUM takes `vacuum_s` seconds on `timer`, or times out."""

    def __init__(self, rows: dict[str, int], timer: "Ticks", *, times_out: bool = False) -> None:
        self.rows = dict(rows)
        self.timer = timer
        self.times_out = times_out
        self.vacuumed: list[tuple[str, float]] = []

    async def prune_batch(self, table: str, before: datetime, limit: int) -> int:
        deleted = min(limit, self.rows.get(table, 0))
        self.rows[table] = self.rows.get(table, 0) - deleted
        return deleted

    async def vacuum(self, table: str, timeout_s: float) -> None:
        self.vacuumed.append((table, timeout_s))
        if self.times_out:
            raise errors.QueryTimeout("query too slow: TimeoutError")
        self.timer.now += 0.5


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class VacuumStore:
    def __init__(self, retention: Vacuums) -> None:
        self.retention = retention
        self.operations = self
        self.rollups = self

    async def rolled_up_before(self) -> datetime:
        return NOW

    async def prune(self, before: datetime) -> int:
        return 0


async def test_only_big_tables_that_lost_enough_rows_are_vacuumed() -> None:
    ticks = Ticks()
    repo = Vacuums(
        {"metrics": 40_000, "rollup_minute": 1_980, "rollup_hour": 999, "job_runs": 50_000},
        ticks,
    )
    settings = Settings.load(retention={"budget": "20s"})

    done = await Cleanup(cast(Store, VacuumStore(repo)), settings, timer=ticks).run(NOW)

    # job_runs is not one of the vacuumed tables; rollup_hour lost too few rows
    assert [t for t, _ in repo.vacuumed] == ["metrics", "rollup_minute"]
    assert [timeout for _, timeout in repo.vacuumed] == [20.0, 19.5]  # what the budget left
    assert {p.table: p.vacuum_s for p in done}["metrics"] == 0.5


async def test_a_vacuum_that_times_out_does_not_fail_the_cleanup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = Ticks()
    repo = Vacuums({"metrics": 40_000}, ticks, times_out=True)

    done = await Cleanup(cast(Store, VacuumStore(repo)), Settings.load(), timer=ticks).run(NOW)

    assert {p.table: p.vacuum_s for p in done}["metrics"] is None
    assert done[-1].table == "operations"  # the run went on to its end
    actions = [r.__dict__.get("action") for r in caplog.records]
    assert "retention_vacuum_timeout" in actions
