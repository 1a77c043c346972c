"""The seen-requests memory on a real database: the first claim of a key wins, also among
concurrent claims from separate connections (as from two replicas); a replay is logged with its
action key; the cleanup job deletes keys whose window has passed and only those."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import AlertService
from bot.chat.replay import ReplayGuard, request_key
from bot.clock import SystemClock
from bot.config import Settings
from bot.jobs import Jobs
from bot.store import Store

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


async def test_the_first_claim_wins_and_a_replay_is_refused(store: Store) -> None:
    key = request_key("slack", "1764237600", "v0=abc")
    assert await store.requests.remember(key, "slack", T0, T0 + timedelta(minutes=6))
    assert not await store.requests.remember(key, "slack", T0, T0 + timedelta(minutes=6))
    other = request_key("slack", "1764237600", "v0=abd")
    assert await store.requests.remember(other, "slack", T0, T0 + timedelta(minutes=6))


async def test_concurrent_claims_of_one_request_let_exactly_one_through(store: Store) -> None:
    key = request_key("mattermost", "sig", "user")
    results = await asyncio.gather(
        *(store.requests.remember(key, "mattermost", T0, T0 + timedelta(days=7)) for _ in range(12))
    )
    assert sorted(results) == [False] * 11 + [True]


@pytest.mark.parametrize(
    ("parts", "other"),
    [
        (("a", "b"), ("a", "c")),
        (("ab", "c"), ("a", "bc")),  # parts are delimited
        (("a",), ("a", "")),
    ],
)
def test_request_keys_tell_credentials_apart(
    parts: tuple[str, ...], other: tuple[str, ...]
) -> None:
    assert request_key("slack", *parts) != request_key("slack", *other)
    assert request_key("slack", *parts) != request_key("mattermost", *parts)
    assert len(request_key("slack", *parts)) == 32


async def test_the_guard_logs_a_replay_with_its_action_key(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    wall = T0.timestamp()
    guard = ReplayGuard(store.requests, wall=lambda: wall)
    with caplog.at_level(logging.WARNING, logger="bot.chat.replay"):
        assert await guard.first_time("slack", ("1", "v0=x"), wall + 360, kind="command")
        assert not await guard.first_time("slack", ("1", "v0=x"), wall + 360, kind="command")
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.__dict__["action"] == "slack_request_replayed"
    assert record.__dict__["kind"] == "command"


async def test_cleanup_prunes_keys_past_their_window_only(store: Store) -> None:
    now = datetime.now(UTC)
    old, live = request_key("slack", "old"), request_key("slack", "live")
    await store.requests.remember(
        old, "slack", now - timedelta(minutes=10), now - timedelta(seconds=1)
    )
    await store.requests.remember(live, "slack", now, now + timedelta(minutes=6))
    settings = Settings.load()
    jobs = Jobs(store, settings, AlertService(store, settings, SystemClock()))
    assert await jobs.cleanup(now) == 1
    # the old key can be claimed again (it was deleted), the live one cannot
    assert await store.requests.remember(old, "slack", now, now + timedelta(minutes=6))
    assert not await store.requests.remember(live, "slack", now, now + timedelta(minutes=6))
