"""The findings repository: what detection finds and keeps (anomalies, correlations, and
baselines with their history)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.models import Anomaly, Baseline, BaselineChange, Correlation, Severity
from bot.store.connector import Connector
from bot.store.queries import QUERIES


def anomaly_from_row(row: Any) -> Anomaly:
    return Anomaly.model_validate(dict(row))


def correlation_from_row(row: Any) -> Correlation:
    data = dict(row)
    data["recommendations"] = tuple(data["recommendations"])
    return Correlation.model_validate(data)


def baseline_from_row(row: Any) -> Baseline:
    return Baseline.model_validate(dict(row))


class FindingRepository:
    """Anomalies, correlations and baselines over one connector."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def add_anomalies(self, anomalies: Sequence[Anomaly]) -> list[Anomaly]:
        """Store anomalies; returns them with their ids."""
        stored = []
        async with self._db.connection() as conn, conn.transaction():
            for a in anomalies:
                anomaly_id = await conn.fetchval(
                    QUERIES["insert_anomaly"],
                    a.operation_type,
                    a.kind.value,
                    a.severity.value,
                    a.detector,
                    a.z_score,
                    a.value_ms,
                    a.baseline_mean_ms,
                    a.baseline_p99_ms,
                    a.deviation_pct,
                    a.degradation_pct,
                    a.trend_slope,
                    a.confidence,
                    a.outliers,
                    a.samples,
                    a.window_start,
                    a.window_end,
                    a.detected_at,
                    a.alert_id,
                    a.details,
                )
                stored.append(a.model_copy(update={"id": anomaly_id}))
        return stored

    async def link_anomaly(self, anomaly_id: int, alert_id: int) -> None:
        async with self._db.connection() as conn:
            await conn.execute(QUERIES["set_anomaly_alert"], anomaly_id, alert_id)

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

    async def add_correlations(self, correlations: Sequence[Correlation]) -> list[Correlation]:
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
                )
                stored.append(c.model_copy(update={"id": correlation_id}))
        return stored

    async def link_correlation(self, correlation_id: int, alert_id: int) -> None:
        async with self._db.connection() as conn:
            await conn.execute(QUERIES["set_correlation_alert"], correlation_id, alert_id)

    async def correlations_since(self, since: datetime, limit: int = 100) -> list[Correlation]:
        """The latest result for every pair analysed since `since`, strongest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["correlations_since"], since, limit)
        return [correlation_from_row(r) for r in rows]

    async def active_baselines(self) -> dict[str, Baseline]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["active_baselines"])
        return {r["operation_type"]: baseline_from_row(r) for r in rows}

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
