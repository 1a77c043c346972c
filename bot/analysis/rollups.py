"""Rollups: the columnar, mergeable summary of latencies that every detector reads.

One row per (operation, time bucket) holds the count, the sum and M2 (sum of squared deviations
from the bucket mean) of the durations in ms and in ln(ms), the exact extremes, and a sparse
log-bucket histogram (`bot.analysis.histogram`) flattened into (row, bucket, count) triples. The
store keeps per-minute and per-hour rollups in PostgreSQL with the same columns and hands them
over through `Rollups.from_records`; tests, benchmarks and `score_series` build them from raw
samples with `Rollups.from_values`. Rows merge exactly: moments by Chan's parallel formula,
histograms by adding counts."""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from bot.analysis.histogram import MIN_MS, N_BUCKETS, FloatArray, IntArray, bucket_index, unpack

DatetimeArray = npt.NDArray[np.datetime64]

_EMPTY_INT: IntArray = np.zeros(0, dtype=np.int64)


def as_datetime64(moment: datetime) -> np.datetime64:
    """An aware datetime as numpy datetime64[s] (UTC, naive as numpy requires)."""
    return np.datetime64(int(moment.timestamp()), "s")


def as_datetime(moment: np.datetime64) -> datetime:
    """A numpy datetime64 (taken as UTC) as an aware datetime."""
    seconds = int(moment.astype("datetime64[s]").astype(np.int64))
    return datetime.fromtimestamp(seconds, tz=UTC)


class Moments(NamedTuple):
    """Per-group merged rollup columns (durations in ms, logs in ln(ms))."""

    n: IntArray
    sum_ms: FloatArray
    m2_ms: FloatArray
    sum_log: FloatArray
    m2_log: FloatArray
    min_ms: FloatArray
    max_ms: FloatArray


def merge_rows(rows: "Rollups", key: IntArray, size: int) -> Moments:
    """Merge the rows of `rows` that share a group `key` (0 <= key < size), exactly; groups
    without rows get n = 0 and infinite extremes. Histograms are left to the caller."""
    n, sum_ms, m2_ms = _moments(key, size, rows.n, rows.sum_ms, rows.m2_ms)
    _, sum_log, m2_log = _moments(key, size, rows.n, rows.sum_log, rows.m2_log)
    min_ms = np.full(size, np.inf)
    max_ms = np.full(size, -np.inf)
    np.minimum.at(min_ms, key, rows.min_ms)
    np.maximum.at(max_ms, key, rows.max_ms)
    return Moments(n, sum_ms, m2_ms, sum_log, m2_log, min_ms, max_ms)


