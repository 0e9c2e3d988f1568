"""A device's parameters: its archetype's defaults with the scenario's overrides on top,
checked against what its model declares (a pydantic class: types and ranges; a mapping of
defaults: names), a misspelt name answered with "did you mean"."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from synthkit.records import Archetype, DeviceModel


class ParameterError(ValueError):
    """Parameters that do not fit a model: ``items`` are (parameter name or "", message)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(m for _, m in items))
        self.items = items


def resolve_parameters(
    model: DeviceModel, archetype: Archetype, overrides: Mapping[str, Any]
) -> BaseModel | dict[str, Any]:
    """The archetype's defaults with ``overrides`` on top, checked against the model's
    parameters: unknown (misspelt) keys and bad values raise :class:`ParameterError`.

    A model declares its parameters as a pydantic class (validated, typed) or as a mapping
    of defaults (names checked only)."""
    spec = model.parameters
    merged = {**archetype.defaults, **overrides}
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        known = list(spec.model_fields)
        try:
            return spec.model_validate(merged)
        except ValidationError as exc:
            items = []
            for err in exc.errors(include_url=False):
                name = str(err["loc"][0]) if err["loc"] else ""
                if err["type"] == "extra_forbidden":
                    items.append((name, _unknown_parameter(name, model.name, known)))
                else:  # the caller places the name
                    items.append((name, err["msg"].removeprefix("Value error, ")))
            raise ParameterError(items) from None
    assert isinstance(spec, Mapping)  # DeviceModel.parameters: a pydantic class or a mapping
    known = list(spec)
    unknown = [k for k in merged if k not in spec]
    if unknown:
        raise ParameterError([(k, _unknown_parameter(k, model.name, known)) for k in unknown])
    return {**spec, **merged}


def _unknown_parameter(name: str, model: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known) or 'none'}"
    return f"unknown parameter {name!r} for model {model!r} ({hint})"
