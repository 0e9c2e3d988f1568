"""The base of a fault type's parameter model, and durations as a scenario writes them
(``90s``, ``15m``, ``2h``, ``3d``): pydantic only, so registering fault types loads no numpy."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict


class FaultParams(BaseModel):
    """The base of a fault type's parameter model: unknown keys refused, no NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, None: 1}


def duration_s(value: Any) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"3d"`` as seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration (write 90s, 15m, 2h or 3d)")
    return float(match[1]) * _UNIT_S[match[2]]
