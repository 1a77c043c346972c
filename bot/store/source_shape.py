"""What the configured source table looks like, found in the catalog at start.

`source:` names a table and its columns, or `preset: pggit`, whose `pggit.performance_metrics`
has had three shapes (../shared/reference/pggit-schema.md):

- A, pgGit v0.1 "Phase 7": `recorded_at`, `duration_ms`, `error_details` (failed operations,
  kept out of the latencies and counted apart), and merge phases in
  `pggit.merge_performance_metrics` with branch ids resolved through `pggit.branches`;
- B, pgGit main / v0.2.x: `started_at`/`completed_at`, a nullable `duration_ms`, no merge phases;
- C, pgGit v0.5.0: `metric_type`/`metric_value`; the types ending in `_ms` are durations (the
  operation is the type without `_ms`), the others are counts and are left out.

A `MetricsLayout` is the resolved mapping: the SQL expressions the source view selects, the time
column in its own type (so predicates on it use the source's index) and the zone its naive
values are in. Identifiers come from validated settings or the catalog and are quoted here."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

from bot import errors
from bot.config import SourceSettings
from bot.config.source import MergeColumns

PGGIT_BRANCHES = "pggit.branches"
KINDS_FUNCTION = "perfbot.source_kinds"
NAIVE = "timestamp without time zone"
AWARE = "timestamp with time zone"


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_table(qualified: str) -> str:
    """`schema.table` → `"schema"."table"`."""
    return ".".join(quote_ident(part) for part in qualified.split("."))


@dataclass(frozen=True)
class MetricsLayout:
    """How the metrics view reads the source table."""

    table: str
    operation: str  # SQL expression → operation name
    duration_ms: str  # SQL expression → milliseconds
    time_column: str  # the column the incremental scan filters on, in its own type
    naive: bool  # `timestamp without time zone`: its values are local times in `timezone`
    shape: str  # what was found, for `db status` and the logs
    provides: tuple[str, ...] = ()
    where: tuple[str, ...] = ()  # rows that are latencies
    failed: str | None = None  # predicate of failed operations, counted apart (shape A)
    timezone: str = "UTC"
    reads: tuple[str, ...] = ()  # the table's columns the view reads (privileges are checked)
    # (column, LIKE pattern): the view reads only rows whose column is one of its distinct values
    # matching the pattern, listed by `KINDS_FUNCTION` (pgGit shape C's duration metric types)
    kinds: tuple[str, str] | None = None

    @property
    def identity(self) -> str:
        """What rollups built from this layout depend on; a change means rebuilding them."""
        return json.dumps(
            {
                "table": self.table,
                "operation": self.operation,
                "duration_ms": self.duration_ms,
                "time": self.time_column,
                "timezone": self.timezone if self.naive else None,
                "where": list(self.where),
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class MergesLayout:
    """How the merges view reads the source's merge records (None: the source has none)."""

    table: str
    columns: MergeColumns
    unit: str  # "ms" or "us"
    branches: str | None = None  # a table (branch_id, branch_name) naming the branch ids
    naive: bool = False
    timezone: str = "UTC"

    @property
    def reads(self) -> tuple[str, ...]:
        """The merge table's columns the view reads."""
        return tuple(c for c in self.columns.model_dump().values() if c)


@dataclass(frozen=True)
class SourceLayout:
    metrics: MetricsLayout
    merges: MergesLayout | None
    changed: bool = False  # another source was read before: rollups and baselines are rebuilt


def _time_type(table: str, column: str, columns: Mapping[str, str], where: str) -> bool:
    """True when `column` is a naive timestamp; ConfigError unless it is a timestamp at all."""
    kind = columns.get(column)
    if kind is None:
        raise errors.ConfigError(
            [f"{where}: column {column!r} does not exist in {table} (check source column names)"]
        )
    if kind not in (NAIVE, AWARE):
        raise errors.ConfigError(
            [f"{where}: column {column!r} of {table} is {kind}, not a timestamp"]
        )
    return kind == NAIVE


def _require(table: str, columns: Mapping[str, str], needed: list[str], where: str) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise errors.ConfigError(
            [f"{where}: {table} has no column {names} (check source column names)"]
        )


def configured_metrics(
    settings: SourceSettings, columns: Mapping[str, str], timezone: str
) -> MetricsLayout:
    """The layout `source.table` and `source.columns` describe."""
    c = settings.columns
    _require(settings.table, columns, [c.operation_type, c.duration_ms], "source.columns")
    naive = _time_type(settings.table, c.recorded_at, columns, "source.columns.recorded_at")
    return MetricsLayout(
        table=settings.table,
        operation=quote_ident(c.operation_type),
        duration_ms=quote_ident(c.duration_ms),
        time_column=quote_ident(c.recorded_at),
        naive=naive,
        shape="perfbot" if settings.table == "perfbot.metrics" else "custom",
        where=(f"{quote_ident(c.duration_ms)} IS NOT NULL",),
        timezone=timezone,
        reads=(c.operation_type, c.duration_ms, c.recorded_at),
    )


