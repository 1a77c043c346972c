"""The findings repository: what detection finds and keeps (anomalies, correlations, and
baselines with their history)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import Anomaly, Baseline, BaselineChange, Correlation, Severity
from bot.store.connector import Connector
from bot.store.queries import QUERIES
from bot.store.shards import ShardScore

INSERT_BATCH = 1000  # anomalies per INSERT statement


def anomaly_from_row(row: Any) -> Anomaly:
    data = dict(row)
    data.pop("pending", None)
    return Anomaly.model_validate(data)


def correlation_from_row(row: Any) -> Correlation:
    data = dict(row)
    data.pop("pending", None)
    data["recommendations"] = tuple(data["recommendations"])
    return Correlation.model_validate(data)


def baseline_from_row(row: Any) -> Baseline:
    return Baseline.model_validate(dict(row))


async def insert_anomalies(
    conn: Any, anomalies: Sequence[Anomaly], *, pending: bool = True
) -> list[Anomaly]:
    """Insert `anomalies` on `conn` (inside the caller's transaction), INSERT_BATCH rows per
    statement, pending alerting when `pending` and not yet linked to an alert; returns them with
    their ids."""
    stored: list[Anomaly] = []
    for at in range(0, len(anomalies), INSERT_BATCH):
        batch = anomalies[at : at + INSERT_BATCH]
        columns = [
            [a.operation_type for a in batch],
            [a.kind.value for a in batch],
            [a.severity.value for a in batch],
            [a.detector for a in batch],
            [a.z_score for a in batch],
            [a.value_ms for a in batch],
            [a.baseline_mean_ms for a in batch],
            [a.baseline_p99_ms for a in batch],
            [a.deviation_pct for a in batch],
            [a.degradation_pct for a in batch],
            [a.trend_slope for a in batch],
            [a.confidence for a in batch],
            [a.outliers for a in batch],
            [a.samples for a in batch],
            [a.window_start for a in batch],
            [a.window_end for a in batch],
            [a.detected_at for a in batch],
            [a.alert_id for a in batch],
            [a.details for a in batch],
        ]
        rows = await conn.fetch(QUERIES["insert_anomalies"], *columns, pending)
        ids = sorted(r["id"] for r in rows)
        stored += [a.model_copy(update={"id": i}) for a, i in zip(batch, ids, strict=True)]
    return stored


class FindingRepository:
    """Anomalies, correlations and baselines over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector
        # The active baselines as last read, by the version they were read at (see
        # `active_baselines`): 10,000 of them take 0.2 s to build, every detection cycle.
        self._active: tuple[tuple[int, int], dict[str, Baseline]] | None = None

    async def add_anomalies(
        self, anomalies: Sequence[Anomaly], *, pending: bool = True
    ) -> list[Anomaly]:
        """Store anomalies, pending alerting (unless `pending` is false or they are already
        linked to an alert); returns them with their ids."""
        async with self._db.transaction() as conn:
            return await insert_anomalies(conn, anomalies, pending=pending)

    async def commit_cycle(
        self,
        anomalies: Sequence[Anomaly],
        watermark: str,
        old_mark: datetime | None,
        new_mark: datetime,
        shard: ShardScore | None = None,
    ) -> list[Anomaly] | None:
        """Commit one detection cycle: move `watermark` from `old_mark` (None: never set) to
        `new_mark` and store the cycle's anomalies, pending alerting, in one transaction (for a
        replica's shard, with the record of who scored it). Returns the anomalies with their
        ids, or None (and stores nothing) when the watermark no longer reads `old_mark`: another
        cycle scored these minutes first."""
        async with self._db.transaction() as conn:
            if old_mark is None:
                moved = await conn.fetchval(QUERIES["create_watermark"], watermark, new_mark)
            else:
                moved = await conn.fetchval(
                    QUERIES["advance_watermark"], watermark, old_mark, new_mark
                )
            if moved is None:
                return None
            if shard is not None:
                await shard.record(conn)
            return await insert_anomalies(conn, anomalies)

    async def pending_anomalies(self, limit: int = 1000) -> list[Anomaly]:
        """Anomalies not yet through alerting, oldest first (at most `limit`)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["pending_anomalies"], limit)
        return [anomaly_from_row(r) for r in rows]

    async def anomalies_by_id(self, ids: list[int]) -> list[Anomaly]:
        """The stored anomalies `ids` (with their alert ids), in that order."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["anomalies_by_id"], ids)
        found = {r["id"]: anomaly_from_row(r) for r in rows}
        return [found[i] for i in ids if i in found]

    async def latest_degradations(self, since: datetime) -> dict[str, Anomaly]:
        """The newest degradation anomaly of each operation detected since `since` (UTC), by
        operation."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["latest_degradations_since"], since)
        return {r["operation_type"]: anomaly_from_row(r) for r in rows}

    async def anomalies_since(
        self,
        since: datetime,
        *,
        operation: str | None = None,
        min_severity: Severity = Severity.INFO,
        limit: int = 100,
    ) -> list[Anomaly]:
        """Anomalies detected since `since`, newest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(
                QUERIES["anomalies_since"], since, operation, min_severity.rank, limit
            )
        return [anomaly_from_row(r) for r in rows]

    async def degraded_operations(self, since: datetime) -> set[str]:
        """Operations with a WARNING or CRITICAL anomaly since `since`."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["operations_with_anomalies_since"], since)
        return {r["operation_type"] for r in rows}

    async def spike_hours(self, since: datetime) -> dict[str, set[datetime]]:
        """Per operation, the starts of the hours (UTC) touched by the windows of the spikes
        (statistical, threshold, combined anomalies) detected since `since`."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["spike_hours_since"], since)
        hours: dict[str, set[datetime]] = {}
        for row in rows:
            hours.setdefault(row["operation_type"], set()).add(row["hour"])
        return hours

    async def add_correlations(
        self, correlations: Sequence[Correlation], *, pending: bool = True
    ) -> list[Correlation]:
        """Store one analysis's correlations, pending alerting (unless `pending` is false or
        they are already linked to an alert); returns them with their ids."""
        stored = []
        async with self._db.connection() as conn, conn.transaction():
            for c in correlations:
                correlation_id = await conn.fetchval(
                    QUERIES["insert_correlation"],
                    c.operation_a,
                    c.operation_b,
                    c.r,
                    c.n,
                    c.confidence,
                    c.bottleneck.value,
                    c.severity.value,
                    list(c.recommendations),
                    c.window_start,
                    c.window_end,
                    c.analyzed_at,
                    c.alert_id,
                    pending,
                )
                stored.append(c.model_copy(update={"id": correlation_id}))
        return stored

    async def pending_correlations(self) -> list[Correlation]:
        """Correlations not yet through alerting, oldest analysis first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["pending_correlations"])
        return [correlation_from_row(r) for r in rows]

    async def correlations_since(self, since: datetime, limit: int = 100) -> list[Correlation]:
        """The latest result for every pair analysed since `since`, strongest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["correlations_since"], since, limit)
        return [correlation_from_row(r) for r in rows]

    async def active_baseline(self, operation: str) -> Baseline | None:
        """The active baseline of `operation`, or None."""
        async with self._db.connection() as conn:
            row = await conn.fetchrow(QUERIES["active_baseline"], operation)
        return baseline_from_row(row) if row else None

    async def active_baselines(self) -> dict[str, Baseline]:
        """The active baseline of each operation. Read again only when the active set changed
        (in any process): rows only ever turn inactive and new ones are inserted with a higher
        id, so their count and highest id name the set."""
        async with self._db.connection() as conn:
            row = await conn.fetchrow(QUERIES["active_baselines_version"])
            assert row is not None
            version = (int(row["count"]), int(row["top"]))
            if self._active is not None and self._active[0] == version:
                return dict(self._active[1])
            rows = await conn.fetch(QUERIES["active_baselines"])
        active = {r["operation_type"]: baseline_from_row(r) for r in rows}
        self._active = version, active  # read after the version: at worst one read too many
        return dict(active)

    async def save_baselines(
        self,
        changes: Sequence[tuple[Baseline, BaselineChange, Baseline | None]],
        now: datetime,
    ) -> int:
        """Record each (new baseline, decision, old baseline): replace the active baseline when
        the decision says so, and always write a history row. Returns baselines replaced."""
        replaced = 0
        async with self._db.connection() as conn, conn.transaction():
            for new, change, old in changes:
                new_id = None
                if change.replaced:
                    await conn.execute(QUERIES["deactivate_baseline"], new.operation_type)
                    new_id = await conn.fetchval(
                        QUERIES["insert_baseline"],
                        new.operation_type,
                        new.sample_count,
                        new.mean_ms,
                        new.stddev_ms,
                        new.min_ms,
                        new.max_ms,
                        new.p50_ms,
                        new.p75_ms,
                        new.p90_ms,
                        new.p95_ms,
                        new.p99_ms,
                        new.mad_ms,
                        new.multiplier,
                        new.window_start,
                        new.window_end,
                        new.computed_at,
                    )
                    replaced += 1
                await conn.execute(
                    QUERIES["insert_baseline_history"],
                    new.operation_type,
                    old.id if old else None,
                    new_id,
                    change.old_p99_ms,
                    change.new_p99_ms,
                    change.change_pct,
                    change.sample_count,
                    change.replaced,
                    change.reason,
                    now,
                )
        return replaced

    async def baseline_history(
        self, operation: str | None, limit: int = 20
    ) -> list[BaselineChange]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["baseline_history"], operation, limit)
        return [
            BaselineChange.model_validate({k: v for k, v in dict(r).items() if k != "created_at"})
            for r in rows
        ]
