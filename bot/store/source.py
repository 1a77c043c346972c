"""The source repository: `perfbot.source_metrics` and `perfbot.source_merges` are views that
every detection query reads, and the raw metrics and merges perfbot shows are read through them.
By default they select from perfbot's own tables; `source:` in the configuration points them at
another table, such as pgGit's `pggit.performance_metrics`, which perfbot then reads in place
without copying.

View definitions contain identifiers, which cannot be bound as parameters; they come only from
`SourceSettings`, whose validators accept plain identifiers, and are quoted here as well."""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bot import errors
from bot.config import SourceSettings
from bot.models import MergeRecord
from bot.store import migrate
from bot.store.connector import Connector
from bot.store.queries import QUERIES
from bot.store.source_shape import (
    KINDS_FUNCTION,
    PGGIT_BRANCHES,
    MergesLayout,
    MetricsLayout,
    SourceLayout,
    configured_metrics,
    merges_layout,
    pggit_metrics,
    quote_ident,
    quote_table,
)

logger = logging.getLogger(__name__)

# Watermarks of work derived from the source's rows, forgotten when the source changes.
ROLLUP_WATERMARKS = ("rollup", "detect")
METRICS_VIEW = "perfbot.source_metrics"
MERGES_VIEW = "perfbot.source_merges"
FAILED_VIEW = "perfbot.source_failed"
VIEWS = (METRICS_VIEW, MERGES_VIEW, FAILED_VIEW)
# The bounds of the incremental scan in the time column's own type (see `bounds_sql`).
BOUND_FUNCTIONS = ("perfbot.source_lo", "perfbot.source_hi")
# Bounds this close to a UTC-offset change are widened by it (naive times are not monotonic there).
DST_PAD = "3 hours"


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _instant(column: str, naive: bool, timezone: str) -> str:
    """The instant a time column means: naive values are local times in `timezone`."""
    return f"({column} AT TIME ZONE {quote_literal(timezone)})" if naive else column


def metrics_view_sql(layout: MetricsLayout) -> str:
    """CREATE OR REPLACE VIEW for the metrics source; casts keep the view's column types fixed.
    `source_at` is the time column as stored, so that the scan's predicate on it uses the
    source's own index; `recorded_at` is the instant it means."""
    t = layout.time_column
    columns = [
        f"{layout.operation}::text AS operation_type",
        f"{layout.duration_ms}::double precision AS duration_ms",
        f"{_instant(t, layout.naive, layout.timezone)} AS recorded_at",
        f"{t} AS source_at",
    ]
    where = [f"{t} IS NOT NULL", *layout.where]
    return _view(METRICS_VIEW, columns, quote_table(layout.table), where)


def failed_view_sql(layout: MetricsLayout) -> str:
    """CREATE OR REPLACE VIEW for the source's failed operations (pgGit shape A's
    `error_details`), counted apart from the latencies; empty for other sources."""
    t = layout.time_column
    columns = [
        f"{layout.operation}::text AS operation_type",
        f"{_instant(t, layout.naive, layout.timezone)} AS recorded_at",
    ]
    where = [f"{t} IS NOT NULL", layout.failed or "false"]
    return _view(FAILED_VIEW, columns, quote_table(layout.table), where)


def bounds_sql(layout: MetricsLayout) -> list[str]:
    """The functions giving the scan's bounds in the time column's type: for a naive column,
    the local time of the instant, widened near a change of UTC offset (so that no row whose
    instant is in range is outside the bounds); for a timestamptz column, the instant itself."""
    if not layout.naive:
        return [
            f"CREATE OR REPLACE FUNCTION {name}(t timestamptz) RETURNS timestamptz "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT t'"
            for name in BOUND_FUNCTIONS
        ]
    tz = quote_literal(layout.timezone)
    pad = f"interval {quote_literal(DST_PAD)}"
    statements = []
    for name, pick in zip(BOUND_FUNCTIONS, ("least", "greatest"), strict=True):
        body = (
            f"SELECT {pick}(t AT TIME ZONE {tz}, (t - {pad}) AT TIME ZONE {tz} + {pad}, "
            f"(t + {pad}) AT TIME ZONE {tz} - {pad})"
        )
        statements.append(
            f"CREATE OR REPLACE FUNCTION {name}(t timestamptz) RETURNS timestamp "
            f"LANGUAGE sql STABLE PARALLEL SAFE AS {quote_literal(body)}"
        )
    return statements


