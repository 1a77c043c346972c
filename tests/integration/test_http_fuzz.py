"""Fuzzing perfbot's HTTP app in-process (`Bot.http_app()` on a real store, Slack and Mattermost
front ends mounted): random methods, paths, content types, headers and bodies, some shaped
like each endpoint's real input, and random, malformed or nearly right `Authorization` headers
for the ingest API's bearer token. Whatever arrives, the answer is below 500; requests without
the secrets change nothing (an ingest POST without the token is a 401), and the ingest API
stores exactly what it says it stored; no configured secret reaches the log."""

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.logs import NoLibraryTracebacks, TextFormatter
from bot.store import Store
from bot.store.queries import QUERIES
from tests.fakes.slack import SlackFake

SIGNING_SECRET = "fuzz-signing-5ecret"
COMMAND_TOKEN = "fuzz-command-5ecret"
MM_TOKEN = "fuzz-mm-bot-5ecret"
INGEST_TOKEN = "fuzz-ingest-5ecret-0123456789"
SECRETS = (SIGNING_SECRET, COMMAND_TOKEN, MM_TOKEN, INGEST_TOKEN)
PATHS = [
    "/slack/events",
    "/mattermost/command",
    "/mattermost/actions",
    "/api/v1/metrics",
    "/api/v1/merges",
    "/healthz",
    "/metrics",
]
TABLE_OF_INGEST = {"/api/v1/metrics": "metrics", "/api/v1/merges": "merges"}

# ---- strategies -------------------------------------------------------------------------------

header_text = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=80)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-27T10:00:00Z", "2026-11-27T10:00:00", "9999-12-31T23:59:59+14:00"]),
    json_values,
)
plausible_times = st.datetimes(
    min_value=datetime(1960, 1, 1),  # noqa: DTZ001 -- hypothesis bounds are naive
    max_value=datetime(2040, 1, 1),  # noqa: DTZ001
    timezones=st.timezones(),
).map(lambda d: d.isoformat())
metric = st.fixed_dictionaries(
    {
        "operation_type": st.one_of(st.text(min_size=1, max_size=30), json_values),
        "duration_ms": st.one_of(st.floats(min_value=0), st.integers(min_value=0), json_values),
        "recorded_at": st.one_of(plausible_times, timestamps),
    },
    optional={"branch": st.text(max_size=20), "user_name": json_values, "extra": json_values},
)
merge = st.fixed_dictionaries(
    {
        "source_branch": st.text(max_size=20),
        "target_branch": st.text(max_size=20),
        "status": st.sampled_from(["SUCCESS", "FAILED", "CONFLICT", "MAYBE", ""]),
        "total_ms": st.one_of(st.floats(), st.integers()),
        "started_at": st.one_of(plausible_times, timestamps),
    },
    optional={"conflicts": json_values, "merge_id": json_values, "completed_at": timestamps},
)
slack_form = st.dictionaries(
    st.sampled_from(["command", "text", "user_id", "token", "payload", "ssl_check", "team_id"]),
    st.one_of(st.text(max_size=40), json_values.map(json.dumps)),
    max_size=5,
)
click = st.fixed_dictionaries(
    {"user_id": json_values, "user_name": json_values},
    optional={
        "context": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "action": st.sampled_from(["ack", "unack", "escalate", "silence1h", "drop"]),
                    "alert_id": st.one_of(st.integers(), st.text(max_size=6)),
                    "sig": st.one_of(st.text(max_size=64), json_values),
                }
            ),
        )
    },
)
any_body = st.one_of(
    st.binary(max_size=600),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda b: b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\n' + b,
        st.binary(max_size=60),
    ),
)
any_content_type = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            "multipart/form-data",
            "text/plain",
            "application/json; charset=latin-1",
        ]
    ),
    header_text,
)
near_tokens = st.one_of(
    st.just(INGEST_TOKEN),
    st.integers(1, len(INGEST_TOKEN) - 1).map(lambda n: INGEST_TOKEN[:n]),
    header_text.map(lambda t: INGEST_TOKEN + t),
    header_text.map(lambda t: t + INGEST_TOKEN),
    st.just(INGEST_TOKEN.upper()),
    st.just(INGEST_TOKEN[::-1]),
    header_text,
)
bearer = st.one_of(
    st.tuples(
        st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "Bearer:", ""]),
        st.sampled_from([" ", "  ", "\t", ""]),
        near_tokens,
    ).map("".join),
    header_text,
)
optional_headers = {
    "X-Slack-Request-Timestamp": st.one_of(header_text, st.integers().map(str)),
    "X-Slack-Signature": st.one_of(
        header_text, st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"v0={h}")
    ),
    "Authorization": st.one_of(header_text, header_text.map(lambda t: f"Token {t}"), bearer),
}
encoding = {"Content-Encoding": st.sampled_from(["gzip", "deflate", "br", "identity"])}


def aimed(
    path: str, content_type: str, body: st.SearchStrategy[bytes], *, token: bool = False
) -> st.SearchStrategy:
    """Requests meant for one endpoint: mostly its method, content type and body shape (and,
    with `token`, mostly the right bearer token, so that the payload checks behind it are
    fuzzed too)."""
    required = {"Content-Type": st.one_of(st.just(content_type), any_content_type)}
    optional = optional_headers
    if token:
        right = st.just(f"Bearer {INGEST_TOKEN}")
        required["Authorization"] = st.one_of(right, right, right, bearer)
        optional = {k: v for k, v in optional_headers.items() if k != "Authorization"}
    return st.tuples(
        st.sampled_from(["POST"] * 9 + ["GET"]),
        st.just(path),
        st.fixed_dictionaries(required, optional=optional),
        st.one_of(body, body, body, any_body),
    )