def pggit_metrics(table: str, columns: Mapping[str, str], timezone: str) -> MetricsLayout:
    """The layout of pgGit's `performance_metrics` in whichever shape the catalog shows."""
    if {"metric_type", "metric_value", "recorded_at"} <= columns.keys():
        return MetricsLayout(
            table=table,
            operation='left("metric_type", -3)',
            duration_ms='"metric_value"',
            time_column='"recorded_at"',
            naive=_time_type(table, "recorded_at", columns, "source"),
            shape="pgGit v0.5.0 (shape C: metric_type/metric_value)",
            provides=(
                "latencies from the metric types ending in _ms (the operation is the type "
                "without _ms); other metric types are counts and are not read",
                "no merge phases",
            ),
            # The duration types, listed through pgGit's (metric_type, recorded_at) index, make
            # that index serve the time range too (a LIKE on the type alone cannot).
            where=(f'"metric_type" = ANY({KINDS_FUNCTION}())', '"metric_value" IS NOT NULL'),
            timezone=timezone,
            reads=("metric_type", "metric_value", "recorded_at"),
            kinds=("metric_type", "%\\_ms"),
        )
    if {"operation_type", "duration_ms", "recorded_at"} <= columns.keys():
        failed = '"error_details" IS NOT NULL' if "error_details" in columns else None
        return MetricsLayout(
            table=table,
            operation='"operation_type"',
            duration_ms='"duration_ms"',
            time_column='"recorded_at"',
            naive=_time_type(table, "recorded_at", columns, "source"),
            shape="pgGit v0.1 Phase 7 (shape A)",
            provides=(
                "latencies of every operation; failed operations (error_details set) are "
                "counted apart, not scored as latencies",
                "merge phases from pggit.merge_performance_metrics, with branch names",
            ),
            where=('"duration_ms" IS NOT NULL', *(("NOT (" + failed + ")",) if failed else ())),
            failed=failed,
            timezone=timezone,
            reads=(
                "operation_type",
                "duration_ms",
                "recorded_at",
                *(("error_details",) if failed else ()),
            ),
        )
    if {"operation_type", "duration_ms", "started_at"} <= columns.keys():
        return MetricsLayout(
            table=table,
            operation='"operation_type"',
            duration_ms='"duration_ms"',
            time_column='"started_at"',
            naive=_time_type(table, "started_at", columns, "source"),
            shape="pgGit v0.2.x main branch (shape B: started_at/completed_at)",
            provides=(
                "latencies of every operation, timed by started_at (pgGit's index)",
                "no merge phases (pgGit keeps merge outcomes without phase durations)",
            ),
            where=('"duration_ms" IS NOT NULL',),
            timezone=timezone,
            reads=("operation_type", "duration_ms", "started_at"),
        )
    found = ", ".join(sorted(columns)) or "no columns"
    raise errors.ConfigError(
        [
            f"source: {table} matches none of the pgGit shapes perfbot knows (found: {found}); "
            "name its columns under source.columns instead of preset: pggit"
        ]
    )


def merges_layout(
    settings: SourceSettings,
    columns: Mapping[str, str] | None,
    branches: Mapping[str, str] | None,
    timezone: str,
) -> MergesLayout | None:
    """The merges layout, or None when the source has no merge records: no `merges_table`, or
    pgGit's merge table absent (pgGit shapes B and C)."""
    table = settings.merges_table
    if table is None:
        return None
    if columns is None:
        if settings.preset == "pggit":
            return None
        raise errors.ConfigError([f"source.merges_table: table {table} does not exist"])
    c = settings.merge_columns
    needed = [
        c.source_branch,
        c.target_branch,
        c.status,
        c.conflicts,
        c.auto_resolved,
        c.auto_failed,
        c.base_find,
        c.conflict_detect,
        c.auto_resolve,
        c.total,
    ]
    optional = [c.merge_id, c.strategy, c.completed_at, c.user_name]
    _require(table, columns, needed + [o for o in optional if o], "source.merge_columns")
    naive = _time_type(table, c.started_at, columns, "source.merge_columns.started_at")
    names = None
    if settings.preset == "pggit" and branches and {"branch_id", "branch_name"} <= branches.keys():
        names = PGGIT_BRANCHES
    return MergesLayout(
        table=table,
        columns=c,
        unit=settings.merge_duration_unit,
        branches=names,
        naive=naive,
        timezone=timezone,
    )
