from datetime import timedelta

import pytest
from pydantic import BaseModel

from bot.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("90s", 90),
        ("5m", 300),
        ("2h", 7200),
        ("7d", 604800),
        ("1w", 604800),
        ("1h30m", 5400),
        (" 2H ", 7200),
        ("1.5h", 5400),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["", "5", "m", "5x", "-5m", "5m-", "five minutes", "5m 3", "99999999999d"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.25, "250ms"), (300, "5m"), (5400, "1h30m"), (90061, "1d1h1m1s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


class _Model(BaseModel):
    every: Duration


@pytest.mark.parametrize(
    ("value", "seconds"), [("5m", 300), (30, 30), ("45", 45), ("PT10M", 600), (1.5, 1.5)]
)
def test_duration_type_accepts(value: object, seconds: float) -> None:
    assert _Model.model_validate({"every": value}).every == timedelta(seconds=seconds)


def test_duration_type_serialises_short_form() -> None:
    assert _Model(every=timedelta(minutes=10)).model_dump(mode="json") == {"every": "10m"}
