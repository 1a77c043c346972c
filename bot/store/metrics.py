"""The metrics repository: ingest writes of raw input, metrics (COPY from validated CSV, JSON
batches, the demo's generated rows) and merge records. Every metric write also records the time
range it touched so rollups are rebuilt for it, and admits its new operation names in the same
transaction (`operations.py`): past a cap, the whole input is refused. Reading goes through the
configured source (`source.py`), not these tables."""

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from bot import errors
from bot.ingest import MetricCsv
from bot.models import MergeRecord, Metric
from bot.store.connector import Connector
from bot.store.operations import OperationRepository
from bot.store.queries import QUERIES

COPY_TIMEOUT_S = 3600.0


class MetricRepository:
    """Ingest writes over one connector."""

    def __init__(self, connector: Connector, operations: OperationRepository) -> None:
        self._db = connector
        self._operations = operations

    async def copy_csv(self, csv: MetricCsv) -> int:
        """COPY a metrics CSV into perfbot.metrics while `csv` validates it, in one transaction.
        Returns the number of rows stored; stores nothing if any row is rejected, including the
        first row of a new operation past a cap."""
        known, room = await self._operations.snapshot()
        new = csv.watch_operations(known, room)
        async with self._db.connection() as conn, conn.transaction():
            try:
                status = await conn.copy_to_table(
                    "metrics",
                    schema_name="perfbot",
                    source=csv.chunks(),
                    columns=list(csv.summary.columns),
                    format="csv",
                    header=True,
                    timeout=COPY_TIMEOUT_S,
                )
            except asyncpg.PostgresError as exc:
                raise errors.IngestError(_copy_line(exc), _pg_reason(exc)) from exc
            refused = await self._operations.admit(conn, list(new), via="csv")
            if refused is not None:
                raise errors.IngestError(new[refused.names[0]], refused.reason)
            rows = int(status.split()[-1])
            first, last = csv.summary.first, csv.summary.last
            if rows and first is not None and last is not None:
                await conn.execute(QUERIES["add_dirty_range"], first, last)
            return rows

    async def add(self, metrics: Sequence[Metric]) -> int:
        """Store validated metrics in one transaction; returns how many. Raises IngestError
        naming the first item whose new operation does not fit the caps (nothing stored)."""
        if not metrics:
            return 0
        records = [
            (m.operation_type, m.duration_ms, m.recorded_at, m.branch, m.user_name) for m in metrics
        ]
        first_item: dict[str, int] = {}
        for i, m in enumerate(metrics):
            first_item.setdefault(m.operation_type, i)
        async with self._db.connection() as conn, conn.transaction():
            refused = await self._operations.admit(conn, list(first_item), via="api")
            if refused is not None:
                item = first_item[refused.names[0]]
                raise errors.IngestError(None, f"item {item}: {refused.reason}")
            await conn.copy_records_to_table(
                "metrics",
                schema_name="perfbot",
                records=records,
                columns=["operation_type", "duration_ms", "recorded_at", "branch", "user_name"],
            )
            times = [m.recorded_at for m in metrics]
            await conn.execute(QUERIES["add_dirty_range"], min(times), max(times))
        return len(records)

    async def add_rows(self, rows: Sequence[tuple[str, float, datetime]]) -> int:
        """Store (operation_type, duration_ms, recorded_at) tuples already known to be valid
        (the demo's generator) with COPY, in one transaction; returns how many. Their names are
        admitted like any other (IngestError past a cap)."""
        if not rows:
            return 0
        async with self._db.connection() as conn, conn.transaction():
            refused = await self._operations.admit(
                conn, list(dict.fromkeys(r[0] for r in rows)), via="demo"
            )
            if refused is not None:
                raise errors.IngestError(None, refused.reason)
            await conn.copy_records_to_table(
                "metrics",
                schema_name="perfbot",
                records=rows,
                columns=["operation_type", "duration_ms", "recorded_at"],
            )
            times = [r[2] for r in rows]
            await conn.execute(QUERIES["add_dirty_range"], min(times), max(times))
        return len(rows)

    async def add_merges(self, merges: Sequence[MergeRecord]) -> int:
        """Store validated merge records in one transaction; returns how many."""
        if not merges:
            return 0
        columns = list(MergeRecord.model_fields)
        records = [tuple(getattr(m, c) for c in columns) for m in merges]
        async with self._db.connection() as conn, conn.transaction():
            await conn.copy_records_to_table(
                "merges", schema_name="perfbot", records=records, columns=columns
            )
        return len(records)


def _copy_line(exc: asyncpg.PostgresError) -> int | None:
    """The input line PostgreSQL names in a COPY error context ("COPY metrics, line 7, …")."""
    context = getattr(exc, "where", None) or getattr(exc, "context", None) or ""
    marker = "line "
    if marker in context:
        digits = ""
        for ch in context[context.index(marker) + len(marker) :]:
            if not ch.isdigit():
                break
            digits += ch
        return int(digits) if digits else None
    return None


def _pg_reason(exc: asyncpg.PostgresError) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return f"rejected by PostgreSQL: {message}"
