import io
import json
from datetime import UTC, datetime

import pytest

from bot.errors import IngestError, MalformedJson
from bot.ingest import MetricCsv, merge_records_from_csv, metrics_from_json, parse_timestamp

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def consume(text: str) -> tuple[bytes, MetricCsv]:
    csv = MetricCsv(io.BytesIO(text.encode()), now=NOW)
    data = b"".join([chunk async for chunk in csv.chunks()])
    return data, csv


async def test_valid_file_passes_through_byte_for_byte() -> None:
    text = (
        "operation_type,duration_ms,recorded_at,branch\r\n"
        "commit,5.5,2026-11-27T10:00:00Z,main\r\n"
        'merge,50,2026-11-27T10:01:00+02:00,"feature, big"\r\n'
    )
    data, csv = await consume(text)
    assert data == text.encode()
    assert csv.summary.rows == 2
    assert csv.summary.columns == ("operation_type", "duration_ms", "recorded_at", "branch")
    assert csv.summary.first == datetime(2026, 11, 27, 8, 1, tzinfo=UTC)
    assert csv.summary.last == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("commit,abc,2026-11-27T10:00:00Z\n", 3, "duration_ms 'abc' is not a number"),
        ("commit,-1,2026-11-27T10:00:00Z\n", 3, "must be a finite number ≥ 0"),
        ("commit,nan,2026-11-27T10:00:00Z\n", 3, "must be a finite number ≥ 0"),
        ("commit,inf,2026-11-27T10:00:00Z\n", 3, "must be a finite number ≥ 0"),
        ("commit,5,yesterday\n", 3, "recorded_at 'yesterday' is not an ISO 8601 timestamp"),
        ("commit,5,2026-13-01T00:00:00Z\n", 3, "is not an ISO 8601 timestamp"),
        ("commit,5,2030-01-01T00:00:00Z\n", 3, "more than a day in the future"),
        ("commit,5,0001-01-01T00:00:00Z\n", 3, "is before 1970"),
        ("commit,5\n", 3, "expected 3 fields, found 2"),
        ("commit,5,2026-11-27T10:00:00Z,extra\n", 3, "expected 3 fields, found 4"),
        (",5,2026-11-27T10:00:00Z\n", 3, "operation_type is empty"),
        ('"commit,5,2026-11-27T10:00:00Z\n', 3, "malformed CSV"),
        ("\n", 3, "empty line"),
    ],
)
async def test_bad_rows_are_rejected_with_line_and_reason(
    body: str, line: int, reason: str
) -> None:
    text = "operation_type,duration_ms,recorded_at\ncommit,5,2026-11-27T10:00:00Z\n" + body
    with pytest.raises(IngestError) as caught:
        await consume(text)
    assert caught.value.line == line
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("operation_type,duration_ms,recorded_at,colour", "unknown column 'colour'"),
        ("operation_type,duration_ms", "missing column 'recorded_at'"),
        ("operation_type,duration_ms,recorded_at,duration_ms", "appears twice"),
    ],
)
async def test_bad_headers(header: str, reason: str) -> None:
    with pytest.raises(IngestError, match=reason) as caught:
        await consume(header + "\n")
    assert caught.value.line == 1


async def test_empty_file() -> None:
    with pytest.raises(IngestError, match="empty"):
        await consume("")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27 10:00:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T12:00:00+02:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T10:00:00.250Z", datetime(2026, 11, 27, 10, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_metrics_from_json_names_the_bad_item() -> None:
    payload = [
        {"operation_type": "commit", "duration_ms": 5, "recorded_at": "2026-11-27T10:00:00Z"},
        {"operation_type": "commit", "duration_ms": -5, "recorded_at": "2026-11-27T10:00:00Z"},
    ]
    with pytest.raises(
        IngestError, match=r"item 1: duration_ms: Input should be greater than or equal to 0"
    ):
        metrics_from_json(json.dumps(payload), now=NOW)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"operation_type": "x"}, "expected a JSON array"),
        (
            [{"operation_type": "x", "duration_ms": "fast", "recorded_at": "2026-11-27T10:00:00Z"}],
            "item 0: duration_ms",
        ),
        (
            [
                {
                    "operation_type": "x",
                    "duration_ms": 1,
                    "recorded_at": "2026-11-27T10:00:00Z",
                    "zone": 1,
                }
            ],
            "item 0: zone: Extra inputs",
        ),
        ([{"operation_type": "x", "duration_ms": 1}], "item 0: recorded_at: Field required"),
        (
            [{"operation_type": "x", "duration_ms": True, "recorded_at": "2026-11-27T10:00:00Z"}],
            "item 0: duration_ms: Input should be a valid number",
        ),
        (
            [{"operation_type": "x", "duration_ms": "5", "recorded_at": "2026-11-27T10:00:00Z"}],
            "item 0: duration_ms: Input should be a valid number",
        ),
        (
            [{"operation_type": "x\x00", "duration_ms": 5, "recorded_at": "2026-11-27T10:00:00Z"}],
            "item 0: operation_type: has character U\\+0000 at position 2",
        ),
        (
            [{"operation_type": "x", "duration_ms": 5, "recorded_at": "0001-01-01T00:00:00Z"}],
            "item 0: recorded_at: must not be before 1970-01-01",
        ),
    ],
)
def test_metrics_from_json_rejects(payload: object, reason: str) -> None:
    with pytest.raises(IngestError, match=reason):
        metrics_from_json(json.dumps(payload), now=NOW)


@pytest.mark.parametrize(
    ("body", "reason"),
    [("[" * 100_000, "recursion limit"), ('[{"a": 1', "EOF"), (b"\xff", "expected value")],
)
def test_metrics_from_json_tells_malformed_json_apart(body: str | bytes, reason: str) -> None:
    with pytest.raises(MalformedJson, match=f"malformed JSON: .*{reason}"):
        metrics_from_json(body, now=NOW)


def test_merge_csv() -> None:
    text = (
        "source_branch,target_branch,status,conflicts,total_ms,started_at\n"
        "feature,main,SUCCESS,0,120.5,2026-11-27T10:00:00Z\n"
        "hotfix,main,CONFLICT,3,300,2026-11-27T10:05:00Z\n"
    )
    records = merge_records_from_csv(io.BytesIO(text.encode()))
    assert [r.status for r in records] == ["SUCCESS", "CONFLICT"]
    assert records[1].conflicts == 3


def test_merge_csv_bad_status_names_the_line() -> None:
    text = (
        "source_branch,target_branch,status,total_ms,started_at\n"
        "feature,main,SUCCESS,120.5,2026-11-27T10:00:00Z\n"
        "feature,main,EXPLODED,120.5,2026-11-27T10:00:00Z\n"
    )
    with pytest.raises(IngestError, match="status") as caught:
        merge_records_from_csv(io.BytesIO(text.encode()))
    assert caught.value.line == 3
