"""The `source:` section: where metrics and merges are read from, and their column names.

Table and column names end up in SQL as identifiers (they cannot be bound as values), so they
are checked here to be plain names."""

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bot.config.section import Section, zone_name
from bot.durations import Duration

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def _qualified_name(value: str) -> str:
    parts = value.split(".")
    if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
        raise ValueError(f"{value!r} is not a table name like schema.table")
    return value


def _column_name(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"{value!r} is not a plain column name")
    return value


class MetricColumns(Section):
    operation_type: str = "operation_type"
    duration_ms: str = "duration_ms"
    recorded_at: str = "recorded_at"

    _check = field_validator("*")(_column_name)


class MergeColumns(Section):
    """Column names of the merges table; `merge_id`, `strategy` and `user_name` may be null to
    mean "the source has no such column"."""

    merge_id: str | None = "merge_id"
    source_branch: str = "source_branch"
    target_branch: str = "target_branch"
    status: str = "status"
    strategy: str | None = "strategy"
    conflicts: str = "conflicts"
    auto_resolved: str = "auto_resolved"
    auto_failed: str = "auto_failed"
    base_find: str = "base_find_ms"
    conflict_detect: str = "conflict_detect_ms"
    auto_resolve: str = "auto_resolve_ms"
    total: str = "total_ms"
    started_at: str = "started_at"
    completed_at: str | None = "completed_at"
    user_name: str | None = "user_name"

    @field_validator("*")
    @classmethod
    def _check(cls, value: str | None) -> str | None:
        return None if value is None else _column_name(value)


PGGIT_MERGE_COLUMNS = MergeColumns(
    merge_id="merge_metric_id",
    source_branch="source_branch_id",
    target_branch="target_branch_id",
    status="merge_status",
    strategy=None,
    conflicts="conflict_count",
    auto_resolved="auto_resolution_success_count",
    auto_failed="auto_resolution_failure_count",
    base_find="merge_base_calculation_us",
    conflict_detect="conflict_detection_us",
    auto_resolve="auto_resolution_us",
    total="total_merge_us",
    started_at="started_at",
    completed_at="completed_at",
    user_name="user_name",
)


class SourceSettings(Section):
    """Where metrics and merges are read from.

    `preset: pggit` reads pgGit's own `pggit.performance_metrics` in place, whichever of the
    shapes pgGit has shipped it has (found in the catalog at start, see `bot.store.source_shape`),
    and its merge phases where that shape has them. Otherwise `table` and `columns` name any
    latency table; `merges_table: null` means the source has no merge records.

    `timezone` is the zone the writers' naive `timestamp` columns are in (default: the database's
    `TimeZone`, read at start); `timestamptz` columns need none.

    Rows become visible when their transaction commits, possibly minutes after their timestamp:
    each refresh re-counts the last `late_grace` of the source and rebuilds any minute whose count
    grew; once an hour the last `late_check` is re-counted per hour the same way."""

    preset: Literal["perfbot", "pggit"] = "perfbot"
    table: str = "perfbot.metrics"
    columns: MetricColumns = Field(default_factory=MetricColumns)
    merges_table: str | None = "perfbot.merges"
    merge_columns: MergeColumns = Field(default_factory=MergeColumns)
    merge_duration_unit: Literal["ms", "us"] = "ms"
    timezone: str | None = None
    late_grace: Duration = Field(default=timedelta(minutes=15), ge=timedelta(minutes=1))
    late_check: Duration = Field(default=timedelta(hours=24), ge=timedelta(0))

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _qualified_name(value)

    @field_validator("merges_table")
    @classmethod
    def _merges_table(cls, value: str | None) -> str | None:
        return None if value is None else _qualified_name(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else zone_name(value)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") == "pggit":
            filled = {
                "table": "pggit.performance_metrics",
                "merges_table": "pggit.merge_performance_metrics",
                "merge_columns": PGGIT_MERGE_COLUMNS.model_dump(),
                "merge_duration_unit": "us",
            }
            return {**filled, **data}
        return data
