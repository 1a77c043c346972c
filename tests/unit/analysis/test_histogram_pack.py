"""Packed histograms (the rollups' `hist` bytea): the layout SQL writes, read back in bulk."""

import numpy as np
import pytest

from bot.analysis import histogram
from bot.analysis.histogram import N_BUCKETS, count_width, pack, unpack


@pytest.mark.parametrize(
    ("idx", "cnt", "packed"),
    [
        ([0], [1], "01000001"),
        ([5, 575], [3, 252], "01000503023ffc"),  # n = 255: one byte a count
        ([5, 575], [3, 253], "0200050003023f00fd"),  # n = 256: two bytes
        ([100], [70000], "040064" + "00011170"),  # n >= 65,536: four bytes
        ([1, 2, 3], [1, 65534, 1], "04" + "000100000001" + "00020000fffe" + "000300000001"),
    ],
)
def test_pack_lays_out_width_then_index_and_count(idx, cnt, packed):
    assert pack(idx, cnt).hex() == packed
    row, index, count = unpack(bytes.fromhex(packed), np.array([len(packed) // 2]))
    assert (row.tolist(), index.tolist(), count.tolist()) == ([0] * len(idx), idx, cnt)


@pytest.mark.parametrize(("n", "width"), [(1, 1), (255, 1), (256, 2), (65535, 2), (65536, 4)])
def test_the_count_width_follows_the_total(n, width):
    assert count_width(n) == width


def test_unpack_reads_many_histograms_of_mixed_widths_at_once():
    rng = np.random.default_rng(7)
    rows = []
    for size in (1, 14, 3, 40, 1):
        idx = np.sort(rng.choice(N_BUCKETS, size, replace=False))
        rows.append((idx, rng.integers(1, 5000, size)))
    packed = [pack(i, c) for i, c in rows]
    row, idx, cnt = unpack(b"".join(packed), np.array([len(p) for p in packed]))
    assert row.tolist() == [r for r, (i, _) in enumerate(rows) for _ in i]
    assert idx.tolist() == np.concatenate([i for i, _ in rows]).tolist()
    assert cnt.tolist() == np.concatenate([c for _, c in rows]).tolist()


def test_unpack_of_nothing_is_empty():
    assert [len(a) for a in unpack(b"", np.zeros(0, dtype=np.int64))] == [0, 0, 0]


@pytest.mark.parametrize(
    ("data", "lengths"),
    [
        ("0100000101", [5]),  # a partial entry
        ("03000001", [4]),  # width 3 is not a width
        ("01000001", [3]),  # lengths that do not cover the data
        ("01", [1]),  # no entry
    ],
)
def test_unpack_refuses_corrupt_data(data, lengths):
    with pytest.raises(ValueError, match="packed histogram"):
        unpack(bytes.fromhex(data), np.array(lengths))


@pytest.mark.parametrize(
    ("idx", "cnt"), [([], []), ([1, 1], [1, 1]), ([2, 1], [1, 1]), ([N_BUCKETS], [1]), ([1], [0])]
)
def test_pack_refuses_what_is_not_a_sparse_histogram(idx, cnt):
    with pytest.raises(ValueError, match=r"histogram|indexes"):
        pack(idx, cnt)


@pytest.mark.parametrize("slab", [1, 2, 7, 1 << 21])
def test_unpack_in_slabs_reads_the_same_entries(monkeypatch, slab):
    rng = np.random.default_rng(11)
    rows = []
    for size in rng.integers(1, 20, 50):
        idx = np.sort(rng.choice(N_BUCKETS, size, replace=False))
        rows.append((idx, rng.integers(1, 70_000, size)))
    packed = [pack(i, c) for i, c in rows]
    monkeypatch.setattr(histogram, "UNPACK_ENTRIES", slab)
    row, idx, cnt = unpack(b"".join(packed), np.array([len(p) for p in packed]))
    assert row.tolist() == [r for r, (i, _) in enumerate(rows) for _ in i]
    assert idx.tolist() == np.concatenate([i for i, _ in rows]).tolist()
    assert cnt.tolist() == np.concatenate([c for _, c in rows]).tolist()
