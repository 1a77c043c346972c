"""Validation of metric and merge input (CSV files, JSON bodies) before it reaches the store.

A CSV is validated row by row while it streams into PostgreSQL's COPY, so a large file is read
once and validation overlaps the server's work. The first bad row stops everything: the error
names its line and reason, and the surrounding transaction stores nothing. Operation names must
match `bot.models.operations.OPERATION_NAME_PATTERN`; a CSV's new names are also counted against
the room the caps leave (`NewOperations`), and the store admits them before it commits.

The JSON API takes recent data only: with `lookback` (the detection lookback), an item older
than that is refused, so that nobody can rewrite the reference a live incident is scored
against; `perfbot ingest` (a CSV) is the way to load history."""

import csv
import io
import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from bot.durations import format_duration
from bot.errors import IngestError, MalformedJson
from bot.models import EARLIEST, Admission, MergeRecord, Metric, operation_name_problem

METRIC_COLUMNS = ("operation_type", "duration_ms", "recorded_at", "branch", "user_name")
METRIC_REQUIRED = ("operation_type", "duration_ms", "recorded_at")
MERGE_COLUMNS = tuple(MergeRecord.model_fields)
MERGE_REQUIRED = tuple(n for n, f in MergeRecord.model_fields.items() if f.is_required())

T = TypeVar("T")
CHUNK_BYTES = 1 << 20
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass
class NewOperations:
    """The operation names of a streamed input that are not `known`, with the line each first
    appeared on; the row that brings one more than `room.room` of them is refused."""

    known: frozenset[str]
    room: Admission
    first_line: dict[str, int] = field(default_factory=dict)

    def see(self, name: str, line: int) -> None:
        if name in self.known or name in self.first_line:
            return
        if len(self.first_line) >= self.room.room:
            raise IngestError(line, self.room.refusal([name]))
        self.first_line[name] = line


@dataclass
class IngestSummary:
    """What a validated input held."""

    rows: int = 0
    first: datetime | None = None
    last: datetime | None = None
    columns: tuple[str, ...] = field(default_factory=tuple)


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 with an offset (`Z` allowed); a timestamp without one is taken as UTC."""
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_header(
    row: list[str], allowed: tuple[str, ...], required: tuple[str, ...]
) -> tuple[str, ...]:
    """The column names of a CSV header, checked against the allowed and required sets."""
    names = tuple(name.strip().lower() for name in row)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise IngestError(
            1, f"unknown column {unknown[0]!r}; allowed columns: {', '.join(allowed)}"
        )
    duplicate = [n for n in names if names.count(n) > 1]
    if duplicate:
        raise IngestError(1, f"column {duplicate[0]!r} appears twice")
    missing = [n for n in required if n not in names]
    if missing:
        raise IngestError(1, f"missing column {missing[0]!r}; required: {', '.join(required)}")
    return names


class _LineRecorder:
    """Feeds lines to csv.reader and keeps the raw text it consumed, so validated rows can be
    forwarded byte for byte."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.buffer: list[str] = []
        self.size = 0

    def __iter__(self) -> "_LineRecorder":
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.buffer.append(line)
        self.size += len(line)
        return line

    def take(self) -> bytes:
        data = "".join(self.buffer).encode("utf-8")
        self.buffer.clear()
        self.size = 0
        return data


