"""Compile synthkit's kernels while `pip install -e` builds the project, so the first command
after installing does not spend seconds compiling them (issue 15: the README's main job went
from 7-10 s to about 1 s on its first call).

Why at install time: the kernels are numba functions cached on disk (``cache=True``); the
first process that needs one compiles it (3-6 s for the telematics driver model alone on a
2-core machine) and every later one loads it in milliseconds. An editable install's modules
are the source tree's own files, so a cache written here, beside them, is the one every
later command (and every other virtual environment pointing at this checkout) reads. Numba
keys each entry by its file's content hash, the function's bytecode, the argument types,
numba's version and this machine's CPU; an entry that does not match is recompiled (numba
does not see a change to a kernel's callee in another file: CONTRIBUTING.md says what to do).

How: the commands in ``[tool.hatch.build.targets.wheel.hooks.custom] commands`` run side by
side with this build environment's Python, through the real CLI, so they compile exactly the
signatures those commands use. The hook asks for the runtime dependencies except
``skip-dependencies`` (drivers and writers those commands never import: installing them in
the build environment would cost seconds for nothing; tests/test_prebuild.py checks the
commands run without them). The project is not installed yet, so a temporary
``.dist-info`` carries its entry points. A failure is printed and ignored: the install never
fails because of it, the first run compiles as before.
``SYNTHKIT_PREBUILD=0`` skips it (and the build environment with it). Wheels built for
distribution (``version == "standard"``) carry no compiled code: it would be this machine's.

The cost, measured by benchmarks/bench_first_run.py: the install takes about 30 s longer (the
build environment's packages, then about 12 s of compiling on two cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


class PrebuildKernels(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        if not _wanted():
            return []  # opting out costs nothing: no build environment to fill
        skip = {canonicalize_name(n) for n in self.config.get("skip-dependencies", [])}
        return [
            d
            for d in self.metadata.core.dependencies
            if canonicalize_name(Requirement(d).name) not in skip
        ]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version != "editable" or not _wanted():
            return
        meta = self.metadata.core
        started = time.perf_counter()
        failures = prebuild(
            Path(self.root), self.config.get("commands", []), meta.version, meta.entry_points
        )
        for failure in failures:
            self.app.display_warning(f"synthkit: {failure}; the first run will compile instead")
        if not failures:
            self.app.display_info(
                f"synthkit: kernels compiled in {time.perf_counter() - started:.1f} s"
            )


def _wanted() -> bool:
    return os.environ.get("SYNTHKIT_PREBUILD", "1") != "0"


def prebuild(
    root: Path,
    commands: list[list[str]],
    version: str,
    entry_points: dict[str, dict[str, str]],
    cache_dir: str | None = None,
) -> list[str]:
    """Run each ``synthkit`` command (``{tmp}`` stands for a scratch directory) from the source
    tree at ``root``, side by side (one core each); returns what failed, one line each. The
    kernels are cached beside their sources, or in ``cache_dir`` when one is given."""
    with tempfile.TemporaryDirectory(prefix="synthkit-prebuild-") as tmp:
        _write_dist_info(Path(tmp), version, entry_points)
        env = dict(os.environ)
        paths = [tmp, str(root), str(root / "plugins"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        env.pop("NUMBA_CACHE_DIR", None)  # by default beside the sources it belongs to
        if cache_dir is not None:
            env["NUMBA_CACHE_DIR"] = cache_dir
        runs = [
            (
                args,
                subprocess.Popen(
                    [sys.executable, "-m", "synthkit", *args],
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for args in ([a.replace("{tmp}", tmp) for a in argv] for argv in commands)
        ]
        failures = []
        for args, proc in runs:
            try:
                _, err = proc.communicate(timeout=900)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode != 0:
                tail = (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
                failures.append(f"`synthkit {' '.join(args)}` failed ({tail})")
        return failures


def _write_dist_info(into: Path, version: str, entry_points: dict[str, dict[str, str]]) -> None:
    """A ``.dist-info`` naming the project's entry points, so plugin discovery works before the
    project is installed."""
    info = into / f"synthkit-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: synthkit\nVersion: {version}\n")
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {target}" for name, target in points.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
