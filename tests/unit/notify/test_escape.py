"""Table tests of `bot.notify.escape`: what each destination format does with text from outside
(the issue's attacks first), and that every function is total on awkward input."""

from collections.abc import Callable

import pytest

from bot.notify import escape

WJ = escape.WORD_JOINER
SLACK_ATTACK = (
    "<!channel> prod DB is down, re-login at <https://evil.example/sso|https://sso.example.com>"
)
MM_ATTACK = (
    "@channel [Acknowledge here](https://evil.example/ack) ![t](https://evil.example/pixel.png)"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("commit", "commit"),
        (
            SLACK_ATTACK,
            "&lt;!channel&gt; prod DB is down, re-login at "
            "&lt;https://evil.example/sso|https://sso.example.com&gt;",
        ),
        (
            "<@U0ALICE> <!here> <#C1|x> <!subteam^S1>",
            "&lt;@U0ALICE&gt; &lt;!here&gt; &lt;#C1|x&gt; &lt;!subteam^S1&gt;",
        ),
        ("a & b &amp; c", "a &amp; b &amp;amp; c"),  # an entity in the data stays as typed
        ("*bold* _it_ `code` ~s~ :joy:", "*bold* _it_ `code` ~s~ :joy:"),  # only & < > matter
        ("", ""),
    ],
)
def test_slack(text: str, expected: str) -> None:
    assert escape.slack(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("commit", "commit"),
        ("merge_base_find", "merge_base_find"),  # inside a word `_` cannot emphasise
        (
            MM_ATTACK,
            f"@{WJ}channel \\[Acknowledge here\\](https\\://evil.example/ack) "
            "!\\[t\\](https\\://evil.example/pixel.png)",
        ),
        ("@here @all @alice", f"@{WJ}here @{WJ}all @{WJ}alice"),
        ("<https://evil.example>", "\\<https\\://evil.example>"),
        (
            "visit www.evil.example or WWW.evil.example",
            "visit www\\.evil.example or WWW\\.evil.example",
        ),
        ("mailto:x@evil.example tel:+123", f"mailto\\:x@{WJ}evil.example tel\\:+123"),
        ("ratio: 2:1", "ratio: 2\\:1"),  # a colon before a space is prose
        (
            "_em_ *b* `c` ~~s~~ $x$ a|b &lt;",
            "\\_em\\_ \\*b\\* \\`c\\` \\~\\~s\\~\\~ \\$x\\$ a\\|b \\&lt;",
        ),
        (
            "# h\n> q\n- l\n+ l\n1. o\n2) o\n===",
            "\\# h\n\\> q\n\\- l\n\\+ l\n1\\. o\n2\\) o\n\\===",
        ),
        ("a - b #3 x>y", "a - b #3 x>y"),  # harmless in the middle of a line
        ("back\\slash", "back\\\\slash"),
        ("cr\r\nlf", "cr\nlf"),
        ("", ""),
    ],
)
def test_mattermost(text: str, expected: str) -> None:
    assert escape.mattermost(text) == expected


def test_mattermost_mentions_split_as_the_server_splits_words() -> None:
    """Mattermost's mention parser cuts words at any rune that is not a letter, a digit or
    one of `.-_:@` (server/channels/app/mention_parser_standard.go); the word joiner is none
    of those, so no word `@channel` is left."""
    words = "".join(
        c if c.isalnum() or c in ".-_:@" else " " for c in escape.mattermost(MM_ATTACK)
    ).split()
    assert not {"@channel", "@here", "@all"} & {w.lower() for w in words}
    assert "@" in words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("commit latency anomaly", "commit latency anomaly"),
        ("op\nBcc: victim@example.com", "op Bcc: victim@example.com"),
        ("a\r\nb\x00c\x1bd\x7fe\u2028f\u0085g", "a  b c d e f g"),
        ("Ünïcode ✓", "Ünïcode ✓"),
    ],
)
def test_email_header(text: str, expected: str) -> None:
    assert escape.email_header(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<b onmouseover='x'>&", "&lt;b onmouseover=&#x27;x&#x27;&gt;&amp;"),
        ('"q"', "&quot;q&quot;"),
    ],
)
def test_html(text: str, expected: str) -> None:
    assert escape.html(text) == expected


@pytest.mark.parametrize(
    ("text", "expected", "lines"),
    [
        ("plain [bold] text", "plain [bold] text", "plain [bold] text"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\nb\tc\rd\x07", "a\\nb\\tc\\rd\\x07", "a\nb\tc\\rd\\x07"),
        ("sep\u2028\x9b", "sep\\u2028\\x9b", "sep\\u2028\\x9b"),
        ("back\\slash", "back\\slash", "back\\slash"),
    ],
)
def test_console(text: str, expected: str, lines: str) -> None:
    assert escape.console(text) == expected
    assert escape.console_lines(text) == lines


@pytest.mark.parametrize(
    "func",
    [escape.slack, escape.mattermost, escape.email_header, escape.html, escape.console],
)
def test_total_on_any_text(func: Callable[[str], str]) -> None:
    awkward = "".join(chr(c) for c in range(0x250)) + "\ud800" + "💥" * 3
    assert isinstance(func(awkward), str)
