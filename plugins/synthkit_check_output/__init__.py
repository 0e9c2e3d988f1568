"""output_writable check: the output file can be created before any work starts."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from synthkit import hookimpl
from synthkit.api import Finding, PreflightCheck

NAME = "output_writable"


def check_output(path: Any, context: Mapping[str, Any]) -> Iterator[Finding]:
    target = Path(path)
    where = str(target)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        yield Finding(NAME, "error", "output path is a directory", "give a file name", where)
    elif not parent.exists():
        yield Finding(
            NAME,
            "error",
            f"directory {str(parent)!r} does not exist",
            "create it first or choose another --out",
            where,
        )
    elif not parent.is_dir():
        yield Finding(NAME, "error", f"{str(parent)!r} is not a directory", "fix --out", where)
    elif not os.access(parent, os.W_OK | os.X_OK):
        yield Finding(
            NAME,
            "error",
            f"directory {str(parent)!r} is not writable",
            "choose a writable --out location",
            where,
        )
    elif target.exists() and not os.access(target, os.W_OK):
        yield Finding(
            NAME,
            "error",
            "existing file is not writable",
            "remove it or choose another --out",
            where,
        )


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [
        PreflightCheck(
            name=NAME,
            applies_to=("output",),
            run=check_output,
            description="the output file's directory exists and is writable",
        )
    ]
