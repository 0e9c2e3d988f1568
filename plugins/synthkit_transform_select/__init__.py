"""select transform: keep, drop and rename columns, for a sink that wants a subset."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthkit import hookimpl
from synthkit.api import TransformSpec

if TYPE_CHECKING:
    from synthkit_transform_select.select import Select, SelectOptions


def make_transform(options: SelectOptions, seed: int) -> Select:
    from synthkit_transform_select.select import Select

    return Select(options)


@hookimpl
def synthkit_register_transforms() -> list[TransformSpec]:
    from synthkit_transform_select.select import SelectOptions

    return [
        TransformSpec(
            name="select",
            factory=make_transform,
            options=SelectOptions,
            description="keep (columns=a,b), drop (drop=c) and rename (rename=old:new) columns",
        )
    ]
