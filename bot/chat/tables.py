"""Tables in a fixed-width font, for the front ends that have no table element (Slack code
blocks, the terminal): columns padded to their widest cell, long cells cut with an ellipsis."""

from bot.commands.reply import Table

MAX_CELL = 48
GAP = "  "


def cell(text: str, limit: int = MAX_CELL) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def monospace(table: Table, *, max_rows: int | None = None) -> str:
    """The table as aligned lines: a header, a rule, then the rows (at most `max_rows`)."""
    rows = [tuple(cell(c) for c in r) for r in table.rows[:max_rows]]
    header = tuple(cell(c) for c in table.columns)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(values: tuple[str, ...]) -> str:
        return GAP.join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(header), GAP.join("─" * w for w in widths), *map(line, rows)])


def fit(table: Table, limit: int) -> tuple[str, int]:
    """The longest monospace rendering of `table` within `limit` characters, and how many
    rows it shows."""
    shown = len(table.rows)
    text = monospace(table)
    while len(text) > limit and shown > 0:
        shown -= 1
        text = monospace(table, max_rows=shown)
    return text, shown
