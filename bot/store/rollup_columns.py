"""Rollups read as columns: one row of binary values laid end to end per column (queries
`rollup_minute_columns` / `rollup_hour_columns`) and the packed histograms end to end, read
by numpy in place. A row per rollup would cost a Python object per histogram entry: at 10,000
operations a week of hourly rollups holds tens of millions of entries."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bot.analysis.histogram import pack_rows, unpack
from bot.analysis.rollups import Rollups


def _numbers(data: bytes | None, dtype: str) -> Any:
    """Big-endian binary values laid end to end, in native order."""
    if not data:
        return np.zeros(0, dtype=np.dtype(dtype).newbyteorder("="))
    return np.frombuffer(data, dtype=dtype).astype(np.dtype(dtype).newbyteorder("="))


def _coded(per_row: list[str]) -> tuple[tuple[str, ...], Any]:
    """The distinct names, sorted, and each row's index among them."""
    first: dict[str, int] = {}
    seen = np.array([first.setdefault(name, len(first)) for name in per_row], dtype=np.int64)
    names = sorted(first)
    code = np.empty(len(names), dtype=np.int64)
    code[[first[name] for name in names]] = np.arange(len(names))
    return tuple(names), code[seen]


def from_columns(row: Mapping[str, Any], resolution_s: int) -> Rollups:
    """Rollups from the one row of a `rollup_*_columns` query (empty when it found none)."""
    if not row["names"]:
        return Rollups.empty((), resolution_s)
    names, op = _coded(row["names"].split("\n"))
    hist_row, hist_idx, hist_cnt = unpack(row["hist"], _numbers(row["hist_len"], ">i4"))
    if len(op) != len(row["hist_len"]) // 4:
        raise ValueError("rollup columns differ in length (a name with a line break?)")
    return Rollups(
        names,
        op,
        _numbers(row["bucket"], ">i8").astype("datetime64[s]"),
        _numbers(row["n"], ">i4").astype(np.int64),
        _numbers(row["sum_ms"], ">f8"),
        _numbers(row["m2_ms"], ">f8"),
        _numbers(row["sum_log"], ">f8"),
        _numbers(row["m2_log"], ">f8"),
        _numbers(row["min_ms"], ">f8"),
        _numbers(row["max_ms"], ">f8"),
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
