"""The source repository: `perfbot.source_metrics` and `perfbot.source_merges` are views that
every detection query reads, and the raw metrics and merges perfbot shows are read through them.
By default they select from perfbot's own tables; `source:` in the configuration points them at
another table, such as pgGit's `pggit.performance_metrics`, which perfbot then reads in place
without copying.

View definitions contain identifiers, which cannot be bound as parameters; they come only from
`SourceSettings`, whose validators accept plain identifiers, and are quoted here as well."""

from datetime import datetime

import asyncpg

from bot import errors
from bot.config import SourceSettings
from bot.models import MergeRecord
from bot.store import migrate
from bot.store.connector import Connector
from bot.store.queries import QUERIES

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


class SourceRepository:
    """The source views over one connector: (re)created from the configuration, then read."""

    def __init__(self, connector: Connector) -> None:
        self._db = connector

    async def apply(self, settings: SourceSettings) -> None:
        """(Re)create the source views from the configuration. Raises ConfigError when the
        configured table or a column does not exist."""
        statements = [
            ("source.table", settings.table, metrics_view_sql(settings)),
            ("source.merges_table", settings.merges_table, merges_view_sql(settings)),
        ]
        async with self._db.transaction() as conn:
            await conn.execute(QUERIES["advisory_xact_lock"], migrate.ADVISORY_LOCK_KEY)
            for where, table, ddl in statements:
                try:
                    async with conn.transaction():  # a savepoint: a failed attempt can be retried
                        await conn.execute(ddl)
                except asyncpg.exceptions.UndefinedTableError:
                    raise errors.ConfigError([f"{where}: table {table} does not exist"]) from None
                except asyncpg.exceptions.UndefinedColumnError as exc:
                    raise errors.ConfigError(
                        [f"{where}: {exc.args[0] if exc.args else exc} (check source column names)"]
                    ) from None
                except asyncpg.exceptions.InvalidTableDefinitionError:
                    # The view's shape changed in a newer perfbot; rebuild it.
                    view = METRICS_VIEW if where == "source.table" else MERGES_VIEW
                    await conn.execute(drop_view_sql(view))
                    await conn.execute(ddl)

    async def merges(self, start: datetime, end: datetime) -> list[MergeRecord]:
        """Merge records from the configured source started in [start, end), oldest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(QUERIES["merges_between"], start, end)
        return [
            MergeRecord.model_validate({k: v for k, v in dict(r).items() if v is not None})
            for r in rows
        ]
