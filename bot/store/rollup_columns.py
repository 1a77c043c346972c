"""Rollups read as columns: one row of space-separated text per column (queries
`rollup_minute_columns` / `rollup_hour_columns`) and the packed histograms end to end, parsed
by numpy in C. A row per rollup would cost a Python object per histogram entry: at 10,000
operations a week of hourly rollups holds tens of millions of entries."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bot.analysis.histogram import pack_rows, unpack
from bot.analysis.rollups import Rollups


def _numbers(text: str | None, dtype: type) -> Any:
    if not text:
        return np.zeros(0, dtype=dtype)
    return np.fromstring(text, dtype=dtype, sep=" ")


def from_columns(row: Mapping[str, Any], resolution_s: int) -> Rollups:
    """Rollups from the one row of a `rollup_*_columns` query (empty when it found none)."""
    names = row["operations"]
    if not names:
        return Rollups.empty((), resolution_s)
    hist_row, hist_idx, hist_cnt = unpack(row["hist"], _numbers(row["hist_len"], np.int64))
    return Rollups(
        tuple(names),
        _numbers(row["op"], np.int64),
        _numbers(row["bucket"], np.int64).astype("datetime64[s]"),
        _numbers(row["n"], np.int64),
        _numbers(row["sum_ms"], np.float64),
        _numbers(row["m2_ms"], np.float64),
        _numbers(row["sum_log"], np.float64),
        _numbers(row["m2_log"], np.float64),
        _numbers(row["min_ms"], np.float64),
        _numbers(row["max_ms"], np.float64),
        hist_row,
        hist_idx,
        hist_cnt,
        resolution_s,
    )


def hour_arrays(row: Mapping[str, Any], kept: Rollups | None = None) -> tuple[list[Any], ...]:
    """The hourly rollups merged from minute rollups (`kept`, then those in the one row of a
    `rollup_minute_columns` query), as the array parameters of `put_hour_rollups`:
    operation, bucket, n, the moments, extremes and packed histogram of each (operation,
    hour). Exact: histograms and counts add; the moments merge by Chan's formula."""
    minutes = from_columns(row, 60)
    if kept is not None and len(kept):
        names = tuple(sorted(set(kept.operations) | set(minutes.operations)))
        minutes = Rollups.concat([kept.recode(names), minutes.recode(names)])
    hours = minutes.coarsen(3600)
    stamps = hours.bucket.astype("datetime64[us]").astype(datetime)
    return (
        [hours.operations[code] for code in hours.op.tolist()],
        [stamp.replace(tzinfo=UTC) for stamp in stamps.tolist()],
        hours.n.tolist(),
        hours.sum_ms.tolist(),
        hours.m2_ms.tolist(),
        hours.sum_log.tolist(),
        hours.m2_log.tolist(),
        hours.min_ms.tolist(),
        hours.max_ms.tolist(),
        pack_rows(hours.n, hours.hist_row, hours.hist_idx, hours.hist_cnt),
    )
