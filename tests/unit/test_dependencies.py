"""Every third-party package `bot/` imports is a declared dependency in pyproject.toml, and
every one `tests/` imports is declared there or in the `dev` extra: imports read with `ast`,
mapped to their distributions by `importlib.metadata.packages_distributions()`."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"bot", "tests"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement such as `slack-bolt>=1.21`."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"]]
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_name(r) for r in requirements}


def imported(folder: str) -> dict[str, set[str]]:
    """Each third-party top-level module imported under `folder`, with the files importing it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in OURS:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(("folder", "extras"), [("bot", ()), ("tests", ("dev",))])
def test_every_import_is_a_declared_dependency(folder: str, extras: tuple[str, ...]) -> None:
    allowed = declared(*extras)
    distributions = packages_distributions()
    undeclared = {
        top: sorted(files)
        for top, files in imported(folder).items()
        if not {_name(d) for d in distributions.get(top, [])} & allowed
    }
    assert undeclared == {}
