"""Shards (``--shard K/N``): shard K of N takes a stable share of a fleet's streams, chosen
by a hash of each stream's id, so the shards of one run never share a stream, together hold
every one, and adding streams to a fleet moves none of the others between shards. Each
stream's records depend only on the stream (and the run's inputs), so a shard's output is
exactly its streams' part of the whole run's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from synthkit.errors import ConfigError

_SHAPE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard ``k`` (1-based) of ``n``."""

    k: int
    n: int

    @classmethod
    def parse(cls, text: str | None) -> Shard | None:
        """``--shard K/N`` (None: no sharding); a ConfigError for anything else."""
        if text is None:
            return None
        m = _SHAPE.fullmatch(text)
        if m is None or not 1 <= int(m[1]) <= int(m[2]):
            raise ConfigError(
                f"--shard {text!r} is not a shard",
                hint="write K/N with 1 <= K <= N: --shard 2/4 is the second of four",
            )
        return cls(int(m[1]), int(m[2]))

    def holds(self, stream: str) -> bool:
        """Whether ``stream`` (its id) is this shard's."""
        from synthkit.rand import stable_key

        return stable_key("synthkit shard", stream) % self.n == self.k - 1

    def of(self, streams: Sequence[str]) -> list[int]:
        """The positions of this shard's streams among ``streams``."""
        return [i for i, s in enumerate(streams) if self.holds(s)]

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"
