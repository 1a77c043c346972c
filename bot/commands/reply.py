"""`Reply`: what a `/perf` command answers, independent of any chat platform. A headline, then
an ordered list of blocks (paragraphs, label/value fields, tables, buttons), an optional PNG,
and whether everyone in the channel should see it. Each front end in `bot.chat` renders it in
its own format; nothing here knows Slack, Mattermost or a terminal."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

ButtonAction = Literal["ack", "unack", "escalate", "resolve", "silence1h"]


@dataclass(frozen=True)
class Paragraph:
    """Plain text; `mono` asks for a fixed-width font (sparklines, identifiers)."""

    text: str
    mono: bool = False


@dataclass(frozen=True)
class Fields:
    """Short label/value facts, shown side by side where the platform can."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """Rows of cells under `columns`; `note` follows it (e.g. "… and 12 more")."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"a row has {len(row)} cells for {len(self.columns)} columns")


@dataclass(frozen=True)
class Button:
    """A button that runs `action` on alert `alert_id`, like the buttons on alert messages."""

    label: str
    action: ButtonAction
    alert_id: int
    style: Literal["primary", "danger"] | None = None
    # the alert's `version` and `shown_state` when the button was drawn (Mattermost signs them)
    version: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class Buttons:
    items: tuple[Button, ...]


Block = Paragraph | Fields | Table | Buttons


@dataclass(frozen=True)
class Image:
    """A PNG chart; front ends that cannot show images leave it out."""

    png: bytes = field(repr=False)
    filename: str
    title: str
    alt: str


@dataclass(frozen=True)
class Reply:
    """A command's answer. `text` is one plain line (the headline, and the notification text
    where the platform needs one); `in_channel` replies are shown to everyone, others only to
    the user who asked; `error` marks a refusal or failure (the console exits non-zero)."""

    text: str
    blocks: tuple[Block, ...] = ()
    image: Image | None = None
    in_channel: bool = False
    error: bool = False

    @classmethod
    def of(cls, text: str, *blocks: Block | None, image: Image | None = None) -> "Reply":
        """A reply from a headline and the blocks that are not None."""
        return cls(text=text, blocks=tuple(b for b in blocks if b is not None), image=image)


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    limit: int | None = None,
    more: str = "more",
) -> Table:
    """A `Table` of at most `limit` rows; when cut, its note says how many were left out."""
    shown = list(rows) if limit is None else list(rows)[:limit]
    hidden = len(rows) - len(shown)
    return Table(
        columns=tuple(columns),
        rows=tuple(tuple(r) for r in shown),
        title=title,
        note=f"… and {hidden} {more}" if hidden > 0 else None,
    )
