"""`http:` settings and the pure parts of the listeners: loopback detection, ingest tokens from
YAML and the environment, the refusal of an exposed tokenless ingest bind, what each listener
serves, the bearer-token match, the connection cap and the throttled log."""

import logging

import pytest

from bot.app import http_access
from bot.config import HttpSettings, Settings
from bot.config.http import is_loopback
from bot.errors import ConfigError
from bot.listener import FD_RESERVE, Throttled, connection_cap
from bot.server import Access, bearer_matches

TOKEN = "0123456789abcdef-token"
OTHER = "fedcba9876543210-token"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("perfbot.example.com", False),
        ("localhost.evil.example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("value", "tokens"),
    [
        (TOKEN, [TOKEN]),
        (f"{TOKEN},{OTHER}", [TOKEN, OTHER]),
        (f" {TOKEN} , {OTHER} ,", [TOKEN, OTHER]),
        (f'["{TOKEN}", "{OTHER}"]', [TOKEN, OTHER]),
        ("", []),
    ],
)
def test_ingest_tokens_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, tokens: list[str]
) -> None:
    monkeypatch.setenv("PERFBOT_HTTP__INGEST_TOKENS", value)
    http = Settings.load().http
    assert [t.get_secret_value() for t in http.ingest_tokens] == tokens
    assert http.token_bytes() == tuple(t.encode() for t in tokens)


@pytest.mark.parametrize(
    ("tokens", "says"),
    [
        (["short"], "token 1 has 5 characters; use at least 16"),
        ([TOKEN, "x" * 15], "token 2 has 15 characters"),
        (["with a space 0123456789"], "token 1 contains whitespace"),
        ("[not json", "not a JSON list of tokens"),
        ([""], "token 1 has 0 characters"),
    ],
)
def test_bad_ingest_tokens_are_config_errors(tokens: object, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(http={"ingest_tokens": tokens})
    assert any(line.startswith("http.ingest_tokens: ") and says in line for line in caught.value.problems), caught.value.problems  # fmt: skip


def test_tokens_are_never_printed() -> None:
    http = HttpSettings(ingest_tokens=[TOKEN])
    assert TOKEN not in repr(http)
    assert TOKEN not in str(Settings.load(http={"ingest_tokens": [TOKEN]}).dump_safe())


@pytest.mark.parametrize(
    ("http", "refused"),
    [
        ({}, False),
        ({"host": "localhost"}, False),
        ({"host": "0.0.0.0"}, True),
        ({"host": "::"}, True),
        ({"host": "10.1.2.3"}, True),
        ({"host": "0.0.0.0", "ingest_tokens": [TOKEN]}, False),
        ({"host": "0.0.0.0", "ingest": False}, False),
        ({"host": "0.0.0.0", "internal": {"port": 3001}}, False),
        ({"host": "0.0.0.0", "internal": {"host": "10.0.0.1", "port": 3001}}, False),
    ],
)
def test_an_exposed_tokenless_ingest_is_refused(http: dict, refused: bool) -> None:
    if not refused:
        Settings.load(http=http)
        return
    with pytest.raises(ConfigError) as caught:
        Settings.load(http=http)
    [line] = caught.value.problems
    assert line.startswith(f"http: host {http['host']!r} is not a loopback address")
    assert "http.ingest: false" in line


def test_the_internal_listener_needs_its_own_address() -> None:
    with pytest.raises(ConfigError, match="another address"):
        Settings.load(http={"port": 3000, "internal": {"port": 3000}})


@pytest.mark.parametrize(
    ("http", "internal", "api", "trusted"),
    [
        ({}, False, True, True),  # loopback, one listener: everything, no token for details
        ({"host": "0.0.0.0", "ingest_tokens": [TOKEN]}, False, True, False),
        ({"internal": {"port": 3001}}, False, False, False),  # chat + minimal /healthz
        ({"internal": {"port": 3001}}, True, True, True),
        ({"host": "0.0.0.0", "internal": {"host": "10.0.0.1", "port": 9}}, True, True, True),
    ],
)
def test_what_each_listener_serves(http: dict, internal: bool, api: bool, trusted: bool) -> None:
    access = http_access(Settings.load(http=http).http, internal=internal)
    assert (access.api, access.trusted) == (api, trusted)


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"BEARER  {TOKEN} ", True),
        (f"Bearer {OTHER}", True),
        (None, False),
        ("", False),
        ("Bearer", False),
        ("Bearer ", False),
        (TOKEN, False),
        (f"Basic {TOKEN}", False),
        (f"Token {TOKEN}", False),
        (f"Bearer {TOKEN}x", False),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Bearer {TOKEN.upper()}", False),
        (f"Bearer {TOKEN},{OTHER}", False),
        ("Bearer \udcff", False),  # undecodable bytes as aiohttp hands them over
    ],
)
def test_bearer_matches(header: str | None, ok: bool) -> None:
    assert bearer_matches(header, (TOKEN.encode(), OTHER.encode())) is ok