def kinds_sql(layout: MetricsLayout) -> str:
    """The function listing the distinct values of the layout's kind column that match its
    pattern, by a loose index scan (one index probe per distinct value, however many rows):
    `column = ANY(perfbot.source_kinds())` then lets a (kind, time) index serve the scan.
    Without kinds, an empty list (the function exists for every source)."""
    if layout.kinds is None:
        body = "SELECT '{}'::text[]"
    else:
        column, pattern = quote_ident(layout.kinds[0]), layout.kinds[1]
        table = quote_table(layout.table)
        # Identifiers validated (settings) or read from the catalog, and quoted, as in `_view`.
        first = ["SELECT", column, "FROM", table, "WHERE", column, "IS NOT NULL"]
        following = ["SELECT", column, "FROM", table, "WHERE", column, "> k.v"]
        order = ["ORDER BY", column, "LIMIT 1"]
        body = " ".join(
            [
                "WITH RECURSIVE k(v) AS ((",
                *first,
                *order,
                ") UNION ALL SELECT (",
                *following,
                *order,
                ") FROM k WHERE k.v IS NOT NULL)",
                "SELECT coalesce(array_agg(v::text) FILTER (WHERE v LIKE",
                quote_literal(pattern),
                "), '{}') FROM k",
            ]
        )
    return (
        f"CREATE OR REPLACE FUNCTION {KINDS_FUNCTION}() RETURNS text[] "
        f"LANGUAGE sql STABLE PARALLEL SAFE AS {quote_literal(body)}"
    )


def merges_view_sql(layout: MergesLayout | None) -> str:
    """CREATE OR REPLACE VIEW for the merges source, converting µs to ms when needed and naming
    branch ids through the branches table when there is one; empty when there is no source."""
    if layout is None:
        return _view(MERGES_VIEW, [f"NULL::{kind} AS {name}" for name, kind in MERGE_VIEW], "", [])
    c = layout.columns
    scale = " / 1000.0" if layout.unit == "us" else ""

    def col(name: str) -> str:
        return "m." + quote_ident(name)

    def text(column: str | None, alias: str) -> str:
        return f"{col(column)}::text AS {alias}" if column else f"NULL::text AS {alias}"

    def branch(column: str, alias: str, join: str) -> str:
        if layout.branches is None:
            return text(column, alias)
        return f"coalesce({join}.branch_name::text, {col(column)}::text) AS {alias}"

    def count(column: str, alias: str) -> str:
        return f"coalesce({col(column)}, 0)::integer AS {alias}"

    def duration(column: str, alias: str) -> str:
        return f"({col(column)}::double precision{scale}) AS {alias}"

    def instant(column: str | None, alias: str) -> str:
        if column is None:
            return f"NULL::timestamptz AS {alias}"
        return f"{_instant(col(column), layout.naive, layout.timezone)} AS {alias}"

    columns = [
        text(c.merge_id, "merge_id"),
        branch(c.source_branch, "source_branch", "sb"),
        branch(c.target_branch, "target_branch", "tb"),
        text(c.status, "status"),
        text(c.strategy, "strategy"),
        count(c.conflicts, "conflicts"),
        count(c.auto_resolved, "auto_resolved"),
        count(c.auto_failed, "auto_failed"),
        duration(c.base_find, "base_find_ms"),
        duration(c.conflict_detect, "conflict_detect_ms"),
        duration(c.auto_resolve, "auto_resolve_ms"),
        duration(c.total, "total_ms"),
        instant(c.started_at, "started_at"),
        instant(c.completed_at, "completed_at"),
        text(c.user_name, "user_name"),
    ]
    source = quote_table(layout.table) + " m"
    if layout.branches is not None:
        branches = quote_table(layout.branches)
        source += (
            f" LEFT JOIN {branches} sb ON sb.branch_id = {col(c.source_branch)}"
            f" LEFT JOIN {branches} tb ON tb.branch_id = {col(c.target_branch)}"
        )
    return _view(MERGES_VIEW, columns, source, [])


