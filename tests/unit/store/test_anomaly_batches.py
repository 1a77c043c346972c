"""Anomalies are inserted INSERT_BATCH rows per statement, and each gets its own id back."""

from datetime import timedelta
from typing import Any

import pytest

from bot.store.findings import INSERT_BATCH, insert_anomalies
from bot.store.queries import QUERIES
from tests.factories import T0, make_anomaly


class RecordingConnection:
    """The one call `insert_anomalies` makes, answered as PostgreSQL would, in any row order:
    ids ascending in the order of the arrays."""

    def __init__(self) -> None:
        self.statements: list[int] = []  # rows per statement
        self.next_id = 100

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, int]]:
        assert sql == QUERIES["insert_anomalies"]
        *columns, pending = args
        assert len(columns) == 19
        assert pending is True
        rows = len(columns[0])
        assert all(len(c) == rows for c in columns)
        self.statements.append(rows)
        ids = list(range(self.next_id, self.next_id + rows))
        self.next_id += rows + 7  # another session's rows in between
        return [{"id": i} for i in reversed(ids)]


@pytest.mark.parametrize(
    ("count", "statements"),
    [
        (0, []),
        (1, [1]),
        (INSERT_BATCH, [INSERT_BATCH]),
        (INSERT_BATCH + 1, [INSERT_BATCH, 1]),
        (2 * INSERT_BATCH + 345, [INSERT_BATCH, INSERT_BATCH, 345]),
    ],
)
async def test_anomalies_are_inserted_in_batches(count: int, statements: list[int]) -> None:
    conn = RecordingConnection()
    anomalies = [
        make_anomaly(value_ms=float(i), detected_at=T0 + timedelta(seconds=i)) for i in range(count)
    ]
    stored = await insert_anomalies(conn, anomalies)
    assert conn.statements == statements
    assert [a.model_copy(update={"id": None}) for a in stored] == anomalies
    ids = [a.id or 0 for a in stored]
    assert ids == sorted(ids)
    assert len(set(ids)) == count
    assert 0 not in ids