class MetricCsv:
    """Validates a metrics CSV (header `operation_type,duration_ms,recorded_at[,branch,user_name]`
    in any order) and yields it in chunks of raw bytes for COPY … (FORMAT csv, HEADER true)."""

    def __init__(
        self,
        stream: IO[bytes],
        *,
        now: datetime,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        self._now = now
        self._on_progress = on_progress
        self.summary = IngestSummary()
        self._recorder = _LineRecorder(iter(self._text))
        self._reader = csv.reader(self._recorder, strict=True)
        try:
            header = next(self._reader)
        except StopIteration:
            raise IngestError(None, "the file is empty; expected a header line") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise IngestError(1, f"not a CSV header: {exc}") from None
        self.summary.columns = parse_header(header, METRIC_COLUMNS, METRIC_REQUIRED)
        self._new: NewOperations | None = None

    def watch_operations(self, known: frozenset[str], room: Admission) -> dict[str, int]:
        """Count new operation names while streaming (refusing the row past `room`); returns
        the live map of each new name to the line it first appeared on."""
        self._new = NewOperations(known, room)
        return self._new.first_line

    async def chunks(self) -> AsyncIterator[bytes]:
        """Validated raw CSV, header first; raises IngestError at the first bad row."""
        columns = self.summary.columns
        check = _RowCheck(
            width=len(columns),
            i_op=columns.index("operation_type"),
            i_ms=columns.index("duration_ms"),
            i_at=columns.index("recorded_at"),
            latest=self._now + FUTURE_TOLERANCE,
            new=self._new,
        )
        summary = self.summary
        recorder = self._recorder
        reader = self._reader
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                raise IngestError(reader.line_num, f"malformed CSV: {exc}") from None
            when = check(row, reader.line_num)
            summary.rows += 1
            if summary.first is None or when < summary.first:
                summary.first = when
            if summary.last is None or when > summary.last:
                summary.last = when
            if recorder.size >= CHUNK_BYTES:
                yield self._flush()
        if recorder.buffer:
            yield self._flush()

    def _flush(self) -> bytes:
        size = self._recorder.size
        data = self._recorder.take()
        if self._on_progress:
            self._on_progress(size)
        return data


@dataclass(frozen=True)
class _RowCheck:
    """Validates one metrics row; returns its recorded_at (UTC)."""

    width: int
    i_op: int
    i_ms: int
    i_at: int
    latest: datetime
    new: NewOperations | None = None

    def __call__(self, row: list[str], line: int) -> datetime:
        if len(row) != self.width:
            raise IngestError(
                line, f"expected {self.width} fields, found {len(row)}" if row else "empty line"
            )
        op = row[self.i_op]
        problem = operation_name_problem(op)
        if problem is not None:
            raise IngestError(line, f"operation_type {problem}")
        try:
            duration = float(row[self.i_ms])
        except ValueError:
            raise IngestError(line, f"duration_ms {row[self.i_ms]!r} is not a number") from None
        if not (0.0 <= duration < math.inf):
            raise IngestError(line, f"duration_ms {row[self.i_ms]!r} must be a finite number ≥ 0")
        try:
            when = parse_timestamp(row[self.i_at])
        except ValueError:
            raise IngestError(
                line, f"recorded_at {row[self.i_at]!r} is not an ISO 8601 timestamp"
            ) from None
        if when > self.latest:
            raise IngestError(
                line, f"recorded_at {row[self.i_at]!r} is more than a day in the future"
            )
        if when < EARLIEST:
            raise IngestError(line, f"recorded_at {row[self.i_at]!r} is before 1970")
        if self.new is not None:
            self.new.see(op, line)
        return when


def merge_records_from_csv(stream: IO[bytes]) -> list[MergeRecord]:
    """Every row of a merges CSV as a MergeRecord; raises IngestError at the first bad row."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise IngestError(None, "the file is empty; expected a header line") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise IngestError(1, f"not a CSV header: {exc}") from None
    columns = parse_header(header, MERGE_COLUMNS, MERGE_REQUIRED)
    records: list[MergeRecord] = []
    try:
        for row in reader:
            if len(row) != len(columns):
                raise IngestError(
                    reader.line_num, f"expected {len(columns)} fields, found {len(row)}"
                )
            data = {k: (v if v.strip() != "" else None) for k, v in zip(columns, row, strict=True)}
            records.append(_merge(data, reader.line_num))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise IngestError(reader.line_num, f"malformed CSV: {exc}") from None
    return records


def _merge(data: dict[str, Any], line: int | None) -> MergeRecord:
    for key in ("started_at", "completed_at"):
        if isinstance(data.get(key), str):
            try:
                data[key] = parse_timestamp(data[key])
            except ValueError:
                raise IngestError(
                    line, f"{key} {data[key]!r} is not an ISO 8601 timestamp"
                ) from None
    try:
        return MergeRecord.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        raise IngestError(line, describe(exc)) from None


_METRICS = TypeAdapter(list[Metric])
_MERGES = TypeAdapter(list[MergeRecord])


def describe(exc: ValidationError, prefix: str = "") -> str:
    """The first validation problem as `field: reason` (input values are not echoed)."""
    first = exc.errors(include_input=False, include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = _message(first["msg"])
    return f"{prefix}{loc}: {msg}" if loc else f"{prefix}{msg}"


def _message(msg: str) -> str:
    """A pydantic message without the "Value error, " of our own validators' reasons."""
    return msg.removeprefix("Value error, ")


def _json_array(adapter: TypeAdapter[list[T]], body: bytes | str, what: str) -> list[T]:
    """The body parsed and validated in one pass, strictly: a number must be a JSON number and
    a string a JSON string (`true` is not a duration, `"5"` is not a count)."""
    try:
        return adapter.validate_json(body, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        if first["type"] == "json_invalid":
            raise MalformedJson(None, f"malformed JSON: {first['ctx']['error']}") from None
        if not first["loc"]:
            raise IngestError(None, f"expected a JSON array of {what} objects") from None
        index, *rest = first["loc"]
        where = ".".join(str(p) for p in rest)
        raise IngestError(
            None, f"item {index}: {where + ': ' if where else ''}{_message(first['msg'])}"
        ) from None


def _too_old(i: int, key: str, now: datetime, lookback: timedelta) -> IngestError:
    return IngestError(
        None,
        f"item {i}: {key} is older than detection.lookback ({format_duration(lookback)}, "
        f"before {now - lookback:%Y-%m-%dT%H:%M:%SZ}); the API takes recent data only, "
        "load history with `perfbot ingest FILE.csv`",
    )


def metrics_from_json(
    body: bytes | str, *, now: datetime, lookback: timedelta | None = None
) -> list[Metric]:
    """A JSON array of metric objects (the raw body), validated; raises MalformedJson if it is
    not JSON, IngestError naming the first bad item otherwise (one recorded more than
    `lookback` before `now` too)."""
    metrics = _json_array(_METRICS, body, "metric")
    latest = now + FUTURE_TOLERANCE
    for i, metric in enumerate(metrics):
        if metric.recorded_at > latest:
            raise IngestError(None, f"item {i}: recorded_at is more than a day in the future")
        if lookback is not None and metric.recorded_at < now - lookback:
            raise _too_old(i, "recorded_at", now, lookback)
    return metrics


def merges_from_json(
    body: bytes | str, *, now: datetime | None = None, lookback: timedelta | None = None
) -> list[MergeRecord]:
    """A JSON array of merge records (the raw body), validated; raises MalformedJson if it is
    not JSON, IngestError naming the first bad item otherwise (with `now` and `lookback`, one
    started more than `lookback` before `now` too)."""
    merges = _json_array(_MERGES, body, "merge")
    if now is not None and lookback is not None:
        for i, merge in enumerate(merges):
            if merge.started_at < now - lookback:
                raise _too_old(i, "started_at", now, lookback)
    return merges
