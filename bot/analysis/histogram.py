"""Log-bucket latency histograms: the mergeable summary behind every quantile perfbot reports.

A duration d (ms) falls in bucket `floor(ln(max(d, MIN_MS) / MIN_MS) * SCALE)`, clamped to
[0, N_BUCKETS - 1]: 16 buckets per doubling, so a bucket spans 4.4 % and a quantile read from it
(log-linear interpolation inside the bucket) is within about ±2.2 % of the exact one. The same
formula runs in SQL when rollups are built (the store binds MIN_MS and SCALE as parameters), so
histograms from PostgreSQL and from numpy agree bucket for bucket."""

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_MS = 0.001
BUCKETS_PER_DOUBLING = 16
SCALE = BUCKETS_PER_DOUBLING / math.log(2.0)
N_BUCKETS = BUCKETS_PER_DOUBLING * 36  # up to 0.001 ms x 2^36 ≈ 19 hours


def bucket_index(values_ms: FloatArray) -> IntArray:
    """The bucket of each duration (ms)."""
    clipped = np.maximum(np.asarray(values_ms, dtype=np.float64), MIN_MS)
    idx = np.floor(np.log(clipped / MIN_MS) * SCALE).astype(np.int64)
    result: IntArray = np.clip(idx, 0, N_BUCKETS - 1)
    return result


def bucket_lower_ms(idx: IntArray | int) -> FloatArray:
    """The lower edge (ms) of each bucket index."""
    result: FloatArray = MIN_MS * np.exp(np.asarray(idx, dtype=np.float64) / SCALE)
    return result


def histogram(values_ms: FloatArray) -> IntArray:
    """A dense histogram (length N_BUCKETS) of durations in ms."""
    result: IntArray = np.bincount(bucket_index(values_ms), minlength=N_BUCKETS).astype(np.int64)
    return result


# Packed histograms (the `hist` bytea of rollups, built in SQL by the `build_rollups` query):
# a byte w, the width of every count, then per non-empty bucket in bucket order its index
# (2 bytes) and count (w bytes), big-endian. w follows the histogram's total n, which bounds
# every count: 1 byte under 256 requests (a busy minute's 3 bytes a bucket), 2 under 65,536.
_WIDTHS = (1, 2, 4)


def count_width(n: int) -> int:
    """The width in bytes of every count of a packed histogram of `n` samples."""
    return 1 if n < 256 else 2 if n < 65536 else 4


def pack(idx: list[int] | IntArray, counts: list[int] | IntArray) -> bytes:
    """The packed form of a sparse histogram (bucket indexes ascending), as SQL builds it."""
    index = np.asarray(idx, dtype=np.int64)
    count = np.asarray(counts, dtype=np.int64)
    if len(index) != len(count) or not len(index):
        raise ValueError("a packed histogram needs as many counts as indexes, at least one")
    if (np.diff(index) <= 0).any() or index[0] < 0 or index[-1] >= N_BUCKETS or (count <= 0).any():
        raise ValueError("bucket indexes must ascend within [0, N_BUCKETS), counts be positive")
    width = count_width(int(count.sum()))
    entries = np.zeros((len(index), 2 + width), dtype=np.uint8)
    entries[:, 0], entries[:, 1] = index >> 8, index & 0xFF
    for byte in range(width):
        entries[:, 2 + byte] = (count >> (8 * (width - 1 - byte))) & 0xFF
    return bytes([width]) + entries.tobytes()