MERGE_VIEW = [
    ("merge_id", "text"),
    ("source_branch", "text"),
    ("target_branch", "text"),
    ("status", "text"),
    ("strategy", "text"),
    ("conflicts", "integer"),
    ("auto_resolved", "integer"),
    ("auto_failed", "integer"),
    ("base_find_ms", "double precision"),
    ("conflict_detect_ms", "double precision"),
    ("auto_resolve_ms", "double precision"),
    ("total_ms", "double precision"),
    ("started_at", "timestamptz"),
    ("completed_at", "timestamptz"),
    ("user_name", "text"),
]


def _view(view: str, columns: list[str], source: str, where: list[str]) -> str:
    # Every identifier was validated by SourceSettings or read from the catalog, and is quoted.
    parts = ["CREATE OR REPLACE VIEW", view, "AS SELECT", ", ".join(columns)]
    if source:
        parts += ["FROM", source]
    if where or not source:
        parts += ["WHERE", " AND ".join(where) if where else "false"]
    return " ".join(parts)


def drop_view_sql(view: str) -> str:
    """DROP VIEW for one of the source views (a closed set)."""
    if view not in VIEWS:
        raise ValueError(f"not a source view: {view}")
    return f"DROP VIEW IF EXISTS {view}"


def drop_function_sql(name: str) -> str:
    """DROP FUNCTION for one of the bound functions (a closed set)."""
    if name not in BOUND_FUNCTIONS:
        raise ValueError(f"not a bound function: {name}")
    return f"DROP FUNCTION IF EXISTS {name}(timestamptz)"


@dataclass(frozen=True)
class SourceStatus:
    """What `perfbot db status` shows of the source."""

    layout: SourceLayout
    rows: int  # the planner's estimate: counting a big source would scan it
    newest: datetime | None
    failed_24h: int | None  # failed operations in the last 24 h, where the source records them


