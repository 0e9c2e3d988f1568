"""Issue 11, item 8: inputs that ended in an internal error (exit 1, a traceback's last line)
where one clear line and exit 2 are promised."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import BIN

FLEET = (
    "scenario_id: inputs_t\nseed: 2\nbootstrap: {days: 5, step_minutes: 1}\ndevices:\n"
    "  - {group: t, count: 100, id_pattern: 'IN-{n:03d}', archetype: stationary_archetype_a, cadence_seconds: 60}\n"
)


def _one_clear_line(res) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--scenario", "{s}", "run", "--duration-seconds", "nan"],
        ["--scenario", "{s}", "run", "--duration-seconds", "inf", "--iterations", "1"],
        ["telematics", "stream", "--interval", "nan"],
        ["telematics", "publish", "--interval", "-inf"],
        ["ingest", "listen", "--idle-timeout", "nan"],
        ["--scenario", "{s}", "run", "--drain-timeout", "NaN"],
    ],
)
def test_nan_and_infinity_are_refused_by_every_float_option(args, sh, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(FLEET)
    res = sh("synthkit", *[a.format(s=path) for a in args])
    _one_clear_line(res)
    assert "is not a finite number" in res.stderr
    assert list(tmp_path.iterdir()) == [path]  # nothing reserved, nothing created


@pytest.mark.parametrize(
    "args",
    [
        ["db", "init", "--db-url", "sqlite:////proc/nope/x.db"],
        ["import-csv", "--artifact-dir", ".", "--apply", "--db-url", "sqlite:////proc/nope/x.db"],
        ["db", "init", "--db-url", "postgresql+psycopg://root@127.0.0.1:notaport/test"],
        ["db", "init", "--db-url", "not a url at all"],
    ],
)
def test_database_urls_that_cannot_work_are_one_clear_line(args, sh, tmp_path):
    if args[0] == "import-csv":  # a real artifact, so the URL is what fails
        (tmp_path / "s.yaml").write_text(FLEET.replace("days: 5", "days: 1"))
        done = sh(
            "synthkit",
            "--scenario",
            str(tmp_path / "s.yaml"),
            "export-csv",
            "--run-id",
            "r",
            "--end-at",
            "2026-02-12T10:00:00Z",
            "--output-root",
            str(tmp_path / "out"),
        )
        assert done.returncode == 0, done.stderr
        args = [a if a != "." else json.loads(done.stdout)["artifact_dir"] for a in args]
    _one_clear_line(sh("synthkit", *args))


@pytest.mark.slow
def test_two_exports_of_one_run_id_at_once_end_cleanly(tmp_path):
    """Concurrent exports with the same run id: `OSError: Directory not empty`."""
    path = tmp_path / "s.yaml"
    path.write_text(FLEET)
    procs = [
        subprocess.Popen(
            [
                str(BIN / "synthkit"),
                "--scenario",
                str(path),
                "--state-file",
                str(tmp_path / f"{i}.json"),
                "export-csv",
                "--run-id",
                "same",
                "--end-at",
                "2026-02-12T10:00:00Z",
                "--output-root",
                str(tmp_path / "out"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "Traceback" not in loser and (
        "already exists" in loser or "created by another export" in loser
    )
    assert [p.name for p in (tmp_path / "out" / "inputs_t").iterdir()] == ["same"]  # no temp left