def test_no_token_configured_matches_nothing() -> None:
    assert bearer_matches("Bearer ", ()) is False
    assert Access().tokens == ()


@pytest.mark.parametrize(
    ("wanted", "listeners", "fds", "cap"),
    [
        (4096, 1, 20_000, 4096),
        (4096, 2, 20_000, 4096),
        (4096, 1, 1024, 1024 - FD_RESERVE),
        (4096, 2, 1024, (1024 - FD_RESERVE) // 2),
        (100, 1, 1024, 100),
        (4096, 1, 100, 16),  # never below 16
    ],
)
def test_connection_cap(wanted: int, listeners: int, fds: int, cap: int) -> None:
    assert connection_cap(wanted, listeners, fds) == cap


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("times", "logged", "counts"),
    [
        ([0.0], [0.0], [1]),
        ([0.0, 1.0, 2.0, 59.9], [0.0], [1]),
        ([0.0, 1.0, 2.0, 60.0], [0.0, 60.0], [1, 3]),
        ([0.0, 61.0, 62.0, 200.0], [0.0, 61.0, 200.0], [1, 1, 2]),
    ],
)
def test_throttled_logs_the_first_event_then_one_line_a_minute(
    caplog: pytest.LogCaptureFixture, times: list[float], logged: list[float], counts: list[int]
) -> None:
    clock = Clock()
    throttled = Throttled("too many", "flood", clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.listener"):
        for t in times:
            clock.now = t
            throttled.event(listener="public")
    records = [r for r in caplog.records if r.name == "bot.listener"]
    assert [r.__dict__["count"] for r in records] == counts
    assert len(records) == len(logged)
    assert all(r.__dict__["action"] == "flood" for r in records)
    assert throttled.total == len(times)


@pytest.mark.parametrize(
    ("http", "says"),
    [
        ({}, "127.0.0.1:3000 (chat, /api/v1/*, /metrics, /healthz); ingest open without a token"),
        (
            {"host": "0.0.0.0", "ingest_tokens": [TOKEN, OTHER]},
            "0.0.0.0:3000 (chat, /api/v1/*, /healthz; /metrics and health details need a "
            "token); ingest needs one of 2 bearer token(s)",
        ),
        (
            {"host": "0.0.0.0", "internal": {"port": 3001}},
            "public 0.0.0.0:3000 (chat, status-only /healthz); internal 127.0.0.1:3001 "
            "(/api/v1/*, /metrics, /healthz); ingest open without a token",
        ),
        ({"host": "0.0.0.0", "ingest": False}, "(chat, /healthz; /metrics and health details"),
        ({"ingest": False}, "; ingest off"),
    ],
)
def test_config_check_says_what_is_served_where(http: dict, says: str) -> None:
    assert says in Settings.load(http=http).http.describe()