class SourceRepository:
    """The source views over one connector: (re)created from the configuration and the catalog,
    then read."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector
        self.layout: SourceLayout | None = None

    async def inspect(self, settings: SourceSettings) -> SourceLayout:
        """The source's layout as the catalog shows it, changing nothing (`config check
        --connect`). Raises ConfigError when a table or column does not exist, is not a
        timestamp where one is needed, or cannot be read by perfbot's role (naming the grant)."""
        async with self._db.connection() as conn:
            return await self._inspect(conn, settings)

    async def _inspect(
        self, conn: "asyncpg.pool.PoolConnectionProxy[Any]", settings: SourceSettings
    ) -> SourceLayout:
        metrics_columns = await _columns(conn, settings.table)
        if metrics_columns is None:
            raise errors.ConfigError([f"source.table: table {settings.table} does not exist"])
        timezone = settings.timezone or "UTC"  # the database's is read below, only if needed
        if settings.preset == "pggit":
            metrics = pggit_metrics(settings.table, metrics_columns, timezone)
        else:
            metrics = configured_metrics(settings, metrics_columns, timezone)
        merge_columns = branches = None
        if settings.merges_table is not None:
            merge_columns = await _columns(conn, settings.merges_table)
        if settings.preset == "pggit":
            branches = await _columns(conn, PGGIT_BRANCHES)
        merges = merges_layout(settings, merge_columns, branches, timezone)
        if settings.timezone is None and (metrics.naive or (merges is not None and merges.naive)):
            timezone = await self._db.default_timezone()
            metrics = dataclasses.replace(metrics, timezone=timezone)
            merges = merges and dataclasses.replace(merges, timezone=timezone)
        reads = [(metrics.table, metrics.reads)]
        if merges is not None:
            reads.append((merges.table, merges.reads))
            if merges.branches is not None:
                reads.append((merges.branches, ("branch_id", "branch_name")))
        for table, columns in reads:
            await _check_readable(conn, table, columns)
        return SourceLayout(metrics, merges)

    async def apply(self, settings: SourceSettings) -> SourceLayout:
        """Find the source's layout (`inspect`) and (re)create the source views and the scan's
        bound functions from it."""
        async with self._db.transaction() as conn:
            await conn.execute(QUERIES["advisory_xact_lock"], migrate.ADVISORY_LOCK_KEY)
            layout = await self._inspect(conn, settings)
            await conn.execute(kinds_sql(layout.metrics))  # the metrics view may call it
            statements = [
                (METRICS_VIEW, metrics_view_sql(layout.metrics)),
                (FAILED_VIEW, failed_view_sql(layout.metrics)),
                (MERGES_VIEW, merges_view_sql(layout.merges)),
            ]
            for view, ddl in statements:
                try:
                    async with conn.transaction():  # a savepoint: a failed attempt can be retried
                        await conn.execute(ddl)
                except (
                    asyncpg.exceptions.InvalidTableDefinitionError,
                    asyncpg.exceptions.UndefinedTableError,
                ):
                    # The view's shape changed (another source, a newer perfbot): rebuild it.
                    await conn.execute(drop_view_sql(view))
                    await conn.execute(ddl)
            for name in BOUND_FUNCTIONS:  # their return type follows the time column's
                await conn.execute(drop_function_sql(name))
            for ddl in bounds_sql(layout.metrics):
                await conn.execute(ddl)
            previous = await conn.fetchval(QUERIES["get_source_identity"])
            if previous != layout.metrics.identity:
                await conn.execute(QUERIES["set_source_identity"], layout.metrics.identity)
            if previous is not None and previous != layout.metrics.identity:
                await conn.execute(QUERIES["forget_rollups"])
                await conn.execute(QUERIES["forget_rollup_watermarks"], list(ROLLUP_WATERMARKS))
                await conn.execute(QUERIES["retire_baselines"])
                layout = dataclasses.replace(layout, changed=True)
        if layout.changed:
            logger.warning(
                "the source changed: rollups and baselines are rebuilt from the new source",
                extra={
                    "action": "source_changed",
                    "table": layout.metrics.table,
                    "shape": layout.metrics.shape,
                },
            )
        self.layout = layout
        return layout

    async def status(self, now: datetime) -> SourceStatus | None:
        """The source as found at the last `apply`, its size and newest row; None before."""
        layout = self.layout
        if layout is None:
            return None
        async with self._db.connection() as conn:
            rows = await conn.fetchval(
                QUERIES["table_row_estimate"], quote_table(layout.metrics.table)
            )
            newest = await conn.fetchval(QUERIES["source_newest"])
            failed = None
            if layout.metrics.failed is not None:
                failed = await conn.fetchval(
                    QUERIES["source_failed_since"], now - timedelta(days=1)
                )
        return SourceStatus(layout, max(0, int(rows or 0)), newest, failed)

    async def merges(self, start: datetime, end: datetime) -> list[MergeRecord]:
        """Merge records from the configured source started in [start, end), oldest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["merges_between"], start, end)
        return [
            MergeRecord.model_validate({k: v for k, v in dict(r).items() if v is not None})
            for r in rows
        ]


async def _columns(
    conn: "asyncpg.pool.PoolConnectionProxy[Any]", table: str
) -> dict[str, str] | None:
    """The columns of `table` with their types, or None when it does not exist."""
    exists = await conn.fetchval(QUERIES["table_exists"], quote_table(table))
    if not exists:
        return None
    rows = await conn.fetch(QUERIES["table_columns"], quote_table(table))
    return {r["name"]: r["type"] for r in rows}


async def _check_readable(
    conn: "asyncpg.pool.PoolConnectionProxy[Any]", table: str, columns: tuple[str, ...]
) -> None:
    """ConfigError naming the grant when perfbot's role may not read `columns` of `table`
    (creating a view over them would not notice; reading through it would fail every cycle)."""
    denied = await conn.fetch(QUERIES["unreadable_columns"], quote_table(table), list(columns))
    if denied:
        user = await conn.fetchval(QUERIES["current_user"])
        names = ", ".join(r["name"] for r in denied)
        raise errors.ConfigError(
            [
                f"source: perfbot's role {user} may not read {table} ({names}); grant it with: "
                f"GRANT SELECT ON {table} TO {quote_ident(user)};"
            ]
        )
