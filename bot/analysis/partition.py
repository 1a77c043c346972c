"""Rollups reordered and split by operation: detection scores operations in chunks of at most
`DetectionParams.chunk_operations`, so its dense temporaries (a histogram of 576 counts per
operation and window, per operation and day) stay bounded however many operations there are.
Every step is linear in rows and histogram entries (one stable sort of the rows' chunk ids)."""

import numpy as np

from bot.analysis.histogram import IntArray
from bot.analysis.rollups import Rollups


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
