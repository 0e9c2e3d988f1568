"""disk_space: refuse to start when the output's file system is nearly full."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from synthkit import hookimpl
from synthkit.api import Finding, PreflightCheck

MIN_FREE_BYTES = 64 * 1024 * 1024


def check(path: Any, context: Mapping[str, Any]) -> Iterator[Finding]:
    folder = Path(path).resolve().parent
    if folder.is_dir() and shutil.disk_usage(folder).free < context.get("min_free", MIN_FREE_BYTES):
        yield Finding(
            "disk_space",
            "error",
            f"less than 64 MiB free in {folder}",
            "free some space or write elsewhere",
            str(path),
        )


@hookimpl
def synthkit_register_checks() -> list[PreflightCheck]:
    return [PreflightCheck("disk_space", ("output",), check, "the output disk has room")]
