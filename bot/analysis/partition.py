"""Rollups reordered and split by operation: detection scores operations in chunks of at most
`DetectionParams.chunk_operations`, so its dense temporaries (a histogram of 576 counts per
operation and window, per operation and day) stay bounded however many operations there are.
Every step is linear in rows and histogram entries (one stable sort of the rows' chunk ids)."""

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime

import numpy as np

from bot.analysis.histogram import N_BUCKETS, IntArray
from bot.analysis.rollups import Rollups
from bot.analysis.summary import Summary

SLAB = 4_000_000  # histogram entries `summary` gathers at once


def reorder(rows: Rollups, order: IntArray) -> Rollups:
    """The rows in the given order (a permutation), histogram entries following their rows."""
    lengths = np.bincount(rows.hist_row, minlength=len(rows)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    moved = lengths[order]
    offsets = np.concatenate([[0], np.cumsum(moved)[:-1]]).astype(np.int64)
    entry = np.repeat(starts[order] - offsets, moved) + np.arange(int(moved.sum()))
    return Rollups(
        rows.operations,
        rows.op[order],
        rows.bucket[order],
        rows.n[order],
        rows.sum_ms[order],
        rows.m2_ms[order],
        rows.sum_log[order],
        rows.m2_log[order],
        rows.min_ms[order],
        rows.max_ms[order],
        np.repeat(np.arange(len(rows), dtype=np.int64), moved),
        rows.hist_idx[entry],
        rows.hist_cnt[entry],
        rows.resolution_s,
    )


def bare(rows: Rollups) -> Rollups:
    """The same rows without their histograms (no copy): for readers of counts and moments."""
    none = rows.hist_row[:0]
    return replace(rows, hist_row=none, hist_idx=none, hist_cnt=none)


def narrow(rows: Rollups) -> Rollups:
    """The same rows with their histogram entries in the narrowest types that hold them
    (row int32, bucket int16, count int32; int64 is kept where a value would not fit): a
    week of histograms cached at 10,000 operations takes about 10 bytes an entry, not 24."""
    i32 = np.iinfo(np.int32).max
    fits = len(rows) < i32 and (not len(rows.hist_cnt) or int(rows.hist_cnt.max()) < i32)
    if not fits or rows.hist_row.dtype == np.int32:
        return rows
    return replace(
        rows,
        hist_row=rows.hist_row.astype(np.int32),
        hist_idx=rows.hist_idx.astype(np.int16),
        hist_cnt=rows.hist_cnt.astype(np.int32),
    )


def by_bucket(rows: Rollups) -> Rollups:
    """The same rows ordered by bucket (stable)."""
    return reorder(rows, np.argsort(rows.bucket, kind="stable"))


def split(rows: Rollups, chunks: list[tuple[str, ...]]) -> list[Rollups]:
    """Per chunk of operation names, the rows of those operations, coded by the chunk's names,
    in their original order; rows of operations in no chunk are dropped."""
    chunk_of = {name: i for i, names in enumerate(chunks) for name in names}
    of_code = np.array([chunk_of.get(n, len(chunks)) for n in rows.operations], dtype=np.int64)
    cid = of_code[rows.op] if len(rows) else np.zeros(0, dtype=np.int64)
    order = np.argsort(cid, kind="stable")
    ordered = rows if bool(np.all(order == np.arange(len(rows)))) else reorder(rows, order)
    bounds = np.searchsorted(cid[order], np.arange(len(chunks) + 1))
    return [
        ordered.rows(int(bounds[i]), int(bounds[i + 1])).recode(names)
        for i, names in enumerate(chunks)
    ]


def chunked(names: list[str], size: int) -> list[tuple[str, ...]]:
    """`names` (sorted) in consecutive chunks of at most `size`."""
    return [tuple(names[i : i + size]) for i in range(0, len(names), max(size, 1))]


def dropped(
    rows: Rollups, cells: Mapping[str, Collection[datetime]], which: IntArray | None = None
) -> np.ndarray:
    """Per row (of the rows `which`, default all), whether `rows.without(cells)` would leave
    it out."""
    codes = {name: code for code, name in enumerate(rows.operations)}
    pairs = [(codes[n], int(b.timestamp())) for n, hs in cells.items() if n in codes for b in hs]
    size = len(rows) if which is None else len(which)
    if not pairs or not size:
        return np.zeros(size, dtype=bool)
    bucket, op = (rows.bucket, rows.op) if which is None else (rows.bucket[which], rows.op[which])
    stamps = bucket.astype("datetime64[s]").astype(np.int64)
    drop_op = np.array([c for c, _ in pairs], dtype=np.int64)
    drop_at = np.array([t for _, t in pairs], dtype=np.int64)
    origin = min(int(stamps.min()), int(drop_at.min()))
    width = len(rows.operations)
    result: np.ndarray = np.isin(
        (stamps - origin) * width + op, (drop_at - origin) * width + drop_op
    )
    return result


def row_starts(rows: Rollups) -> IntArray:
    """Where each row's histogram entries start, and after the last row where they end
    (len(rows) + 1 positions): one pass with ordered needles. Looking the rows of an operation
    up one by one in a week of entries misses the cache at every step (5 s at 10,000
    operations against 0.1 s)."""
    needles = np.arange(len(rows) + 1, dtype=rows.hist_row.dtype)
    starts: IntArray = np.searchsorted(rows.hist_row, needles).astype(np.int64)
    return starts


def summary(
    rows: Rollups, index: IntArray, key: IntArray, size: int, starts: IntArray | None = None
) -> Summary:
    """`Summary.of` the rows `index` of `rows` by `key` (one per row of `index`), gathering
    at most SLAB histogram entries at a time; `starts`: `row_starts(rows)`, when known."""
    moments = Rollups(
        rows.operations,
        rows.op[index],
        rows.bucket[index],
        rows.n[index],
        rows.sum_ms[index],
        rows.m2_ms[index],
        rows.sum_log[index],
        rows.m2_log[index],
        rows.min_ms[index],
        rows.max_ms[index],
        rows.hist_row[:0],
        rows.hist_idx[:0],
        rows.hist_cnt[:0],
        rows.resolution_s,
    )
    stats = Summary.of(moments, key, size, histograms=False)
    if not rows.has_histograms:
        return stats
    # The histogram entries gathered in row order: in any other order (operations, say) every
    # step misses the cache. Counts add exactly in any order.
    if len(index) and bool(np.any(index[1:] < index[:-1])):
        ordered = np.argsort(index, kind="stable")
        index, key = index[ordered], key[ordered]
    if starts is None:
        at = index.astype(rows.hist_row.dtype)  # else numpy converts every entry first
        first = np.searchsorted(rows.hist_row, at).astype(np.int64)
        lengths = np.searchsorted(rows.hist_row, at + 1) - first
    else:
        first = starts[index]
        lengths = starts[index + 1] - first
    dense = np.zeros(size * N_BUCKETS)
    ends = np.cumsum(lengths)
    cuts = np.searchsorted(ends, np.arange(SLAB, int(ends[-1]) if len(ends) else 0, SLAB))
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(index)], strict=True):
        part = lengths[lo:hi]
        total = int(part.sum())
        if not total:
            continue
        before = np.concatenate([[0], np.cumsum(part)[:-1]])
        entry = np.repeat(first[lo:hi] - before, part) + np.arange(total)
        cell = np.repeat(key[lo:hi], part) * N_BUCKETS + rows.hist_idx[entry]
        dense += np.bincount(cell, weights=rows.hist_cnt[entry], minlength=size * N_BUCKETS)
    return replace(stats, hist=np.rint(dense).astype(np.int64).reshape(size, N_BUCKETS))
