"""The shape of the code stays livable: `docs/ARCHITECTURE.md` names only modules that exist, no
module in `bot/` grows past 400 lines, and no two modules of `bot` import each other, directly
or round a longer loop, `TYPE_CHECKING` imports included."""

import re
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
NAMED = re.compile(r"\bbot/[\w/]+(?:\.py|\.sql|/)")


def named_paths(text: str) -> set[str]:
    """Every `bot/…` path written in `text` (modules, SQL files, packages ending in `/`)."""
    return set(NAMED.findall(text))


def test_the_architecture_document_names_only_what_exists() -> None:
    named = named_paths((ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    assert len(named) > 50  # the document walks through the code, not around it
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert missing == []


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("`bot/store/alerts.py` and `bot/routing/`", {"bot/store/alerts.py", "bot/routing/"}),
        ("queries in `bot/store/queries.sql`.", {"bot/store/queries.sql"}),
        ("the bot, not a path", set()),
    ],
)
def test_named_paths_finds_modules_files_and_packages(text: str, paths: set[str]) -> None:
    assert named_paths(text) == paths


def test_no_module_is_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "bot").rglob("*.py")
    }
    assert len(sizes) > 100
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}


def cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a module graph: its strongly connected components of two or more
    modules (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(imports.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(imports):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"a"}}, []),
    ],
    ids=["chain", "pair", "loop of three", "self import"],
)
def test_cycles_finds_loops_of_any_length(
    imports: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(imports) == expected


def test_no_import_cycles_in_bot() -> None:
    graph = grimp.build_graph("bot", exclude_type_checking_imports=False)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert len(imports) > 100
    assert cycles(imports) == []
