"""`bot.excerpt.excerpt`: what perfbot keeps of a destination's answer."""

import pytest

from bot.excerpt import MAX_CHARS, excerpt


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("", ""),
        (None, ""),
        ("  ok  ", "ok"),
        ("line one\nline two\r\n", "line one line two"),
        (
            "fake\n2026-11-27T06:00:00.000Z ERROR   bot: forged",
            "fake 2026-11-27T06:00:00.000Z ERROR bot: forged",
        ),
        ("\x1b[31mred\x1b[0m", "[31mred [0m"),
        ("bell\x07 nul\x00 del\x7f", "bell nul del"),
        ("bidi \u202eevil\u202c zero\u200bwidth", "bidi evil zero width"),
        ("para\u2029sep\u2028line", "para sep line"),
        ("tab\tand   spaces", "tab and spaces"),
        ("ünïcødé ✓", "ünïcødé ✓"),
        (b"bytes\n\xff", "bytes \ufffd"),
    ],
)
def test_control_characters_go_and_white_space_collapses(text, kept):
    assert excerpt(text) == kept


@pytest.mark.parametrize(
    ("text", "length", "cut"),
    [
        ("a" * MAX_CHARS, MAX_CHARS, False),
        ("a" * (MAX_CHARS + 1), MAX_CHARS, True),
        ("a" * 1_000_000, MAX_CHARS, True),
        (b"a" * 1_000_000, MAX_CHARS, True),
    ],
)
def test_at_most_200_characters(text, length, cut):
    kept = excerpt(text)
    assert len(kept) == length
    assert kept.endswith("…") == cut


def test_only_the_head_of_a_huge_answer_is_looked_at():
    assert excerpt("\n" * 1_000_000 + "a") == "…"


def test_a_limit_of_its_own():
    assert excerpt("abcdefghij", limit=5) == "abcd…"
