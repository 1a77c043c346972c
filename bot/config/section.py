"""The base of every configuration section: frozen, and unknown keys are errors."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A YAML section (or a part of one): immutable once loaded; a key it does not declare is
    reported as `<path>: Extra inputs are not permitted`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
