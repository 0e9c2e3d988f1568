"""The install-time kernel build (hatch_build.py): `pip install -e` runs the commands named in
pyproject.toml so the first command after installing compiles nothing (issue 15: the
README's main job took 7-10 s on its first call, all but one of them compiling)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT))
from hatch_build import prebuild

# What the README's first command runs after installing.
MAIN_JOB = ["telematics", "generate", "--events", "1000", "--out", "telemetry_events.jsonl"]

# Runs a synthkit command in-process and reports how many kernels numba compiled (a cached
# kernel loads without compiling) and how many it loaded from the cache.
COUNTING = """
import json, sys
from numba.core import event
compiled = []
class Count(event.Listener):
    def on_start(self, ev): compiled.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev): pass
event.register("numba:compile", Count())
from synthkit.cli import main
sys.argv = ["synthkit", *sys.argv[1:]]
try:
    main()
except SystemExit as e:
    code = e.code
import gc
from numba.core.dispatcher import Dispatcher
hits = sum(sum(d.stats.cache_hits.values()) for d in gc.get_objects() if isinstance(d, Dispatcher))
print(json.dumps({"code": code, "compiled": compiled, "hits": hits}), file=sys.stderr)
"""

# Makes the named top-level modules unimportable, as they are in the build environment.
BLOCKER = """
import sys
BLOCKED = {blocked!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{{name}} is not in the build environment", name=name)
sys.meta_path.insert(0, Block())
"""


def _hook_config() -> tuple[dict, dict]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["custom"], pyproject[
        "project"
    ]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_prebuild_without_skipped_dependencies_leaves_nothing_for_the_main_job_to_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook, project = _hook_config()
    assert hook["commands"], "the hook compiles nothing"
    # the dependencies the hook leaves out of the build environment really are unused
    skipped = {
        importlib.metadata.distribution(name).metadata["Name"].lower()
        for name in hook["skip-dependencies"]
    }
    blocked = sorted(
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if any(d.lower() in skipped for d in dists) and not module.startswith("_")
    )
    assert {"pyarrow", "psycopg", "sqlalchemy", "paho"} <= set(blocked)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=blocked))
    monkeypatch.setenv("PYTHONPATH", str(site))
    cache = tmp_path / "numba-cache"
    failures = prebuild(
        ROOT,
        hook["commands"],
        project["version"],
        project["entry-points"] | {"console_scripts": project["scripts"]},
        str(cache),
    )
    assert failures == []
    assert any(cache.rglob("*.nbi")), "nothing was cached"

    monkeypatch.delenv("PYTHONPATH")
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, *MAIN_JOB],
        cwd=work,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), done.stderr
    assert report["compiled"] == []
    assert report["hits"] >= 2  # the driver model and the encoder, at least
    assert sum(1 for _ in (work / "telemetry_events.jsonl").open()) == 1000


@pytest.mark.slow
def test_a_failing_command_is_reported_not_raised(tmp_path: Path) -> None:
    _, project = _hook_config()
    failures = prebuild(
        ROOT, [["no-such-command"]], project["version"], project["entry-points"], str(tmp_path)
    )
    assert len(failures) == 1
    assert failures[0].startswith("`synthkit no-such-command` failed (")
