"""A scenario whose schema problems are all inside device entries is still resolved without
those entries, so one run lists every problem that does not depend on another (the others'
archetypes, duplicate ids, routes), each at its place in the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from synthkit.api import Loc, Problems

M = TypeVar("M", bound=BaseModel)


def valid_part(doc: Any, model: type[M]) -> tuple[M, list[int]] | None:
    """(the scenario without its invalid device entries, each kept entry's index in the file),
    when every schema problem is inside a device entry; None otherwise (a problem elsewhere
    may be what the others depend on)."""
    data = doc.data
    try:
        model.model_validate(data)
        return None
    except ValidationError as exc:
        bad: set[int] = set()
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            if len(loc) < 2 or loc[0] != "devices" or not isinstance(loc[1], int):
                return None
            bad.add(loc[1])
    devices = data.get("devices") or []
    index = [i for i in range(len(devices)) if i not in bad]
    try:
        return model.model_validate({**data, "devices": [devices[i] for i in index]}), index
    except ValidationError:
        return None


@dataclass
class Shifted:
    """Problems of a partial scenario, located at the device entries' places in the file."""

    problems: Problems
    index: list[int]

    def shift(self, loc: Loc) -> Loc:
        if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int):
            return ("devices", self.index[loc[1]], *loc[2:])
        return loc

    @property
    def doc(self) -> Shifted:  # what _resolve asks of a document: where(loc)
        return self

    def where(self, loc: Loc) -> str:
        return self.problems.doc.where(self.shift(loc))

    def add(self, loc: Loc, message: str, fix: str = "") -> None:
        self.problems.add(self.shift(loc), message, fix)
