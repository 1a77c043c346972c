"""The metric source mapping: `perfbot.source_metrics` and `perfbot.source_merges` are views that
every detection query reads. By default they select from perfbot's own tables; `source:` in the
configuration points them at another table, such as pgGit's `pggit.performance_metrics`, which
perfbot then reads in place without copying.

View definitions contain identifiers, which cannot be bound as parameters; they come only from
`SourceSettings`, whose validators accept plain identifiers, and are quoted here as well."""

from bot.config import SourceSettings

METRICS_VIEW = "perfbot.source_metrics"
MERGES_VIEW = "perfbot.source_merges"


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_table(qualified: str) -> str:
    """`schema.table` → `"schema"."table"`."""
    return ".".join(quote_ident(part) for part in qualified.split("."))


def metrics_view_sql(source: SourceSettings) -> str:
    """CREATE OR REPLACE VIEW for the metrics source; casts keep the view's column types fixed."""
    c = source.columns
    columns = [
        f"{quote_ident(c.operation_type)}::text AS operation_type",
        f"{quote_ident(c.duration_ms)}::double precision AS duration_ms",
        f"{quote_ident(c.recorded_at)}::timestamptz AS recorded_at",
    ]
    return _view(METRICS_VIEW, columns, source.table)


def merges_view_sql(source: SourceSettings) -> str:
    """CREATE OR REPLACE VIEW for the merges source, converting µs to ms when needed."""
    c = source.merge_columns
    scale = " / 1000.0" if source.merge_duration_unit == "us" else ""

    def text(column: str | None, alias: str) -> str:
        return f"{quote_ident(column)}::text AS {alias}" if column else f"NULL::text AS {alias}"

    def count(column: str, alias: str) -> str:
        return f"coalesce({quote_ident(column)}, 0)::integer AS {alias}"

    def duration(column: str, alias: str) -> str:
        return f"({quote_ident(column)}::double precision{scale}) AS {alias}"

    completed = (
        f"{quote_ident(c.completed_at)}::timestamptz AS completed_at"
        if c.completed_at
        else "NULL::timestamptz AS completed_at"
    )
    columns = [
        text(c.merge_id, "merge_id"),
        text(c.source_branch, "source_branch"),
        text(c.target_branch, "target_branch"),
        text(c.status, "status"),
        text(c.strategy, "strategy"),
        count(c.conflicts, "conflicts"),
        count(c.auto_resolved, "auto_resolved"),
        count(c.auto_failed, "auto_failed"),
        duration(c.base_find, "base_find_ms"),
        duration(c.conflict_detect, "conflict_detect_ms"),
        duration(c.auto_resolve, "auto_resolve_ms"),
        duration(c.total, "total_ms"),
        f"{quote_ident(c.started_at)}::timestamptz AS started_at",
        completed,
        text(c.user_name, "user_name"),
    ]
    return _view(MERGES_VIEW, columns, source.merges_table)


def _view(view: str, columns: list[str], table: str) -> str:
    # Every identifier was validated by SourceSettings and is quoted here.
    return " ".join(
        [
            "CREATE OR REPLACE VIEW",
            view,
            "AS SELECT",
            ", ".join(columns),
            "FROM",
            quote_table(table),
        ]
    )


def drop_view_sql(view: str) -> str:
    """DROP VIEW for one of the two source views (a closed set)."""
    if view not in (METRICS_VIEW, MERGES_VIEW):
        raise ValueError(f"not a source view: {view}")
    return f"DROP VIEW {view}"
