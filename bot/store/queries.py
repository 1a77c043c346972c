"""Named SQL. Every statement perfbot runs lives in `queries.sql` under a `-- name --` header,
with its parameters bound as `$n`; code refers to it as `QUERIES["name"]`."""

import re
from pathlib import Path

_HEADER = re.compile(r"^-- ([a-z][a-z0-9_]*) --\s*$")


def parse(text: str) -> dict[str, str]:
    """Queries by name from the text of a queries file. Comment lines right after a header
    document the query and are dropped from the SQL."""
    queries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            name = header.group(1)
            if name in queries:
                raise ValueError(f"query {name!r} is defined twice")
            current = queries[name] = []
        elif current is not None and not (not current and line.startswith("--")):
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in queries.items()}


QUERIES = parse((Path(__file__).parent / "queries.sql").read_text(encoding="utf-8"))
