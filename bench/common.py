"""Shared bench plumbing: a PostgreSQL server (PERFBOT_BENCH_DATABASE_URL, else embedded in a
temporary directory), fresh migrated databases, machine facts, and JSON output."""

import contextlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import migrate
from bot.store.pool import create_pool
from tests.database import admin_execute, server_url, unique_name, with_database


def server() -> "contextlib.AbstractContextManager[str]":
    """PERFBOT_BENCH_DATABASE_URL, else an embedded PostgreSQL for the run."""
    return server_url("PERFBOT_BENCH_DATABASE_URL")


async def fresh_database(server_url: str) -> str:
    """A new, migrated database; its URL."""
    name = unique_name("perfbot_bench")
    await admin_execute(server_url, f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    pool = await create_pool(url)
    try:
        await migrate.apply(pool)
    finally:
        await pool.close()
    return url


async def drop_database(server_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[-1].split("?")[0]
    await admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def emit(figures: dict[str, Any]) -> None:
    print(json.dumps({**figures, "machine": machine()}, indent=2))
