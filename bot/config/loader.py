"""Reading the configuration: the YAML file through pydantic-settings' own YAML source, the
environment, and the translation of every validation problem into a line with its YAML path.

Priority, highest first: keyword arguments, `PERFBOT_*` environment variables (`__` nests:
`PERFBOT_SLACK__BOT_TOKEN`), the YAML file, the defaults of the sections. The file is the one
named by the `config` keyword (`--config`), else by `PERFBOT_CONFIG`. This is the one module
that reads `os.environ` directly; everything else gets a `Settings`."""

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    YamlConfigSettingsSource,
)

from bot.config.channels import CHANNEL_TYPES
from bot.config.secrets import EMPTY_DATABASE_URL, EMPTY_SECRET
from bot.errors import ConfigError

S = TypeVar("S", bound=BaseSettings)


def build(settings_cls: type[S], config_file: Path | None, overrides: dict[str, Any]) -> S:
    """`settings_cls` from `overrides`, the environment and the YAML file (`config_file`, else
    `PERFBOT_CONFIG`, else none). Raises ConfigError listing every problem with its YAML path."""
    path = config_file or _env_path("PERFBOT_CONFIG")
    kwargs = dict(overrides)
    if path is not None:
        kwargs.setdefault("config", path)
    try:
        return settings_cls(**kwargs)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from None


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


class YamlFile(YamlConfigSettingsSource):
    """pydantic-settings' YAML source over the file named by the `config` keyword argument
    (none: no file), below the environment in priority. Unlike the stock source, a named file
    that cannot be read is an error rather than skipped, a pipe (`--config <(…)`) is read, and
    every problem is a ConfigError: `path: reason`, `path:line:column: problem` for bad YAML.
    Keys are taken as written (the stock source matches top-level keys case-insensitively), so
    `Detection:` is an unknown key like any other misspelling in the file."""

    @classmethod
    def named_by(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource
    ) -> "YamlFile":
        """The source for the file that the keyword arguments in `init_settings` name."""
        named = (
            init_settings.init_kwargs.get("config")
            if isinstance(init_settings, InitSettingsSource)
            else None
        )
        return cls(settings_cls, yaml_file=Path(named) if named is not None else None)

    def __call__(self) -> dict[str, Any]:
        return self.yaml_data

    def _read_files(self, files: Any, deep_merge: bool = False) -> dict[str, Any]:
        # The stock reader skips whatever is not a regular file; a file asked for must be read.
        return {} if files is None else self._read_file(Path(files))

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        path = Path(file_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                [f"{path}: cannot read the configuration file ({exc.strerror})"]
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ConfigError([f"{where}: {problem}"]) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigError([f"{path}: the top level must be a mapping of settings"])
        return data


def describe_errors(exc: ValidationError) -> list[str]:
    """One line per problem: `routes[1].match.severity[0]: Input should be …`. Input values are
    never echoed, so secrets cannot leak into error output."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        if message in (EMPTY_SECRET, EMPTY_DATABASE_URL) and _environment_name(error["loc"]):
            message += f" (from the YAML file or {_environment_name(error['loc'])})"
        lines.append(f"{_yaml_path(error['loc']) or '(top level)'}: {message}")
    return lines


def _environment_name(loc: tuple[int | str, ...]) -> str | None:
    """`PERFBOT_SLACK__SIGNING_SECRET` for `("slack", "signing_secret")`; None for keys that
    live in lists or named entries (channels, routes), which are set in the YAML file."""
    if (
        not loc
        or loc[0] in ("channels", "routes", "people", "oncall")
        or any(isinstance(p, int) for p in loc)
    ):
        return None
    return "PERFBOT_" + "__".join(str(p).upper() for p in loc)


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in CHANNEL_TYPES and path.startswith("channels."):
            continue  # the discriminated-union tag pydantic inserts
        else:
            path += f".{part}" if path else str(part)
    return path
