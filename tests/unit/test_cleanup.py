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
