"""Ingest throughput: `perfbot ingest`'s path (validation streamed into COPY) against a bare
asyncpg COPY of the same file into the same table, each into a fresh migrated database.

Prints JSON: ingest_rows_per_s, ingest_vs_copy_ratio (perfbot time ÷ bare COPY time; target
≤ 1.5), and the CLI's wall time for the same file. Usage: ./dev bench ingest [--rows N]"""

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import numpy as np
from common import Timer, drop_database, emit, fresh_database, median, server

from bot.ingest import MetricCsv
from bot.store import Store

OPERATIONS = [f"op_{i:02d}" for i in range(33)]


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-11-20T00:00:00")
    seconds = np.sort(rng.integers(0, 7 * 86400, rows))
    stamps = np.datetime_as_string(start + seconds.astype("timedelta64[s]"), unit="s")
    ops = np.array(OPERATIONS)[rng.integers(0, len(OPERATIONS), rows)]
    durations = np.char.mod("%.3f", rng.lognormal(1.5, 0.6, rows))
    lines = np.char.add(np.char.add(np.char.add(np.char.add(ops, ","), durations), ","), stamps)
    with path.open("w") as f:
        f.write("operation_type,duration_ms,recorded_at\n")
        f.write("Z\n".join(lines.tolist()))
        f.write("Z\n")


async def bare_copy(url: str, path: Path) -> float:
    conn = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    try:
        with Timer() as t:
            await conn.copy_to_table(
                "metrics",
                schema_name="perfbot",
                source=str(path),
                columns=["operation_type", "duration_ms", "recorded_at"],
                format="csv",
                header=True,
            )
    finally:
        await conn.close()
    return t.seconds


async def perfbot_copy(url: str, path: Path) -> float:
    store = await Store.open(url)
    try:
        with Timer() as t, path.open("rb") as stream:
            csv = MetricCsv(stream, now=datetime.now(UTC))
            await store.metrics.copy_csv(csv)
    finally:
        await store.close()
    return t.seconds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="perfbot-bench-")) / "metrics.csv"
    write_csv(path, args.rows)
    bare: list[float] = []
    ours: list[float] = []
    with server() as srv:
        for i in range(args.repeat):
            for kind in ("bare", "ours") if i % 2 == 0 else ("ours", "bare"):
                url = await fresh_database(srv)
                try:
                    if kind == "bare":
                        bare.append(await bare_copy(url, path))
                    else:
                        ours.append(await perfbot_copy(url, path))
                finally:
                    await drop_database(srv, url)
        url = await fresh_database(srv)
        try:
            env = {**os.environ, "PERFBOT_DATABASE_URL": url}
            with Timer() as cli:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "ingest",
                    "-q",
                    str(path),
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                _, stderr = await proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"perfbot ingest failed: {stderr.decode()}")
        finally:
            await drop_database(srv, url)
    emit(
        {
            "rows": args.rows,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "bare_copy_s": round(median(bare), 3),
            "perfbot_ingest_s": round(median(ours), 3),
            "ingest_rows_per_s": round(args.rows / median(ours)),
            "ingest_vs_copy_ratio": round(median(ours) / median(bare), 3),
            "target_ratio": 1.5,
            "cli_wall_s": round(cli.seconds, 3),
            "runs": args.repeat,
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
