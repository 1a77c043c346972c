"""`perfbot demo --no-input --duration 60` on a fresh data directory: exits 0, and its output
shows the three scripted incidents: a CRITICAL or WARNING commit anomaly, a get_history
degradation, and one MERGE_PIPELINE_SATURATION bottleneck alert grouping the merge operations,
with its recommendations."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory outside pytest's shared `pytest-of-<user>` root: the embedded server runs
    as another user when perfbot runs as root, and another pytest session on the machine resets
    that root's permissions (0700) at its start, which would cut the server off mid-initdb."""
    root = Path(tempfile.mkdtemp(prefix="perfbot-demo-test-"))
    try:
        yield root / "demo"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_unattended_demo_shows_the_four_incidents(data_dir: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PERFBOT_") and not k.lower().endswith("_proxy")
    }
    env["COLUMNS"] = "120"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--no-input",
            "--duration",
            "60",
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"#\d+ (CRITICAL|WARNING)\s+statistical commit latency anomaly", out), out[
        -3000:
    ]
    assert re.search(r"#\d+ WARNING\s+degradation get_history slow degradation", out)
    [bottleneck] = re.findall(
        r"#(\d+) \w+\s+bottleneck\s+MERGE_PIPELINE_SATURATION: ([\w, ]+) —", out
    )
    parent, operations = bottleneck
    merge_ops = {"merge_base_find", "merge_conflict_detect", "merge_branches"}
    assert set(operations.split(", ")) == merge_ops
    grouped = re.findall(
        rf"statistical (\w+) latency anomaly — \w+ \(grouped under #{parent}\)", out
    )
    assert set(grouped) == merge_ops
    assert "Add merge worker threads" in out
    assert re.search(r"#\d+ WARNING\s+traffic_drop get_object_timeline traffic drop", out)
    assert re.search(r"alerts fired: \d+, grouped under a bottleneck: 3, acknowledged: 1", out)
