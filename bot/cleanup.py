"""The cleanup (hourly by default, so each run prunes about an hour's worth): every table's
retention (`retention:`), applied in bounded batches.

Each batch is one DELETE of at most the batch size, in its own transaction
(`store.retention.prune_batch`); the cleanup halves the batch size while a batch takes longer
than `retention.batch_seconds` (and grows it back, up to `retention.batch_size`, while batches
are quick), retries a batch that ran out of time eight times smaller, goes on until a table has nothing left past its cut-off, and stops when
`retention.budget` is spent: the rest waits for the next run. Progress is logged per table.

After pruning, each big table (`store.retention.VACUUMED`) that lost at least `VACUUM_AFTER_ROWS`
rows is vacuumed (plain VACUUM, outside a transaction), so the freed space takes the next rows
at once: autovacuum alone can lag the hourly deletes by hours and the tables grow meanwhile. A
VACUUM gets what is left of the budget; one that runs out of time is logged and does not fail
the run (autovacuum will get there).

Raw metrics are pruned only behind the rollups (`raw_metrics_horizon`), and raw metrics and
merges only from perfbot's own tables: an in-place source such as pgGit's table belongs to its
owner."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import errors
from bot.config import Settings
from bot.config.checks import OWN_METRICS
from bot.store import Store
from bot.store.retention import VACUUMED

logger = logging.getLogger(__name__)

OWN_MERGES = "perfbot.merges"
MIN_BATCH = 100
TIMEOUT_SHRINK = 8  # a batch that ran out of time (a minute) is retried this many times smaller
VACUUM_AFTER_ROWS = 1_000  # an hour of minute rollups at 17 operations; raw rows lose far more


@dataclass(frozen=True)
class Target:
    """One table to prune: rows past `before` (UTC) go."""

    table: str
    before: datetime


@dataclass
class Pruned:
    """What one table's pruning did: rows deleted, in how many batches, how long it took and
    its slowest batch (seconds); `finished` is False when the budget ran out first."""

    table: str
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    max_batch_s: float = 0.0
    max_batch_rows: int = 0
    finished: bool = False
    vacuum_s: float | None = None  # how long its VACUUM took (None: not vacuumed)


def next_batch_size(size: int, took_s: float, target_s: float, ceiling: int) -> int:
    """The next batch's size after one of `size` rows took `took_s` seconds: halved (down to
    MIN_BATCH) when slower than `target_s`, doubled (up to `ceiling`) when faster than a
    quarter of it, else unchanged."""
    if took_s > target_s:
        return max(min(MIN_BATCH, ceiling), size // 2)
    if took_s < target_s / 4:
        return min(ceiling, size * 2)
    return size


def _after_timeout(table: str, size: int) -> int:
    """The smaller batch to retry with after one of `size` rows ran out of time (rolled back,
    so nothing was lost)."""
    smaller = max(MIN_BATCH, size // TIMEOUT_SHRINK)
    logger.warning(
        "retention batch timed out",
        extra={
            "action": "retention_batch_timeout",
            "table": table,
            "rows": size,
            "next_batch": smaller,
        },
    )
    return smaller


class Cleanup:
    """The cleanup job's body over one store; `timer` (seconds, monotonic) measures batches
    and the budget."""

    def __init__(
        self, store: Store, settings: Settings, timer: Callable[[], float] = time.perf_counter
    ) -> None:
        self._store = store
        self._settings = settings
        self._timer = timer

    async def raw_metrics_horizon(self, now: datetime) -> datetime | None:
        """Raw metrics at or after this moment are never deleted: the retention cut-off, but no
        later than what the rollups already hold (None: nothing may be deleted yet). The one
        place that decides it; the prune statement also keeps rows of back-fill ranges still
        waiting to be rolled up."""
        rolled_up = await self._store.rollups.rolled_up_before()
        if rolled_up is None:
            return None
        return min(now - self._settings.retention.metrics, rolled_up)

    async def targets(self, now: datetime) -> list[Target]:
        """What to prune, in order (alerts before the anomalies they take with them, rollups
        before the operations they keep alive)."""
        keep = self._settings.retention
        source = self._settings.source
        # signature windows run on the wall clock, which the demo's scaled clock runs ahead of
        wall = min(now, datetime.now(UTC))
        found = [
            Target("seen_requests", wall),
            Target("job_runs", now - keep.job_runs),
            Target("deliveries", now - keep.deliveries),
            Target("alerts", now - keep.alerts),
            Target("alert_events", now - keep.alerts),
            Target("anomalies", now - keep.anomalies),
            Target("correlations", now - keep.correlations),
            Target("silences", now - keep.silences),
            Target("baseline_history", now - keep.baselines),
            Target("baselines", now - keep.baselines),
        ]
        if source.merges_table == OWN_MERGES:
            found.append(Target("merges", now - keep.merges))
        if source.table == OWN_METRICS:
            horizon = await self.raw_metrics_horizon(now)
            if horizon is not None:
                found.append(Target("metrics", horizon))
        found += [
            Target("rollup_minute", now - keep.rollup_minute),
            Target("rollup_hour", now - keep.rollup_hour),
        ]
        return found

    async def run(self, now: datetime) -> list[Pruned]:
        """Prune every table past its retention within the budget; then forget operations
        with no rollups left. Returns what each table's pruning did."""
        deadline = self._timer() + self._settings.retention.budget.total_seconds()
        targets = await self.targets(now)
        done: list[Pruned] = []
        for target in targets:
            pruned = await self.prune(target, deadline)
            done.append(pruned)
            if not pruned.finished:
                left = [t.table for t in targets[len(done) :]]
                logger.warning(
                    "retention budget spent",
                    extra={
                        "action": "retention_budget_spent",
                        "table": target.table,
                        "not_reached": left,
                        "budget_s": self._settings.retention.budget.total_seconds(),
                    },
                )
                return done
        for pruned in done:
            if pruned.table in VACUUMED and pruned.rows >= VACUUM_AFTER_ROWS:
                await self.vacuum(pruned, deadline)
        forgotten = await self._store.operations.prune(now - self._settings.retention.rollup_hour)
        done.append(Pruned("operations", rows=forgotten, batches=1, finished=True))
        return done

    async def vacuum(self, pruned: Pruned, deadline: float) -> None:
        """VACUUM the table `pruned` deleted from, within what is left of the budget (up to
        `deadline`); a VACUUM that runs out of time is logged, not raised."""
        left = deadline - self._timer()
        if left <= 0:
            return
        begun = self._timer()
        try:
            await self._store.retention.vacuum(pruned.table, left)
        except errors.QueryTimeout:
            logger.warning(
                "retention vacuum timed out",
                extra={"action": "retention_vacuum_timeout", "table": pruned.table},
            )
            return
        pruned.vacuum_s = self._timer() - begun
        logger.info(
            "retention vacuumed",
            extra={
                "action": "retention_vacuumed",
                "table": pruned.table,
                "rows": pruned.rows,
                "seconds": round(pruned.vacuum_s, 3),
            },
        )

    async def prune(self, target: Target, deadline: float) -> Pruned:
        """Delete `target`'s rows in batches until none is left or the timer passes
        `deadline`."""
        keep = self._settings.retention
        ceiling, goal = keep.batch_size, keep.batch_seconds.total_seconds()
        size = ceiling
        pruned = Pruned(target.table)
        started = self._timer()
        while True:
            if self._timer() >= deadline:
                break
            begun = self._timer()
            try:
                rows = await self._store.retention.prune_batch(target.table, target.before, size)
            except errors.QueryTimeout:
                if size <= MIN_BATCH:
                    raise
                size = _after_timeout(target.table, size)
                continue
            took = self._timer() - begun
            pruned.rows += rows
            pruned.batches += 1
            pruned.max_batch_rows = max(pruned.max_batch_rows, rows)
            pruned.max_batch_s = max(pruned.max_batch_s, took)
            if rows < size:
                pruned.finished = True
                break
            smaller = next_batch_size(size, took, goal, ceiling)
            if smaller < size:
                logger.info(
                    "retention batch slow",
                    extra={
                        "action": "retention_batch_slow",
                        "table": target.table,
                        "rows": rows,
                        "seconds": round(took, 3),
                        "next_batch": smaller,
                    },
                )
            size = smaller
        pruned.seconds = self._timer() - started
        logger.info(
            "retention pruned",
            extra={
                "action": "retention_pruned",
                "table": target.table,
                "before": target.before.isoformat(),
                "rows": pruned.rows,
                "batches": pruned.batches,
                "seconds": round(pruned.seconds, 3),
                "max_batch_s": round(pruned.max_batch_s, 3),
                "finished": pruned.finished,
            },
        )
        return pruned
