"""The `links:` section: URL templates are absolute http(s) URLs with known placeholders, and
every mistake is reported with its YAML path; a valid file builds the routing core's rules."""

from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import ConfigError
from bot.models import BottleneckType
from bot.routing.links import Link, LinkRule
from bot.routing.rules import Match


@pytest.fixture
def config(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "perfbot.yml"
        path.write_text(text)
        return path

    return write


def one(url: str, label: str = "Runbook") -> str:
    return f"links:\n  - links: [{{label: {label!r}, url: {url!r}}}]\n"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (one("https://x.example/{op}"), "links[0].links[0].url: has an unknown placeholder {op}"),
        (one("https://x.example/{operation"), "links[0].links[0].url: has a lone '{'"),
        (one("ftp://x.example/{operation}"), "links[0].links[0].url: must be an absolute http"),
        (one("javascript:alert(1)"), "links[0].links[0].url: must be an absolute http"),
        (one("/runbooks/{operation}"), "links[0].links[0].url: must be an absolute http"),
        (one("https://x.example/a b"), "links[0].links[0].url: must not contain spaces"),
        (
            one("https://x.example/", label=""),
            "links[0].links[0].label: String should have at least 1",
        ),
        ("links:\n  - match: {operation: commit}\n", "links[0].links: Field required"),
        (
            "links:\n  - match: {kind: spike}\n    links: []\n",
            "links[0].match.kind: unknown kind 'spike'",
        ),
        (
            "links:\n  - links: [{label: a, url: 'https://x.example', target: _blank}]\n",
            "links[0].links[0].target: Extra inputs are not permitted",
        ),
    ],
)
def test_mistakes_are_reported_with_their_yaml_path(config, yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(config(yaml_text))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_a_valid_file_builds_the_core_rules(config) -> None:
    settings = Settings.load(
        config(
            "links:\n"
            "  - match: {operation: 'merge*'}\n"
            "    links:\n"
            "      - {label: Merge runbook, url: 'https://wiki.example.com/merge/{operation}'}\n"
            "  - match: {kind: bottleneck, bottleneck: OBJECT_STORAGE_IO}\n"
            "    links: [{label: Storage, url: 'http://grafana:3000/d/io?alert={alert_id}'}]\n"
        )
    )
    assert settings.link_rules() == (
        LinkRule(
            Match(operation=("merge*",)),
            (Link("Merge runbook", "https://wiki.example.com/merge/{operation}"),),
        ),
        LinkRule(
            Match(kind=("bottleneck",), bottleneck=(BottleneckType.OBJECT_STORAGE_IO,)),
            (Link("Storage", "http://grafana:3000/d/io?alert={alert_id}"),),
        ),
    )


def test_no_links_section_means_no_rules(config) -> None:
    assert Settings.load(config("")).link_rules() == ()


README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("section", ["## Runbooks and links", "## Heartbeat"])
def test_the_readme_examples_load(config, section: str) -> None:
    text = README.read_text(encoding="utf-8")
    part = text[text.index(section) :]
    start = part.index("```yaml\n") + len("```yaml\n")
    settings = Settings.load(config(part[start : part.index("```", start)]))
    assert settings.links or settings.heartbeat.url is not None
