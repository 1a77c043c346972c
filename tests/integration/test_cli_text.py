"""`perfbot ingest` against real PostgreSQL with a CSV value that is Rich markup: the clean
"rejected, nothing stored" error shows it literally (it used to become a Rich traceback)."""

import os
import subprocess
import sys
from pathlib import Path


def test_a_csv_value_that_is_markup_is_quoted_literally(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("operation_type,duration_ms,recorded_at\ncommit,[/bold],2026-11-27T06:00:00Z\n")
    env = {**os.environ, "PERFBOT_DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("rejected, nothing stored: line 2")
    assert "[/bold]" in done.stderr
