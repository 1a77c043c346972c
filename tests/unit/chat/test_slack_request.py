"""The raw-request check in front of Bolt: signature problems are named, nothing unsigned is
parsed, and signed bodies Bolt's matchers would choke on are recognised."""

import hashlib
import hmac

import pytest

from bot.chat.slack_request import Refusal, check, shape_problem, signature_problem

SECRET = "signing-secret"
NOW = 1_800_000_000
BODY = b"command=/perf&text=help"


def sign(body: bytes, ts: int | str = NOW, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (sign(BODY), None),
        (sign(BODY, NOW - 299), None),
        ({}, "signature or timestamp missing"),
        ({"X-Slack-Signature": sign(BODY)["X-Slack-Signature"]}, "signature or timestamp missing"),
        (sign(BODY, "1.8e9"), "timestamp is not a number"),
        (sign(BODY, "٣٣٣"), "timestamp is not a number"),
        (sign(BODY, "9" * 40), "timestamp is not a number"),
        (sign(BODY, NOW - 301), "timestamp too old or ahead"),
        (sign(BODY, NOW + 301), "timestamp too old or ahead"),
        (sign(BODY, secret="other"), "signature does not match"),
        ({**sign(BODY), "X-Slack-Signature": "v0=ü"}, "signature is not v0 hex"),
        (sign(BODY + b"&x=1"), "signature does not match"),
    ],
)
def test_signature_problem(headers: dict[str, str], problem: str | None) -> None:
    assert signature_problem(SECRET, BODY, headers, now=NOW) == problem


def test_unsigned_ssl_checks_pass_to_bolt_and_signed_non_utf8_is_refused() -> None:
    assert check(SECRET, b"ssl_check=1&token=x", {}) is None
    assert check(SECRET, b"ssl_check=1&payload=%7B%7D", {}) == Refusal(
        401, "invalid request", "signature or timestamp missing"
    )
    assert check(SECRET, b"text=\xff", sign(b"text=\xff"), now=NOW) == Refusal(
        400, "request body is not UTF-8", "body not UTF-8"
    )
    assert check(SECRET, BODY, sign(BODY), now=NOW) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"command": "/perf", "text": "help"}, None),
        ({"type": "block_actions", "actions": [{"action_id": "perf_ack"}], "user": {}}, None),
        ([1], "the body is not an object"),
        ({"type": "block_actions", "actions": []}, "block_actions without a list of actions"),
        ({"type": "block_actions", "actions": [{"value": "1"}]}, "an action without an action_id"),
        ({"command": "/perf", "user": 5}, "user is neither an object nor a string"),
    ],
)
def test_shape_problem(body: object, problem: str | None) -> None:
    assert shape_problem(body) == problem
