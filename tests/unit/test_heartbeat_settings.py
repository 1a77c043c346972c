"""The `heartbeat:` section: an optional http(s) URL that is a secret (never shown whole),
GET or POST, a bounded timeout."""

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.config.heartbeat import mask_path
from bot.errors import ConfigError

TOKEN = "0a1b2c3d-secret"


@pytest.fixture
def config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "perfbot.yml"
        path.write_text(text)
        return path

    return write


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (f"https://hc-ping.com/{TOKEN}", "https://hc-ping.com/***"),
        (f"https://user:{TOKEN}@hc.example:8443/ping?k={TOKEN}", "https://hc.example:8443/***"),
        (f"http://[::1]:9/{TOKEN}", "http://[::1]:9/***"),
        (f"not a url {TOKEN}", "***"),
        (f"http://h:99999/{TOKEN}", "***"),
    ],
)
def test_mask_path(url: str, masked: str) -> None:
    assert mask_path(url) == masked


def test_defaults_and_a_valid_section(config) -> None:
    assert Settings.load(config("")).heartbeat.url is None
    settings = Settings.load(
        config(f"heartbeat: {{url: 'https://hc-ping.com/{TOKEN}', method: POST, timeout: 5s}}\n")
    )
    beat = settings.heartbeat
    assert beat.url is not None
    assert beat.url.get_secret_value() == f"https://hc-ping.com/{TOKEN}"
    assert (beat.method, beat.timeout) == ("POST", timedelta(seconds=5))
    assert TOKEN not in str(settings.dump_safe())
    assert Settings.load(config("heartbeat: {url: 'https://x.example/p'}\n")).heartbeat.timeout == (
        timedelta(seconds=10)
    )


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            f"heartbeat: {{url: 'ftp://hc.example/{TOKEN}'}}\n",
            "heartbeat.url: ftp://hc.example/*** must be an absolute http:// or https:// URL",
        ),
        ("heartbeat: {url: ''}\n", "heartbeat.url: is set but empty"),
        ("heartbeat: {url: 'https://x.example/p', method: PUT}\n", "heartbeat.method:"),
        ("heartbeat: {url: 'https://x.example/p', timeout: 2m}\n", "heartbeat.timeout: must be"),
        ("heartbeat: {url: 'https://x.example/p', timeout: 0s}\n", "heartbeat.timeout: must be"),
    ],
)
def test_mistakes_name_the_key_and_never_quote_the_secret(
    config, yaml_text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(config(yaml_text))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems
    assert TOKEN not in str(caught.value.problems)
