"""The one mapping from a configuration section to the parameter object of a pure layer (the
analysis engine's `*Params`, the routing core's `LifecyclePolicy`).

`params(DetectionParams, settings.detection)` passes every field of the dataclass that the
section also has, by name; the rest keep the dataclass's defaults. So adding a YAML key with a
parameter's name is all it takes to expose that parameter, and no field is copied by hand."""

from dataclasses import fields
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


P = TypeVar("P", bound=_Dataclass)


def params(cls: type[P], section: BaseModel) -> P:
    """`cls` (a parameter dataclass) built from the same-named fields of `section`. Raises
    ValueError when the dataclass rejects the values (its `__post_init__` checks)."""
    known = type(section).model_fields
    return cls(**{f.name: getattr(section, f.name) for f in fields(cls) if f.name in known})
