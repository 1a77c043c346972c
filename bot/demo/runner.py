"""The demo: starts the embedded PostgreSQL in a fresh data directory, loads a small synthetic
pgGit-shaped workload, and shows what the store holds."""

import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from bot.models import Metric
from bot.store import Store

OPERATIONS = {
    "commit": 5.0,
    "merge": 50.0,
    "get_history": 5.0,
    "branch_create": 2.0,
    "rollback": 10.0,
}


async def run(data_dir: Path | None, console: Console) -> int:
    root = data_dir or Path(tempfile.mkdtemp(prefix="perfbot-demo-"))
    console.print(f"[bold]perfbot demo[/] — embedded PostgreSQL in {root}")
    store = await Store.open(None, root)
    try:
        await store.migrate()
        rng = random.Random(7)
        now = datetime.now(UTC)
        metrics = [
            Metric(
                operation_type=op,
                duration_ms=round(typical * rng.lognormvariate(0, 0.5), 3),
                recorded_at=now - timedelta(seconds=rng.uniform(0, 3600)),
            )
            for op, typical in OPERATIONS.items()
            for _ in range(200)
        ]
        stored = await store.insert_metrics(metrics)
        console.print(f"stored {stored:,} synthetic metrics for {len(OPERATIONS)} operations")
        status = await store.status()
        console.print(f"schema version {status.schema_version}; rows: {status.row_counts}")
    finally:
        await store.close()
    return 0
