"""What each event does to an alert's chat message (`bot.notify.chat_message.deliver`), with the
platform calls recorded."""

import pytest

from bot.notify import LatencySeries
from bot.notify.chat_message import deliver
from tests.unit.notify.factories import make_notification, make_series

OLD, NEW = "old", "new"


class Calls:
    def __init__(self, *, gone: bool = False) -> None:
        self.gone = gone
        self.made: list[str] = []

    async def edit(self, ref: str) -> bool:
        self.made.append(f"edit {ref}")
        return not self.gone

    async def reply(self, ref: str) -> None:
        self.made.append(f"reply {ref}")

    async def post(self) -> str:
        self.made.append("post")
        return NEW

    async def chart(self, ref: str, series: LatencySeries) -> None:
        self.made.append(f"chart {ref}")


@pytest.mark.parametrize(
    ("event", "previous", "gone", "series", "charts", "made", "ref"),
    [
        ("fired", None, False, True, True, ["post", "chart new"], NEW),
        ("fired", None, False, True, False, ["post"], NEW),
        ("fired", None, False, False, True, ["post"], NEW),
        ("fired", OLD, False, True, True, ["edit old"], OLD),
        ("updated", OLD, False, False, True, ["edit old"], OLD),
        ("acknowledged", OLD, False, False, True, ["edit old"], OLD),
        ("resolved", OLD, False, False, True, ["edit old"], OLD),
        ("repeat", OLD, False, False, True, ["edit old", "reply old"], OLD),
        ("escalated", OLD, False, False, True, ["edit old", "reply old"], OLD),
        ("updated", OLD, True, False, True, ["edit old", "post"], NEW),
        ("escalated", OLD, True, False, True, ["edit old", "post"], NEW),
        ("updated", None, False, False, True, ["post"], NEW),
        ("escalated", None, False, True, True, ["post"], NEW),
    ],
)
async def test_what_an_event_does_to_the_message(
    event: str,
    previous: str | None,
    gone: bool,
    series: bool,
    charts: bool,
    made: list[str],
    ref: str,
) -> None:
    calls = Calls(gone=gone)
    notification = make_notification(event, series=make_series() if series else None)
    assert (
        await deliver(
            notification,
            previous,
            edit=calls.edit,
            reply=calls.reply,
            post=calls.post,
            chart=calls.chart if charts else None,
        )
        == ref
    )
    assert calls.made == made
