"""Rollups read as binary columns (`rollup_*_columns`): names one a line, numbers big-endian end
to end, packed histograms end to end."""

import numpy as np
import pytest

from bot.analysis.histogram import pack
from bot.store.rollup_columns import from_columns


def columns(names: list[str], hists: list[tuple[list[int], list[int]]]) -> dict[str, object]:
    rows = len(names)
    packed = [pack(idx, cnt) for idx, cnt in hists]
    floats = np.arange(rows, dtype=">f8").tobytes()
    return {
        "names": "\n".join(names),
        "bucket": (1_700_000_000 + 60 * np.arange(rows)).astype(">i8").tobytes(),
        "n": np.array([sum(c) for _, c in hists], dtype=">i4").tobytes(),
        **{k: floats for k in ("sum_ms", "m2_ms", "sum_log", "m2_log", "min_ms", "max_ms")},
        "hist_len": np.array([len(p) for p in packed], dtype=">i4").tobytes(),
        "hist": b"".join(packed),
    }


@pytest.mark.parametrize(
    ("names", "operations", "codes"),
    [
        (["b", "a", "b"], ("a", "b"), [1, 0, 1]),
        (["svc.x", "svc.x"], ("svc.x",), [0, 0]),
        (["z/1", "a:2", "M-3", "a:2"], ("M-3", "a:2", "z/1"), [2, 1, 0, 1]),
    ],
)
def test_names_are_coded_by_their_sorted_order(names, operations, codes):
    hists = [([3, 9], [1, 2])] * len(names)
    rows = from_columns(columns(names, hists), 60)
    assert rows.operations == operations
    assert rows.op.tolist() == codes
    assert rows.n.tolist() == [3] * len(names)
    assert rows.bucket.astype(np.int64).tolist() == [
        1_700_000_000 + 60 * i for i in range(len(names))
    ]
    assert rows.sum_ms.tolist() == [float(i) for i in range(len(names))]
    assert rows.hist_row.tolist() == [i for i in range(len(names)) for _ in (0, 1)]
    assert rows.hist_cnt.tolist() == [1, 2] * len(names)


def test_nothing_read_is_empty():
    rows = from_columns({"names": None}, 3600)
    assert (len(rows), rows.resolution_s) == (0, 3600)


def test_a_name_with_a_line_break_is_refused_not_misread():
    data = columns(["a", "b"], [([1], [1]), ([2], [1])])
    data["names"] = "a\nb\nc"  # three names for two rows
    with pytest.raises(ValueError, match="differ in length"):
        from_columns(data, 60)