def as_json(strategy: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    return strategy.map(lambda v: json.dumps(v).encode())


FORM, JSON = "application/x-www-form-urlencoded", "application/json"
requests = st.one_of(
    aimed("/api/v1/metrics", JSON, as_json(st.lists(metric, max_size=4)), token=True),
    aimed("/api/v1/merges", JSON, as_json(st.lists(merge, max_size=3)), token=True),
    aimed("/slack/events", FORM, slack_form.map(lambda f: urlencode(f).encode())),
    aimed("/mattermost/command", FORM, slack_form.map(lambda f: urlencode(f).encode())),
    aimed("/mattermost/actions", JSON, as_json(click)),
    st.tuples(
        st.sampled_from(["GET", "GET", "HEAD", "POST"]),
        st.sampled_from(["/healthz", "/metrics"]),
        st.fixed_dictionaries(
            {}, optional={"Content-Type": any_content_type, **optional_headers, **encoding}
        ),
        st.one_of(st.just(b""), any_body),
    ),
    st.tuples(  # anything at all
        st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH"]),
        st.one_of(st.sampled_from(PATHS), st.text(max_size=20).map(lambda t: "/" + t.lstrip("/"))),
        st.fixed_dictionaries(
            {"Content-Type": any_content_type}, optional=optional_headers | encoding
        ),
        any_body,
    ),
)  # fmt: skip


# ---- the app ----------------------------------------------------------------------------------


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(TextFormatter())
        self.addFilter(NoLibraryTracebacks())  # as `perfbot run` configures its handler

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
async def client(store: Store, slack_fake: SlackFake) -> AsyncIterator[TestClient]:
    settings = Settings.load(
        slack={
            "bot_token": slack_fake.token,
            "signing_secret": SIGNING_SECRET,
            "api_url": slack_fake.api_url,
        },
        mattermost={
            "url": "http://127.0.0.1:9",
            "token": MM_TOKEN,
            "command_token": COMMAND_TOKEN,
            "actions_url": "http://127.0.0.1:9/mattermost/actions",
        },
        http={"max_body_bytes": 4096, "ingest_tokens": [INGEST_TOKEN]},
    )
    bot = Bot.build(settings, store, SystemClock(), timeout=2.0)
    async with TestClient(TestServer(bot.http_app())) as c:
        yield c


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


async def row_counts(store: Store) -> dict[str, int]:
    async with store.connector.pool.acquire() as conn:
        return {r["name"]: r["n"] for r in await conn.fetch(QUERIES["table_row_counts"])}


@examples(
    max_examples=500,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(request=requests)
# found by the fuzzer: bodies aiohttp cannot decompress, refused before any handler
@example(request=("POST", "/api/v1/metrics", {"Content-Encoding": "deflate"}, b"\x00"))
@example(request=("POST", "/api/v1/metrics", {"Content-Encoding": "br"}, b"\x00"))
async def test_any_request_gets_an_answer_below_500_and_changes_nothing_unauthenticated(
    client: TestClient, store: Store, captured: Captured, request: tuple[str, str, dict, bytes]
) -> None:
    method, path, headers_, body = request
    captured.lines.clear()  # the fixture lives across examples
    before = await row_counts(store)
    try:
        async with client.request(method, path, data=body, headers=headers_) as response:
            status, text = response.status, await response.read()
    except aiohttp.ClientResponseError as exc:
        # A handler that never reads the body answers; then aiohttp's server, draining a body
        # it cannot decompress, writes a 400 after that answer, which the client refuses.
        if "Data after `Connection: close`" not in exc.message:
            raise
        status, text = exc.status, b""
    event(f"{path if path in PATHS else 'other'} → {status}")
    if path == "/healthz" and status == 503:  # degraded: no scheduler runs here
        assert method == "HEAD" or json.loads(text)["status"] == "degraded"
    else:
        assert status < 500, (status, text[:300])
    after = await row_counts(store)
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    if path in TABLE_OF_INGEST and method == "POST" and status != 405:
        credentials = headers_.get("Authorization", "")
        if INGEST_TOKEN not in credentials or not credentials.lower().startswith("bearer"):
            # aiohttp itself refuses a compressed body it cannot decode (br without the Brotli
            # package, a deflate body that is not deflate) with a plain-text 400 before any
            # handler or middleware runs: refused, nothing read. perfbot's own answers are JSON.
            encoded = headers_.get("Content-Encoding", "identity") != "identity"
            refused_by_http = status == 400 and encoded and not text.startswith(b"{")
            assert status == 401 or refused_by_http, (credentials, status, text[:200])
    if status == 201 and path in TABLE_OF_INGEST:
        stored = json.loads(text)["stored"]
        assert changed == ({TABLE_OF_INGEST[path]: stored} if stored else {})
    else:
        assert changed == {}, (method, path, status)
    assert not any(s.encode() in text for s in SECRETS)
    assert not any(s in line for line in captured.lines for s in SECRETS)
    assert not [line for line in captured.lines if " ERROR " in line], captured.lines[-3:]