def pack_rows(n: IntArray, row: IntArray, idx: IntArray, cnt: IntArray) -> list[bytes]:
    """`pack` for many histograms at once: row r has `n[r]` samples and the entries of `row`
    equal to r (rows ascending, bucket indexes ascending within a row, every row at least
    one). Vectorised: one Python step per row only to cut the bytes apart."""
    totals = np.asarray(n, dtype=np.int64)
    rows = np.asarray(row, dtype=np.int64)
    count = np.asarray(cnt, dtype=np.int64)
    entries = np.bincount(rows, minlength=len(totals))
    if (entries == 0).any() or (np.diff(rows) < 0).any():
        raise ValueError("every row needs histogram entries, in row order")
    width = np.where(totals < 256, 1, np.where(totals < 65536, 2, 4))
    size = 1 + entries * (2 + width)
    ends = np.cumsum(size)
    starts = ends - size
    out = np.zeros(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    out[starts] = width
    first = np.cumsum(entries) - entries
    w = width[rows]
    pos = starts[rows] + 1 + (np.arange(len(rows)) - first[rows]) * (2 + w)
    index = np.asarray(idx, dtype=np.int64)
    out[pos], out[pos + 1] = index >> 8, index & 0xFF
    for byte in range(4):  # byte b of a w-byte count sits at pos + 2 + b
        mine = w > byte
        shift = 8 * (w[mine] - 1 - byte)
        out[pos[mine] + 2 + byte] = (count[mine] >> shift) & 0xFF
    data = out.tobytes()
    return [data[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


# Histograms decoded at once by `unpack`: bounds its temporaries (a week of hourly rollups at
# 10,000 operations holds tens of millions of entries).
UNPACK_ENTRIES = 1 << 21


def unpack(data: bytes, lengths: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """The (row, bucket index, count) entries of packed histograms laid end to end in `data`,
    `lengths` bytes each: vectorised (no Python step per histogram), a slab of rows at a time."""
    size = np.asarray(lengths, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    if int(size.sum()) != len(raw) or (size < 4).any():
        raise ValueError("packed histograms do not fill their lengths")
    starts = np.cumsum(size) - size
    width = raw[starts].astype(np.int64)
    step = 2 + width
    if not np.isin(width, _WIDTHS).all() or ((size - 1) % step).any():
        raise ValueError("a packed histogram has an unknown count width or a partial entry")
    k = (size - 1) // step
    ends = np.cumsum(k)
    total = int(ends[-1]) if len(ends) else 0
    row = np.repeat(np.arange(len(size), dtype=np.int64), k)
    idx = np.empty(total, dtype=np.int64)
    cnt = np.empty(total, dtype=np.int64)
    padded = np.concatenate([raw, np.zeros(4, dtype=np.uint8)])
    lo = 0
    while lo < len(size):
        # rows [lo, hi): at least one, at most about UNPACK_ENTRIES entries
        done = int(ends[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, done + UNPACK_ENTRIES, side="right")))
        part = slice(lo, hi)
        n = k[part]
        within = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        pos = np.repeat(starts[part] + 1, n) + within * np.repeat(step[part], n)
        w = np.repeat(width[part], n)
        out = slice(done, done + len(pos))
        idx[out] = (padded[pos].astype(np.int64) << 8) | padded[pos + 1]
        c = padded[pos + 2].astype(np.int64)
        c = np.where(w >= 2, (c << 8) | padded[pos + 3], c)
        cnt[out] = np.where(
            w == 4, (c << 16) | (padded[pos + 4].astype(np.int64) << 8) | padded[pos + 5], c
        )
        lo = hi
    return row, idx, cnt


def from_sparse(idx: list[int] | IntArray, counts: list[int] | IntArray) -> IntArray:
    """A dense histogram from the sparse (index, count) arrays stored in rollups."""
    dense: IntArray = np.bincount(
        np.asarray(idx, dtype=np.int64),
        weights=np.asarray(counts, dtype=np.float64),
        minlength=N_BUCKETS,
    ).astype(np.int64)
    return dense


def quantiles(hist: IntArray, qs: FloatArray, min_ms: FloatArray, max_ms: FloatArray) -> FloatArray:
    """Quantiles (ms) of each row of dense histograms `hist` (rows x N_BUCKETS).

    Returns an array (rows x len(qs)). The rank of quantile q is q * n; inside the bucket that
    holds that rank the value is interpolated log-linearly (a bucket's mass is taken as spread
    evenly in ln(ms)), then clamped to the row's exact [min_ms, max_ms], so q=0 and q=1 give the
    exact extremes. Rows with no samples give NaN."""
    counts = np.atleast_2d(np.asarray(hist, dtype=np.int64))
    q = np.asarray(qs, dtype=np.float64)
    rows, width = counts.shape
    # One running count over all rows (monotone), searched for every (row, q) rank at once:
    # memory rows x buckets, not rows x quantiles x buckets.
    flat = np.cumsum(counts.ravel())
    total_i = flat[width - 1 :: width] - np.concatenate([[0], flat[width - 1 :: width][:-1]])
    base = flat[width - 1 :: width] - total_i  # samples in the rows before
    total = total_i.astype(np.float64)
    # A tiny positive floor makes q=0 land in the first non-empty bucket instead of bucket 0.
    target = np.maximum(q[None, :] * total[:, None], 1e-9)
    # Counts are integers: "cumulative >= target" is "cumulative >= ceil(target)", exactly.
    rank = base[:, None] + np.ceil(target).astype(np.int64)
    pos = np.searchsorted(flat, rank, side="left")
    start = (np.arange(rows, dtype=np.int64) * width)[:, None]
    bucket = np.minimum(pos - start, width - 1)
    at = start + bucket
    below = np.where(bucket > 0, flat[np.maximum(at - 1, 0)] - base[:, None], 0).astype(np.float64)
    inside = np.maximum(counts.ravel()[at].astype(np.float64), 1.0)
    frac = np.clip((target - below) / inside, 0.0, 1.0)
    values = MIN_MS * np.exp((bucket + frac) / SCALE)
    lo = np.asarray(min_ms, dtype=np.float64).reshape(-1, 1)
    hi = np.asarray(max_ms, dtype=np.float64).reshape(-1, 1)
    result: FloatArray = np.where(total[:, None] > 0, np.clip(values, lo, hi), np.nan)
    return result


def count_above(hist: IntArray, cutoff_ms: FloatArray) -> IntArray:
    """Per row of dense histograms, how many samples lie in buckets entirely at or above
    `cutoff_ms` (one cut-off per row). A bucket that straddles the cut-off is not counted, so
    this is a lower bound with bucket granularity (4.4 %)."""
    counts = np.atleast_2d(np.asarray(hist, dtype=np.int64))
    cut = np.asarray(cutoff_ms, dtype=np.float64).reshape(-1)
    # First bucket whose lower edge is >= the cut-off.
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.ceil(np.log(np.maximum(cut, MIN_MS) / MIN_MS) * SCALE - 1e-9)
    first = np.where(np.isnan(cut), N_BUCKETS, np.clip(first, 0, N_BUCKETS)).astype(np.int64)
    tail = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]
    padded = np.concatenate([tail, np.zeros((counts.shape[0], 1), dtype=np.int64)], axis=1)
    result: IntArray = padded[np.arange(counts.shape[0]), first]
    return result


def count_below(hist: IntArray, cutoff_ms: FloatArray) -> IntArray:
    """Per row, how many samples lie in buckets entirely below `cutoff_ms` (upper edge <= the
    cut-off): the lower-tail twin of `count_above`, with the same bucket granularity."""
    counts = np.atleast_2d(np.asarray(hist, dtype=np.int64))
    cut = np.asarray(cutoff_ms, dtype=np.float64).reshape(-1)
    # Buckets 0 .. end-1 have an upper edge <= the cut-off.
    with np.errstate(divide="ignore", invalid="ignore"):
        end = np.floor(np.log(np.maximum(cut, MIN_MS) / MIN_MS) * SCALE + 1e-9)
    end = np.where(np.isnan(cut) | (cut <= MIN_MS), 0, np.clip(end, 0, N_BUCKETS)).astype(np.int64)
    head = np.concatenate(
        [np.zeros((counts.shape[0], 1), dtype=np.int64), np.cumsum(counts, axis=1)], axis=1
    )
    result: IntArray = head[np.arange(counts.shape[0]), end]
    return result
