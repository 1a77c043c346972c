from datetime import timedelta

import numpy as np
import pytest

from bot.analysis.histogram import histogram, pack
from bot.analysis.partition import narrow
from bot.analysis.rollups import Rollups, as_datetime, as_datetime64
from bot.analysis.summary import Summary
from tests.unit.analysis.factories import NOW, dense, lognormal, rollups, stamps

T_HOUR = NOW - timedelta(hours=5)

RNG = np.random.default_rng(5)
OPS = ("commit", "merge", "rollback")


def _random_samples(n: int = 5000, days: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = RNG.integers(0, len(OPS), n)
    seconds = RNG.uniform(0, days * 86400, n)
    values = lognormal(2, n, 10.0, 0.7)
    return codes, stamps(NOW, seconds), values


@pytest.mark.parametrize("code", [0, 1, 2])
def test_summary_matches_direct_statistics(code):
    codes, times, values = _random_samples()
    stats = Summary.of(Rollups.from_values(OPS, codes, times, values, 60))
    mine = values[codes == code]
    assert stats.n[code] == len(mine)
    assert stats.mean_ms[code] == pytest.approx(mine.mean(), rel=1e-12)
    assert stats.std_ms[code] == pytest.approx(mine.std(), rel=1e-9)  # population sigma
    assert stats.mean_log[code] == pytest.approx(np.log(mine).mean(), rel=1e-12)
    assert stats.std_log[code] == pytest.approx(np.log(mine).std(), rel=1e-9)
    assert (stats.min_ms[code], stats.max_ms[code]) == (mine.min(), mine.max())
    assert np.array_equal(dense(stats)[code], histogram(mine))


@pytest.mark.parametrize(
    "column",
    [
        "n",
        "sum_ms",
        "m2_ms",
        "sum_log",
        "m2_log",
        "min_ms",
        "max_ms",
        "hist_row",
        "hist_idx",
        "hist_cnt",
    ],
)
def test_coarsen_equals_aggregating_at_the_coarser_resolution(column):
    codes, times, values = _random_samples()
    coarse = Rollups.from_values(OPS, codes, times, values, 60).coarsen(3600)
    direct = Rollups.from_values(OPS, codes, times, values, 3600)
    assert np.allclose(getattr(coarse, column), getattr(direct, column), rtol=1e-9)


def test_summaries_add_like_the_union_of_their_samples():
    codes, times, values = _random_samples()
    whole = Rollups.from_values(OPS, codes, times, values, 60)
    cut = as_datetime64(NOW + timedelta(days=1))
    early = whole.select(as_datetime64(NOW), cut)
    late = whole.select(cut, as_datetime64(NOW + timedelta(days=3)))
    added = Summary.of(early) + Summary.of(late)
    direct = Summary.of(whole)
    for name in ("n", "mean_ms", "m2_ms", "mean_log", "m2_log", "min_ms", "max_ms", "hist"):
        assert np.allclose(getattr(added, name), getattr(direct, name), rtol=1e-9), name


@pytest.mark.parametrize(("start_h", "end_h"), [(0, 1), (5, 29), (47, 48), (10, 10)])
def test_select_and_exclude_partition_rows(start_h, end_h):
    codes, times, values = _random_samples()
    whole = Rollups.from_values(OPS, codes, times, values, 60)
    a, b = (as_datetime64(NOW + timedelta(hours=h)) for h in (start_h, end_h))
    inside, outside = whole.select(a, b), whole.exclude(a, b)
    assert len(inside) + len(outside) == len(whole)
    assert inside.n.sum() + outside.n.sum() == len(values)
    assert ((inside.bucket >= a) & (inside.bucket < b)).all()
    assert dense(Summary.of(inside)).sum() == inside.n.sum()
    assert dense(Summary.of(outside)).sum() == outside.n.sum()


def test_from_records_round_trips_store_rows():
    codes, times, values = _random_samples(n=500)
    built = Rollups.from_values(OPS, codes, times, values, 60)
    records = [
        {
            "operation_type": built.operations[built.op[i]],
            "bucket": as_datetime(built.bucket[i]),
            "n": int(built.n[i]),
            "sum_ms": float(built.sum_ms[i]),
            "m2_ms": float(built.m2_ms[i]),
            "sum_log": float(built.sum_log[i]),
            "m2_log": float(built.m2_log[i]),
            "min_ms": float(built.min_ms[i]),
            "max_ms": float(built.max_ms[i]),
            "hist": pack(built.hist_idx[built.hist_row == i], built.hist_cnt[built.hist_row == i]),
        }
        for i in range(len(built))
    ]
    loaded = Summary.of(Rollups.from_records(records, 60).recode(OPS))
    expected = Summary.of(built)
    assert np.array_equal(dense(loaded), dense(expected))
    assert np.allclose(loaded.m2_ms, expected.m2_ms)


@pytest.mark.parametrize(("with_hist", "has"), [(True, True), (False, False)])
def test_from_records_without_histograms(with_hist, has):
    row = {
        "operation_type": "commit",
        "bucket": NOW,
        "n": 2,
        "sum_ms": 3.0,
        "m2_ms": 0.5,
        "sum_log": 0.69,
        "m2_log": 0.24,
        "min_ms": 1.0,
        "max_ms": 2.0,
    }
    if with_hist:
        row |= {"hist": pack([0, 16], [1, 1])}
    assert Rollups.from_records([row]).has_histograms is has


def test_recode_moves_codes_and_drops_unknown_operations():
    built = rollups(
        {"a": (stamps(NOW, [1, 2]), np.array([1.0, 2.0])), "b": (stamps(NOW, [3]), np.array([5.0]))}
    )
    moved = built.recode(("x", "b"))
    assert moved.operations == ("x", "b")
    assert moved.op.tolist() == [1]
    assert moved.hist_row.tolist() == [0]


def test_concat_keeps_every_row_and_histogram():
    built = rollups({"a": (stamps(NOW, [1, 70, 130]), np.array([1.0, 2.0, 3.0]))})
    twice = Rollups.concat([built, built])
    assert len(twice) == 2 * len(built)
    assert Summary.of(twice).n.tolist() == [6]
    assert dense(Summary.of(twice)).sum() == 6


@pytest.mark.parametrize(
    ("narrowed", "kind"),
    [((True, True), np.int32), ((True, False), np.int64), ((False, False), np.int64)],
)
def test_concat_keeps_narrow_row_numbers_and_offsets_them(narrowed, kind):
    """Joined parts keep int32 row numbers when every part has them (a cached week is not
    widened to int64 and narrowed again); each part's entries point at its own rows."""
    first = rollups({"a": (stamps(NOW, [1, 70, 130]), np.array([1.0, 2.0, 3.0]))})
    second = rollups({"a": (stamps(NOW, [200, 260]), np.array([40.0, 50.0]))})
    parts = [narrow(p) if n else p for p, n in zip((first, second), narrowed, strict=True)]
    joined = Rollups.concat(parts)
    assert joined.hist_row.dtype == kind
    assert joined.hist_row.tolist() == [0, 1, 2, 3, 4]
    assert Summary.of(joined).max_ms.tolist() == [50.0]
    assert (
        dense(Summary.of(joined))[0].tolist()
        == dense(Summary.of(Rollups.concat([first, second])))[0].tolist()
    )


@pytest.mark.parametrize(
    ("cells", "kept"),
    [
        ({}, 6),
        ({"a": {T_HOUR}}, 5),
        ({"a": {T_HOUR, T_HOUR + timedelta(hours=1)}, "b": {T_HOUR}}, 3),
        ({"unknown": {T_HOUR}, "b": set()}, 6),
        ({"b": {T_HOUR + timedelta(hours=7)}}, 6),  # an hour with no row
    ],
)
def test_without_drops_exactly_the_given_operation_hours(cells, kept):
    stamps = np.array(
        [as_datetime64(T_HOUR + timedelta(hours=h, minutes=5)) for h in (0, 1, 2)] * 2
    )
    rows = Rollups.from_values(("a", "b"), [0, 0, 0, 1, 1, 1], stamps, np.arange(1.0, 7.0), 3600)
    left = rows.without(cells)
    assert len(left) == kept
    dropped = {
        (rows.operations[o], as_datetime(b)) for o, b in zip(rows.op, rows.bucket, strict=True)
    }
    dropped -= {
        (left.operations[o], as_datetime(b)) for o, b in zip(left.op, left.bucket, strict=True)
    }
    assert dropped == {
        (name, b)
        for name, hours in cells.items()
        for b in hours
        if name in ("a", "b") and b < T_HOUR + timedelta(hours=3)
    }
    assert np.array_equal(
        np.bincount(left.hist_row, weights=left.hist_cnt, minlength=len(left)), left.n
    )
