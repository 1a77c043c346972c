"""Detection in chunks of operations (`DetectionParams.chunk_operations`) finds exactly what one
pass over all operations finds, and `partition.split` keeps every row with its histogram."""

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from bot.analysis import partition
from bot.analysis.detection import detect
from bot.analysis.params import DetectionParams
from bot.analysis.rollups import Rollups
from tests.unit.analysis.factories import NOW, baseline, per_minute, rollups

NAMES = [f"op{i}" for i in range(7)]
HOURS = 7 * 24


def scenario() -> tuple[Rollups, Rollups, Rollups]:
    """New minute, reference hour and a week of hourly rollups of seven operations: op1 and op4
    spike now, op2 and op5 slowed down half-way through the week."""
    rng = np.random.default_rng(5)
    new, reference, hourly = {}, {}, {}
    for i, name in enumerate(NAMES):
        base = 5.0 + i
        spike = 8.0 if i in (1, 4) else 1.0
        slow = 1.6 if i in (2, 5) else 1.0
        new[name] = per_minute(
            NOW - timedelta(minutes=1), 1, base * spike * rng.lognormal(0, 0.2, 12)
        )
        reference[name] = per_minute(
            NOW - timedelta(minutes=61), 60, base * rng.lognormal(0, 0.2, 6)
        )
        week = per_minute(NOW - timedelta(hours=HOURS), HOURS * 60, base * rng.lognormal(0, 0.2, 1))
        factor = np.where(np.arange(len(week[1])) >= len(week[1]) // 2, slow, 1.0)
        hourly[name] = (week[0], week[1] * factor)
    return rollups(new), rollups(reference), rollups(hourly, resolution_s=3600)


@pytest.mark.parametrize("chunk", [1, 2, 3, 6, 7])
def test_chunked_detection_finds_what_one_pass_finds(chunk: int) -> None:
    new, reference, hourly = scenario()
    lines = {"op1": baseline(p99_ms=8.0), "op3": baseline(p99_ms=9.0)}
    whole = detect(new, reference, hourly, lines, DetectionParams(), NOW)
    parts = detect(
        new, reference, hourly, lines, replace(DetectionParams(), chunk_operations=chunk), NOW
    )
    assert {a.operation_type for a in whole} >= {"op1", "op2", "op4", "op5"}  # it can fail
    assert [a.model_dump() for a in parts] == [a.model_dump() for a in whole]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_split_keeps_every_row_and_its_histogram(size: int) -> None:
    _, _, hourly = scenario()
    chunks = partition.chunked(NAMES, size)
    parts = partition.split(hourly, chunks)
    assert sum(len(p) for p in parts) == len(hourly)
    for names, part in zip(chunks, parts, strict=True):
        assert part.operations == names
        per_row = np.bincount(part.hist_row, weights=part.hist_cnt, minlength=len(part))
        assert np.array_equal(per_row.astype(np.int64), part.n)
        assert bool(np.all(part.bucket[1:] >= part.bucket[:-1]))  # order kept
        whole = hourly.recode(names)
        assert sorted(part.sum_ms.tolist()) == sorted(whole.sum_ms.tolist())