def _moments(
    key: IntArray, size: int, n: IntArray, total: FloatArray, m2: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    # Chan's parallel formula generalised to many parts: M2 = sum(M2_i) + sum(n_i (mean_i -
    # mean)^2), so no sum of squares is formed and cancellation cannot eat the variance.
    n_g = np.bincount(key, weights=n, minlength=size)
    sum_g: FloatArray = np.bincount(key, weights=total, minlength=size).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_g = np.where(n_g > 0, sum_g / n_g, 0.0)
        mean_i = np.where(n > 0, total / np.maximum(n, 1), 0.0)
    spread = n * (mean_i - mean_g[key]) ** 2
    m2_g: FloatArray = np.bincount(key, weights=m2 + spread, minlength=size).astype(np.float64)
    return np.rint(n_g).astype(np.int64), sum_g, m2_g


def _compact(dense: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct non-negative ids in `dense`, ascending, and each element's index among
    them. A lookup table when the id range is modest (no sort: 10 M samples in ~0.1 s)."""
    span = int(dense.max()) + 1 if len(dense) else 0
    if span > 50_000_000:
        present, group = np.unique(dense, return_inverse=True)
        return present, group.astype(np.int64)
    seen = np.zeros(span, dtype=bool)
    seen[dense] = True
    present = np.flatnonzero(seen)
    lookup = np.cumsum(seen) - 1
    return present.astype(np.int64), lookup[dense].astype(np.int64)


@dataclass(frozen=True, eq=False)
class Rollups:
    """Rollup rows in columns. `op` indexes `operations`; `bucket` is each row's bucket start
    (datetime64[s], UTC); `hist_*` are the flattened sparse histograms, sorted by row, and may
    be empty when the source skipped them. Durations are ms."""

    operations: tuple[str, ...]
    op: IntArray
    bucket: DatetimeArray
    n: IntArray
    sum_ms: FloatArray
    m2_ms: FloatArray
    sum_log: FloatArray
    m2_log: FloatArray
    min_ms: FloatArray
    max_ms: FloatArray
    hist_row: IntArray
    hist_idx: IntArray
    hist_cnt: IntArray
    resolution_s: int = 60

    def __post_init__(self) -> None:
        rows = len(self.op)
        columns = (self.bucket, self.n, self.sum_ms, self.m2_ms, self.sum_log, self.m2_log)
        if any(len(c) != rows for c in (*columns, self.min_ms, self.max_ms)):
            raise ValueError("rollup columns differ in length")
        if not len(self.hist_row) == len(self.hist_idx) == len(self.hist_cnt):
            raise ValueError("histogram columns differ in length")

    def __len__(self) -> int:
        return len(self.op)

    @property
    def has_histograms(self) -> bool:
        """Whether histograms were loaded (a row always has at least one histogram entry)."""
        return len(self.hist_row) > 0 or len(self.op) == 0

    @cached_property
    def time_sorted(self) -> bool:
        return bool(np.all(self.bucket[1:] >= self.bucket[:-1]))

    @classmethod
    def empty(cls, operations: Sequence[str] = (), resolution_s: int = 60) -> "Rollups":
        """No rows."""
        f: FloatArray = np.zeros(0)
        t: DatetimeArray = np.zeros(0, dtype="datetime64[s]")
        i = _EMPTY_INT
        return cls(tuple(operations), i, t, i, f, f, f, f, f, f, i, i, i, resolution_s)

    @classmethod
    def from_values(
        cls,
        operations: Sequence[str],
        op_codes: npt.ArrayLike,
        timestamps: npt.ArrayLike,
        values_ms: npt.ArrayLike,
        resolution_s: int = 60,
    ) -> "Rollups":
        """Aggregate raw samples (operation code, datetime64 time, duration ms) into rollups of
        `resolution_s` seconds, as the store's SQL does. Rows come out sorted by (bucket, op)."""
        values = np.asarray(values_ms, dtype=np.float64)
        if len(values) == 0:
            return cls.empty(operations, resolution_s)
        # Each sample is a one-request rollup row; coarsening merges them like any rows.
        count = len(values)
        ones = np.ones(count, dtype=np.int64)
        zeros = np.zeros(count)
        logs = np.log(np.maximum(values, MIN_MS))  # the floor the SQL rollups use
        samples = cls(
            tuple(operations),
            np.asarray(op_codes, dtype=np.int64),
            np.asarray(timestamps).astype("datetime64[s]"),
            ones,
            values,
            zeros,
            logs,
            zeros,
            values,
            values,
            np.arange(count, dtype=np.int64),
            bucket_index(values),
            ones,
            1,
        )
        return samples.coarsen(resolution_s)

    @classmethod
    def from_columns(
        cls,
        operation_type: Sequence[str],
        bucket: Sequence[datetime],
        n: Sequence[int],
        sum_ms: Sequence[float],
        m2_ms: Sequence[float],
        sum_log: Sequence[float],
        m2_log: Sequence[float],
        min_ms: Sequence[float],
        max_ms: Sequence[float],
        resolution_s: int = 60,
    ) -> "Rollups":
        """Rollups without histograms from plain columns as a query returns them (aware
        datetimes); `from_records` adds the histograms."""
        names, codes = np.unique(np.asarray(operation_type, dtype=object), return_inverse=True)
        stamps = np.array([int(b.timestamp()) for b in bucket], dtype=np.int64)
        return cls(
            tuple(str(x) for x in names),
            codes.astype(np.int64),
            stamps.astype("datetime64[s]"),
            np.asarray(n, dtype=np.int64),
            np.asarray(sum_ms, dtype=np.float64),
            np.asarray(m2_ms, dtype=np.float64),
            np.asarray(sum_log, dtype=np.float64),
            np.asarray(m2_log, dtype=np.float64),
            np.asarray(min_ms, dtype=np.float64),
            np.asarray(max_ms, dtype=np.float64),
            _EMPTY_INT,
            _EMPTY_INT,
            _EMPTY_INT,
            resolution_s,
        )

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], resolution_s: int = 60
    ) -> "Rollups":
        """Rollups from rows of `perfbot.rollup_minute` / `rollup_hour` (asyncpg Records or
        dicts with the table's column names; the packed histogram `hist` may be absent)."""
        rows = list(records)
        if not rows:
            return cls.empty((), resolution_s)

        def col(name: str) -> list[Any]:
            return [r[name] for r in rows]

        plain = cls.from_columns(
            col("operation_type"),
            col("bucket"),
            col("n"),
            col("sum_ms"),
            col("m2_ms"),
            col("sum_log"),
            col("m2_log"),
            col("min_ms"),
            col("max_ms"),
            resolution_s=resolution_s,
        )
        if rows[0].get("hist") is None:
            return plain
        packed = col("hist")
        lengths = np.fromiter((len(h) for h in packed), dtype=np.int64, count=len(packed))
        row, idx, cnt = unpack(b"".join(packed), lengths)
        return replace(plain, hist_row=row, hist_idx=idx, hist_cnt=cnt)

    def _masked(self, keep: npt.NDArray[np.bool_]) -> "Rollups":
        renumber = np.cumsum(keep) - 1
        hist_keep = keep[self.hist_row]
        return Rollups(
            self.operations,
            self.op[keep],
            self.bucket[keep],
            self.n[keep],
            self.sum_ms[keep],
            self.m2_ms[keep],
            self.sum_log[keep],
            self.m2_log[keep],
            self.min_ms[keep],
            self.max_ms[keep],
            renumber[self.hist_row[hist_keep]],
            self.hist_idx[hist_keep],
            self.hist_cnt[hist_keep],
            self.resolution_s,
        )

    def _sliced(self, lo: int, hi: int) -> "Rollups":
        # needles of the entries' type: else numpy converts every entry first
        h_lo, h_hi = np.searchsorted(self.hist_row, np.array([lo, hi], self.hist_row.dtype))
        return Rollups(
            self.operations,
            self.op[lo:hi],
            self.bucket[lo:hi],
            self.n[lo:hi],
            self.sum_ms[lo:hi],
            self.m2_ms[lo:hi],
            self.sum_log[lo:hi],
            self.m2_log[lo:hi],
            self.min_ms[lo:hi],
            self.max_ms[lo:hi],
            self.hist_row[h_lo:h_hi] - lo,
            self.hist_idx[h_lo:h_hi],
            self.hist_cnt[h_lo:h_hi],
            self.resolution_s,
        )

    def rows(self, lo: int, hi: int) -> "Rollups":
        """Rows lo..hi-1 (with their histograms)."""
        return self._sliced(lo, hi)

    def select(self, start: np.datetime64, end: np.datetime64) -> "Rollups":
        """Rows whose bucket starts in [start, end). O(log rows) on time-sorted rollups."""
        if self.time_sorted:
            lo, hi = np.searchsorted(self.bucket, [start, end])
            return self._sliced(int(lo), int(hi))
        return self._masked((self.bucket >= start) & (self.bucket < end))

    def exclude(self, start: np.datetime64, end: np.datetime64) -> "Rollups":
        """Rows whose bucket does not start in [start, end): a reference minus a new window."""
        return self._masked((self.bucket < start) | (self.bucket >= end))

    def without(self, cells: Mapping[str, Collection[datetime]]) -> "Rollups":
        """Rows except those of the given (operation, bucket start) cells; operations this
        rollup does not know are ignored. One pass over the rows, however many cells."""
        codes = {name: code for code, name in enumerate(self.operations)}
        pairs = [
            (codes[name], b) for name, buckets in cells.items() if name in codes for b in buckets
        ]
        if not pairs or not len(self):
            return self
        stamps = self.bucket.astype("datetime64[s]").astype(np.int64)
        drop_op = np.array([c for c, _ in pairs], dtype=np.int64)
        drop_at = np.array([int(b.timestamp()) for _, b in pairs], dtype=np.int64)
        # (op, bucket) as one key: seconds since the earliest stamp, times the operations.
        origin = min(int(stamps.min()), int(drop_at.min()))
        width = len(self.operations)
        drop = np.isin((stamps - origin) * width + self.op, (drop_at - origin) * width + drop_op)
        return self._masked(~drop) if drop.any() else self

    def recode(self, operations: Sequence[str]) -> "Rollups":
        """The same rows with op codes indexing `operations`; rows of other operations drop."""
        target = {name: i for i, name in enumerate(operations)}
        mapping = np.array([target.get(name, -1) for name in self.operations], dtype=np.int64)
        codes = mapping[self.op] if len(self.op) else self.op
        keep = codes >= 0
        moved = self._masked(keep) if not keep.all() else self
        return Rollups(
            tuple(operations),
            codes[keep],
            moved.bucket,
            moved.n,
            moved.sum_ms,
            moved.m2_ms,
            moved.sum_log,
            moved.m2_log,
            moved.min_ms,
            moved.max_ms,
            moved.hist_row,
            moved.hist_idx,
            moved.hist_cnt,
            self.resolution_s,
        )

    def coarsen(self, resolution_s: int) -> "Rollups":
        """Merge rows into buckets of `resolution_s` seconds (a multiple of this resolution),
        e.g. minutes into hours. Exact: equal to `from_values` at the coarser resolution."""
        if len(self.op) == 0:
            return Rollups.empty(self.operations, resolution_s)
        slot = self.bucket.astype(np.int64) // resolution_s
        n_ops = max(len(self.operations), 1)
        present, group = _compact((slot - slot.min()) * n_ops + self.op)
        merged = merge_rows(self, group, len(present))
        cells, inverse = np.unique(
            group[self.hist_row] * N_BUCKETS + self.hist_idx, return_inverse=True
        )
        cnt = np.bincount(inverse, weights=self.hist_cnt, minlength=len(cells))
        bucket = ((present // n_ops + slot.min()) * resolution_s).astype("datetime64[s]")
        return Rollups(
            self.operations,
            present % n_ops,
            bucket,
            *merged,
            cells // N_BUCKETS,
            cells % N_BUCKETS,
            np.rint(cnt).astype(np.int64),
            resolution_s,
        )

    @staticmethod
    def concat(parts: Sequence["Rollups"]) -> "Rollups":
        """All rows of `parts` (same operations and resolution), in order; rows are not merged."""
        if not parts:
            return Rollups.empty()
        first = parts[0]
        if any(p.operations != first.operations for p in parts):
            raise ValueError("recode rollups to the same operations before concatenating")
        offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
        # Row numbers keep the parts' type when the whole still fits it (a cached week's
        # int32 would otherwise come back int64: a copy of tens of millions of entries).
        kind = np.result_type(*(p.hist_row for p in parts))
        if sum(len(p) for p in parts) >= np.iinfo(kind).max:
            kind = np.dtype(np.int64)
        hist_row = np.empty(sum(len(p.hist_row) for p in parts), dtype=kind)
        at = 0
        for p, o in zip(parts, offsets, strict=True):
            np.add(p.hist_row, kind.type(o), out=hist_row[at : at + len(p.hist_row)])
            at += len(p.hist_row)
        return Rollups(
            first.operations,
            np.concatenate([p.op for p in parts]),
            np.concatenate([p.bucket for p in parts]),
            np.concatenate([p.n for p in parts]),
            np.concatenate([p.sum_ms for p in parts]),
            np.concatenate([p.m2_ms for p in parts]),
            np.concatenate([p.sum_log for p in parts]),
            np.concatenate([p.m2_log for p in parts]),
            np.concatenate([p.min_ms for p in parts]),
            np.concatenate([p.max_ms for p in parts]),
            hist_row,
            np.concatenate([p.hist_idx for p in parts]),
            np.concatenate([p.hist_cnt for p in parts]),
            first.resolution_s,
        )
