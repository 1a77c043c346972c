"""Text from outside is data, never markup: one escaping function per destination format.

Operation names, alert titles, silence patterns, reasons and user names reach chat, mail and
the terminal inside perfbot's own markup. Each renderer passes every such string through the
function of its format, and only perfbot's own literals (emoji shortcodes, bold markers, the
mention builders' `<!here>`/`@alice`) stay unescaped:

* `slack`: Slack's documented rule for mrkdwn and message text, `&`, `<` and `>` as HTML
  entities, so `<!channel>` or `<https://x|y>` is shown as typed and is no mention or link;
  renderers also mark mrkdwn objects `verbatim` so that Slack does not auto-link bare URLs or
  names.
* `mattermost`: Markdown defused with backslash escapes where a character could start markup:
  `\\ ` * [ ] < | ~ $ &` always (links `[t](u)`, images `![t](u)`, `<url>` autolinks, code,
  emphasis, tables, entities, LaTeX); `_` unless inside a word (where it cannot emphasise, so
  `merge_base_find` stays readable); `- + = # >` and `1.` at the start of a line (lists,
  rules, headings, quotes); `:` before anything but a space, so that no
  `https://`, `mailto:` or `tel:` is auto-linked; `www.` broken for the same reason. After every
  `@` goes a WORD JOINER (U+2060): Mattermost's server finds `@channel`/`@here`/`@all`/`@user`
  in the text *after* Markdown, where a backslash is gone, but splits words at any character
  that is not a letter, digit or `.-_:@`, so `@\u2060channel` notifies nobody and still reads
  `@channel`. Raw text stays readable, since push notifications show it unrendered.
* `email_header`: CR, LF and every other control character become a space (a header with a
  line break is refused by `email.message` and would forge headers if it were not).
* `console`: control characters (ESC sequences that recolour or move the cursor, BEL, CR,
  line breaks) shown as `\\x1b`, `\\n`, … instead of being sent to the terminal;
  `console_lines` keeps line breaks and tabs, for text laid out in lines by perfbot.
* `html`: `html.escape` (the email's HTML part).

Every function is pure and total: any string in, a string out."""

import html as _html
import re
import unicodedata

__all__ = ["console", "console_lines", "email_header", "html", "mattermost", "slack"]

WORD_JOINER = "\u2060"

_MD_ALWAYS = re.compile(r"([\\`*\[\]<|~$&])")
_MD_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_LINE_START = re.compile(r"(?m)^([ \t]*)([-+=#>]|\d+(?=[.)]))")
_MD_COLON = re.compile(r":(?=\S)")
_MD_WWW = re.compile(r"(?i)(www)\.")
_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def slack(text: str) -> str:
    """`text` for Slack mrkdwn or message text: `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`."""
    return text.translate(_SLACK)


def mattermost(text: str) -> str:
    """`text` for Mattermost Markdown: markup, URLs and mentions defused (see the module doc);
    line breaks are kept."""
    text = _MD_ALWAYS.sub(r"\\\1", text.replace("\r", ""))
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_LINE_START.sub(_line_start, text)
    text = _MD_COLON.sub(r"\\:", text)
    text = _MD_WWW.sub(r"\1\\.", text)
    return text.replace("@", "@" + WORD_JOINER)


def _line_start(match: re.Match[str]) -> str:
    indent, mark = match.groups()
    return f"{indent}\\{mark}" if not mark.isdigit() else f"{indent}{mark}\\"


def email_header(text: str) -> str:
    """`text` for a mail header such as Subject: every control character (CR and LF above
    all) and Unicode line or paragraph separator replaced by a space."""
    return "".join(" " if _is_control(c) else c for c in text)


def html(text: str) -> str:
    """`text` for HTML element content or a quoted attribute value."""
    return _html.escape(text, quote=True)


def console(text: str) -> str:
    """`text` for a terminal: every control character shown as its Python escape (`\\n`,
    `\\x1b`, `\\u2028`); a backslash stays as it is."""
    return "".join(repr(c)[1:-1] if _is_control(c) else c for c in text)


def console_lines(text: str) -> str:
    """`console` for multi-line text: line breaks and tabs are kept, every other control
    character is shown as its escape."""
    return "".join(c if c in "\n\t" else console(c) for c in text)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")
