"""A YAML file's data validated with pydantic, every problem reported at once and located:
``file:line: field.path: what is wrong (how to fix it)``. Families validate their scenario
sections with it, so a bad file gets the same kind of answer whichever family reads it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from synthkit.errors import ConfigError
from synthkit.yamlfile import Loc, YamlDocument, format_loc

M = TypeVar("M", bound=BaseModel)
# (pydantic error, its location in the data) -> (message, fix), or None for the default
Explainer = Callable[[dict[str, Any], Loc], tuple[str, str] | None]


class LocatedProblems(ConfigError):
    """A file has problems; ``problems`` holds one located line each."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        head = f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(head + ":\n  " + "\n  ".join(problems))


@dataclass
class Problems:
    """Collects located problems; :meth:`raise_any` raises them together."""

    doc: YamlDocument
    lines: list[str] = field(default_factory=list)

    def add(self, loc: Loc, message: str, fix: str = "") -> None:
        self.lines.append(
            f"{self.doc.where(loc)}: {format_loc(loc)}: {message}" + (f" ({fix})" if fix else "")
        )

    def raise_any(self) -> None:
        if self.lines:
            raise LocatedProblems(self.doc.path, self.lines)


def validate_section(
    doc: YamlDocument,
    model: type[M],
    problems: Problems,
    *,
    at: Loc = (),
    union_tags: Iterable[str] = (),
    explain: Explainer | None = None,
) -> M | None:
    """``model`` from the data at ``at`` (the whole document by default); each error goes to
    ``problems`` at its line, and None is returned. ``union_tags`` are the tags of tagged
    unions, which pydantic puts in a location but the YAML does not have; ``explain`` gives
    a family's own wording for an error before the defaults."""
    data: Any = doc.data
    for part in at:  # keys of mappings, indices of lists
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            data = None
    if not isinstance(data, dict):
        problems.add(
            at,
            f"{'the document' if not at else 'it'} must be a mapping of fields",
            "write key: value lines",
        )
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        tags, known = set(union_tags), known_fields(model)
        for details in exc.errors(include_url=False):
            err: dict[str, Any] = dict(details)
            loc = (*at, *_data_loc(err["loc"], tags, known))
            message, fix = (explain(err, loc) if explain else None) or explain_error(
                err, loc, known
            )
            problems.add(loc, message, fix)
        return None


def known_fields(model: type[BaseModel]) -> list[str]:
    """Every field name of ``model`` and of the models it holds, for "did you mean"."""
    names: set[str] = set()
    todo, seen = [model], set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        for name, info in m.model_fields.items():
            names.add(name)
            todo.extend(_models_in(info.annotation))
    return sorted(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _models_in(arg)
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found += _models_in(meta)
    return found


def _data_loc(loc: tuple[Any, ...], tags: set[str], fields: Iterable[str] = ()) -> Loc:
    """Drop the union tags pydantic adds, so the path matches the YAML: a tag after a list
    index, or anywhere when it is no field name (a tag that is a field's name is kept there)."""
    names = set(fields)
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (part in tags and i > 0 and (isinstance(loc[i - 1], int) or part not in names))
    )


def explain_error(err: dict[str, Any], loc: Loc, known: list[str]) -> tuple[str, str]:
    """A pydantic error as (message, fix): "did you mean" for an unknown field."""
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        close = difflib.get_close_matches(name, known, n=1)
        return "unknown field", f"did you mean {close[0]!r}?" if close else "remove it"
    if kind == "missing":
        return "required field is missing", "add it"
    if kind == "finite_number":
        return "NaN and infinity are not allowed", "write a finite number"
    msg = msg.removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{msg}, got {err.get('input')!r}", ""
    return msg, ""
