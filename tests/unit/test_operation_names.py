"""Operation names at ingest: the character set and length (one pattern, the same in Python and
in PostgreSQL), the caps on known and new operations, the refusal texts, and the JSON API's
refusal of back-fill older than the detection lookback."""

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.config.params import params
from bot.demo.operations import OPERATION_NAMES
from bot.errors import IngestError
from bot.ingest import MetricCsv, NewOperations, merges_from_json, metrics_from_json
from bot.models import (
    OPERATION_NAME_PATTERN,
    Admission,
    OperationLimits,
    admission,
    operation_name_problem,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MIGRATION = Path(__file__).parents[2] / "bot/store/migrations/0004_operations.sql"
# pgGit's own operation names (its performance_metrics.operation_type values, as the demo and
# the seed data use them), and names a deployment would plausibly use.
PGGIT_NAMES = ("commit", "merge", "rollback", "branch_create", "get_objects", "merge_base_find")
GOOD = (
    "a",
    "x" * 128,
    "api.v2:orders/create-bulk",
    "Service_1.read",
    "pg/query:select",
    "0",
    "-",
)
BAD = [
    ("", "is empty"),
    ("x" * 129, "is 129 characters long"),
    ("merge big", "U+0020 at position 6"),
    ("commit\n", "U+000A at position 7"),
    ("com\x00mit", "U+0000 at position 4"),
    ("<!channel>", "U+003C at position 1"),
    ("@channel", "U+0040 at position 1"),
    ("[ack](https://evil.example)", "U+005B at position 1"),
    ("$\\alpha$", "U+0024 at position 1"),
    ("x'); DROP TABLE perfbot.metrics; --", "U+0027 at position 2"),
    ("commït", "U+00EF at position 5"),
    ("a\u200bb", "U+200B at position 2"),
    ("tab\there", "U+0009 at position 4"),
    ("[/bold]", "U+005B at position 1"),
]


@pytest.mark.parametrize("name", GOOD + PGGIT_NAMES + OPERATION_NAMES)
def test_valid_names(name: str) -> None:
    assert operation_name_problem(name) is None


@pytest.mark.parametrize(("name", "reason"), BAD)
def test_invalid_names_say_which_character_without_echoing_it(name: str, reason: str) -> None:
    problem = operation_name_problem(name)
    assert problem is not None
    assert reason in problem
    assert "letters, digits and _ . : / -" in problem
    if len(name) > 1:
        assert name not in problem


def test_the_migration_copies_the_one_pattern() -> None:
    """The SQL of migration 0004 (which keeps invalid names out of the known operations) holds
    the same pattern as the constant everything else uses."""
    assert f"'{OPERATION_NAME_PATTERN}'" in MIGRATION.read_text()
    assert re.fullmatch(OPERATION_NAME_PATTERN, "commit")


@pytest.mark.parametrize(
    ("limits", "known", "new_last_hour", "expected"),
    [
        (OperationLimits(), 0, 0, Admission(200, "max_new_operations_per_hour", 200, 0)),
        (OperationLimits(), 35, 35, Admission(165, "max_new_operations_per_hour", 200, 35)),
        (OperationLimits(), 1900, 0, Admission(100, "max_operations", 2000, 1900)),
        (OperationLimits(), 2000, 0, Admission(0, "max_operations", 2000, 2000)),
        (OperationLimits(), 2500, 0, Admission(0, "max_operations", 2000, 2500)),
        (OperationLimits(), 500, 200, Admission(0, "max_new_operations_per_hour", 200, 200)),
        (OperationLimits(), 500, 260, Admission(0, "max_new_operations_per_hour", 200, 260)),
        (OperationLimits(10, 10), 0, 0, Admission(10, "max_operations", 10, 0)),
        (OperationLimits(10, 0), 0, 0, Admission(0, "max_new_operations_per_hour", 0, 0)),
    ],
)
def test_admission_takes_the_tighter_cap(
    limits: OperationLimits, known: int, new_last_hour: int, expected: Admission
) -> None:
    assert admission(limits, known, new_last_hour) == expected


@pytest.mark.parametrize(("total", "hourly"), [(0, 10), (10, -1)])
def test_limits_refuse_nonsense(total: int, hourly: int) -> None:
    with pytest.raises(ValueError, match="max_operations must be at least 1"):
        OperationLimits(total, hourly)


def test_limits_come_from_the_detection_section() -> None:
    settings = Settings.load(detection={"max_operations": 50, "max_new_operations_per_hour": 5})
    assert params(OperationLimits, settings.detection) == OperationLimits(50, 5)
    assert params(OperationLimits, Settings.load().detection) == OperationLimits()


@pytest.mark.parametrize(
    ("names", "says"),
    [
        (["x1"], "new operation 'x1' refused"),
        (["a", "b", "c", "d", "e"], "new operation 'a', 'b', 'c' and 2 more refused"),
    ],
)
def test_refusal_names_the_names_the_cap_and_what_still_works(names: list[str], says: str) -> None:
    hourly = Admission(0, "max_new_operations_per_hour", 200, 200)
    text = hourly.refusal(names)
    assert says in text
    assert "detection.max_new_operations_per_hour is 200 (200 first seen in the last hour)" in text
    assert "known operations are still accepted" in text
    total = Admission(0, "max_operations", 2000, 2000).refusal(names)
    assert "detection.max_operations is 2,000 (2,000 known operations)" in total


def csv_of(names: list[str]) -> MetricCsv:
    rows = "".join(f"{n},5,2026-11-27T10:00:00Z\n" for n in names)
    return MetricCsv(
        io.BytesIO(f"operation_type,duration_ms,recorded_at\n{rows}".encode()), now=NOW
    )


async def drain(csv: MetricCsv) -> None:
    async for _ in csv.chunks():
        pass


@pytest.mark.parametrize(
    ("names", "room", "line", "first_lines"),
    [
        (["commit", "commit", "merge"], 0, None, {}),
        (["commit", "new1", "new1", "new2"], 2, None, {"new1": 3, "new2": 5}),
        (["commit", "new1", "new2", "new3"], 2, 5, None),
        (["new1", "commit", "new1"], 0, 2, None),
    ],
)
async def test_csv_refuses_the_line_of_the_first_new_name_past_the_room(
    names: list[str], room: int, line: int | None, first_lines: dict[str, int] | None
) -> None:
    csv = csv_of(names)
    seen = csv.watch_operations(
        frozenset({"commit", "merge"}), Admission(room, "max_new_operations_per_hour", 9, 9 - room)
    )
    if line is None:
        await drain(csv)
        assert seen == first_lines
    else:
        with pytest.raises(IngestError) as caught:
            await drain(csv)
        assert caught.value.line == line
        assert "detection.max_new_operations_per_hour is 9" in caught.value.reason


@pytest.mark.parametrize(("name", "reason"), [BAD[1], BAD[2], BAD[4], BAD[5], BAD[7]])
async def test_csv_refuses_invalid_names_with_their_line(name: str, reason: str) -> None:
    text = "operation_type,duration_ms,recorded_at\ncommit,5,2026-11-27T10:00:00Z\n"
    text += f'"{name}",5,2026-11-27T10:00:00Z\n'
    csv = MetricCsv(io.BytesIO(text.encode()), now=NOW)
    with pytest.raises(IngestError) as caught:
        await drain(csv)
    assert caught.value.line == 3
    assert f"operation_type {reason}" in caught.value.reason or reason in caught.value.reason


def test_new_operations_counts_each_name_once() -> None:
    new = NewOperations(frozenset({"a"}), Admission(1, "max_operations", 3, 2))
    for line, name in enumerate(["a", "b", "b", "a"], start=2):
        new.see(name, line)
    assert new.first_line == {"b": 3}
    with pytest.raises(IngestError, match="new operation 'c' refused"):
        new.see("c", 6)


@pytest.mark.parametrize(("name", "reason"), BAD)
def test_json_refuses_invalid_names_with_their_item(name: str, reason: str) -> None:
    body = json.dumps(
        [
            {"operation_type": "commit", "duration_ms": 5, "recorded_at": "2026-11-27T11:00:00Z"},
            {"operation_type": name, "duration_ms": 5, "recorded_at": "2026-11-27T11:00:00Z"},
        ]
    )
    with pytest.raises(IngestError) as caught:
        metrics_from_json(body, now=NOW)
    assert caught.value.reason.startswith("item 1: operation_type: ")
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("age", "refused"),
    [
        (timedelta(0), False),
        (timedelta(hours=23, minutes=59), False),
        (timedelta(hours=24), False),
        (timedelta(hours=24, seconds=1), True),
        (timedelta(days=30), True),
    ],
)
def test_json_refuses_back_fill_older_than_the_lookback(age: timedelta, refused: bool) -> None:
    at = (NOW - age).isoformat()
    metrics = [{"operation_type": "commit", "duration_ms": 5, "recorded_at": at}]
    merge = {
        "source_branch": "f",
        "target_branch": "main",
        "status": "SUCCESS",
        "total_ms": 80,
        "started_at": at,
    }
    lookback = timedelta(hours=24)
    for parse, body, key in (
        (metrics_from_json, [metrics[0], *metrics], "recorded_at"),
        (merges_from_json, [merge, merge], "started_at"),
    ):
        payload = json.dumps([{**body[0], key: NOW.isoformat()}, body[1]])
        if not refused:
            assert len(parse(payload, now=NOW, lookback=lookback)) == 2
            continue
        with pytest.raises(IngestError) as caught:
            parse(payload, now=NOW, lookback=lookback)
        reason = caught.value.reason
        assert reason.startswith(f"item 1: {key} is older than detection.lookback (1d, before ")
        assert "2026-11-26T12:00:00Z" in reason
        assert "perfbot ingest" in reason


def test_without_a_lookback_history_is_taken() -> None:
    """The CLI's path (and the JSON functions without a lookback) keep accepting history."""
    body = json.dumps(
        [{"operation_type": "commit", "duration_ms": 5, "recorded_at": "2020-01-01T00:00:00Z"}]
    )
    assert len(metrics_from_json(body, now=NOW)) == 1
