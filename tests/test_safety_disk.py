"""Issue 23, item 15: a full disk ends a command with the error that matters, named, never an
internal error masked by a second one from writing synthkit's own bookkeeping; an observer
hook that raises after the run cannot hide its summary."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from synthkit.testing import run_cli
from tests.test_ingestion_db import SCENARIO


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs of the test's own (the suite runs as root on its machines, as in CI)."""
    where = tmp_path / "fs"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"a disk-full test mounts a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path, leave: int = 0) -> None:
    """Fill ``where`` until at most ``leave`` bytes are free."""
    import os

    free = os.statvfs(where)
    space = free.f_bavail * free.f_frsize - leave
    with open(where / "fill", "wb") as fh:
        try:
            while space > 0:
                fh.write(b"\0" * min(space, 1 << 16))
                fh.flush()
                space -= 1 << 16
        except OSError:
            pass


def _prepared(tmp_path: Path, disk: Path) -> tuple[str, str]:
    scenario = tmp_path / "ingest_t.yaml"
    scenario.write_text(SCENARIO)
    url = f"sqlite:///{disk}/db.sqlite"
    assert run_cli(["db", "init", "--db-url", url]).exit_code == 0
    assert run_cli(["--scenario", str(scenario), "db", "register", "--db-url", url]).exit_code == 0
    return str(scenario), url


@pytest.mark.slow
def test_a_full_disk_is_named_and_nothing_is_left_behind(tmp_path, small_disk):
    scenario, url = _prepared(tmp_path, small_disk)
    _fill(small_disk)
    state = small_disk / "st.json"
    res = run_cli(
        ["--scenario", scenario, "--state-file", str(state), "bootstrap", "--db-url", url]
    )
    assert res.exit_code == 2, res.stderr
    assert "No space left on device" in res.stderr and "internal error" not in res.stderr, (
        res.stderr
    )
    assert sorted(p.name for p in small_disk.iterdir()) == [
        "db.sqlite",
        "fill",
    ]  # no lock, no state


@pytest.mark.slow
def test_a_disk_that_fills_during_the_run_reports_the_database_not_the_bookkeeping(
    tmp_path, small_disk
):
    """A regression guard (it held before item 15 too: SQLite frees its journal as it fails,
    so the record still fits); the masking itself is the next test's."""
    scenario, url = _prepared(tmp_path, small_disk)
    _fill(small_disk, leave=96 << 10)  # room for the state and its record, not for the rows
    state = small_disk / "st.json"
    res = run_cli(
        ["--scenario", scenario, "--state-file", str(state), "bootstrap", "--db-url", url]
    )
    assert res.exit_code == 2, res.stderr
    assert "database or disk is full" in res.stderr and "internal error" not in res.stderr, (
        res.stderr
    )
    records = list((small_disk / "st.runs").glob("*.json"))
    assert len(records) == 1 and json.loads(records[0].read_text())["status"] == "failed"


def test_a_finished_hook_that_raises_leaves_the_summary_and_exit_3(tmp_path):
    from synthkit.plugins import build_plugins

    module = tmp_path / "sk_bad_observer.py"
    module.write_text(
        "import pluggy\nhookimpl = pluggy.HookimplMarker('synthkit')\n\n"
        "@hookimpl\ndef synthkit_run_finished(plan, summary):\n    raise RuntimeError('observer broke')\n"
    )
    import importlib.util

    spec = importlib.util.spec_from_file_location("sk_bad_observer", module)
    observer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(observer)
    plugins = build_plugins()
    plugins.register(observer, "bad_observer", distribution="observer-dist", version="1.0")
    res = run_cli(
        ["telematics", "generate", "--events", "10", "--out", str(tmp_path / "e.jsonl")], plugins
    )
    assert res.exit_code == 3, res.stderr
    assert json.loads(res.stdout)["events"] == 10 and (tmp_path / "e.jsonl").exists()
    assert (
        "plugin 'bad_observer' (distribution observer-dist 1.0" in res.stderr
        and "observer broke" in res.stderr
    )


def test_closing_a_failed_run_never_masks_its_error(tmp_path):
    """The run record cannot be written (its directory's parent is a file: the same OSError
    path as a full disk): a failed run's own error stays the one raised, a finished run's
    bookkeeping failure is named."""
    import numpy as np

    from synthkit.errors import OutputError
    from synthkit.reservation import Reservation
    from synthkit.runs import RunLog, RunRecord, RunRecorder
    from synthkit.state import SeqState

    (tmp_path / "blocked").write_text("a file where the runs directory would go")
    for status in ("failed", "finished"):
        with SeqState.held(tmp_path / f"{status}.json") as state:
            record = RunRecord(run_id=f"r-{status}", command="t", family="f", streams={})
            recorder = RunRecorder(RunLog(tmp_path / "blocked" / "runs"), record, ["A"], [0])
            reservation = Reservation(state, ["A"], np.array([10]), recorder=None)
            reservation.hand(np.array([0, 0]), np.array([0, 1]))
            reservation.recorder = recorder
            if status == "failed":
                with pytest.raises(RuntimeError, match="the run's own error"):
                    try:
                        raise RuntimeError("the run's own error")
                    finally:
                        reservation.settle(status)
            else:
                with pytest.raises(OutputError, match="cannot write the run record"):
                    reservation.settle(status)
        assert json.loads((tmp_path / f"{status}.json").read_text())["devices"] == {"A": 1}


@pytest.mark.parametrize(
    ("code", "remedy"),
    [
        ("ENOSPC", "free some space"),
        ("EACCES", "fix the permissions"),
        ("EROFS", "read-only"),
        ("ENOENT", "its directory does not exist"),
    ],
)
def test_a_refused_bookkeeping_write_says_what_to_do_about_its_cause(tmp_path, code, remedy):
    import errno
    import os

    from synthkit.errors import OutputError
    from synthkit.files import bookkeeping

    number = getattr(errno, code)
    with pytest.raises(OutputError) as err, bookkeeping(tmp_path / "f", "the state"):
        raise OSError(number, os.strerror(number))
    assert remedy in err.value.hint and str(tmp_path / "f") in str(err.value)
