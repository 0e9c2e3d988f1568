"""``select``: the columns a sink gets, in the order given, renamed if asked. Deterministic:
no randomness, so it needs no seed. An unknown column is refused when the run opens, before
anything is delivered, naming the columns there are."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from synthkit.api import ConfigError, SinkOptions, Transform

if TYPE_CHECKING:  # batches (and numpy) load when rows flow, not when `plugins` lists options
    from synthkit.api import Batch


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


class SelectOptions(SinkOptions):
    columns: str = Field(
        "", description="comma-separated columns to keep, in this order (default: all)"
    )
    drop: str = Field("", description="comma-separated columns to leave out")
    rename: str = Field("", description="comma-separated old:new pairs")

    @field_validator("rename")
    @classmethod
    def _pairs(cls, value: str) -> str:
        bad = [
            p
            for p in _names(value)
            if p.count(":") != 1 or not all(x.strip() for x in p.split(":"))
        ]
        if bad:
            raise ValueError(f"{bad[0]!r} is not old:new")
        return value


class Select(Transform):
    def __init__(self, options: SelectOptions) -> None:
        self.keep, self.drop = _names(options.columns), set(_names(options.drop))
        self.rename = {
            old.strip(): new.strip()
            for old, _, new in (p.partition(":") for p in _names(options.rename))
        }
        self._names: tuple[str, ...] = ()

    def columns(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        wanted = [*self.keep, *self.drop, *self.rename]
        unknown = [c for c in wanted if c not in columns]
        if columns and unknown:
            raise ConfigError(
                f"--transform select: the rows have no column {', '.join(map(repr, unknown))}",
                hint=f"columns: {', '.join(columns)}",
            )
        chosen = [c for c in (self.keep or columns) if c not in self.drop]
        self._names = tuple(chosen)
        renamed = tuple(self.rename.get(c, c) for c in chosen)
        if len(set(renamed)) != len(renamed):
            raise ConfigError(
                f"--transform select: renaming gives two columns the same name ({', '.join(renamed)})",
                hint="rename to names not already taken",
            )
        return renamed

    def apply(self, batch: Batch) -> Batch:
        from synthkit.api import Batch

        names = self._names or tuple(c for c in (self.keep or batch.names) if c not in self.drop)
        out = []
        for name in names:
            c = batch.column(name)
            out.append(replace(c, name=self.rename[name]) if name in self.rename else c)
        return Batch(out)
