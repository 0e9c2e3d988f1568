"""Issue 15: the operator's CLI around the data: how it is started, what its help shows."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from synthkit import __version__
from tests.conftest import BIN

HELP_PAGES = [[], ["validate"], ["export-csv"], ["run"], ["db", "init"], ["telematics", "generate"], ["reconcile"]]


def test_version_as_a_flag_and_as_a_command():
    for args in (["--version"], ["version"]):
        res = subprocess.run([str(BIN / "synthkit"), *args], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == __version__


def test_python_dash_m_synthkit_is_the_same_command():
    res = subprocess.run([sys.executable, "-m", "synthkit", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == __version__, res.stderr
    bad = subprocess.run([sys.executable, "-m", "synthkit", "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2 and "No such command" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("args", HELP_PAGES, ids=lambda a: " ".join(a) or "root")
def test_flags_show_no_value_metavar(args):
    """A flag takes no value: `--strict <bool>` invited `--strict true`, which failed."""
    res = subprocess.run([str(BIN / "synthkit"), *args, "--help"], capture_output=True, text=True,
                         env={"COLUMNS": "200", "PATH": ""})  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "<bool>" not in res.stdout, res.stdout
    assert re.search(r"--help\s+Show this message", res.stdout), res.stdout


def test_global_options_after_the_command_mean_the_same(tmp_path, sh):
    """`synthkit validate --scenario X` failed ("No such option: --scenario") with no hint."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text("scenario_id: placed\ndevices:\n  - {device_id: PL-1, archetype: stationary_archetype_a}\n")
    before = sh("synthkit", "--scenario", str(scenario), "validate")
    after = sh("synthkit", "validate", f"--scenario={scenario}")
    assert before.returncode == after.returncode == 0, after.stderr
    assert before.stdout == after.stdout
    late = sh("synthkit", "export-csv", "--output-root", str(tmp_path / "out"), "--scenario", str(scenario),
              "--state-file", str(tmp_path / "st.json"))  # fmt: skip
    assert late.returncode == 0, late.stderr
    assert any((tmp_path / "out").iterdir())
    # nothing after -- moves, and an unknown option is still refused by name
    bad = sh("synthkit", "validate", "--scenery", str(scenario))
    assert bad.returncode == 2 and "--scenery" in bad.stderr


def test_db_url_before_the_command_is_the_database_of_every_command(tmp_path, sh):
    """`synthkit --db-url U db init` failed: --db-url existed per command only."""
    url = f"sqlite:///{tmp_path}/global.db"
    assert sh("synthkit", "--db-url", url, "db", "init").returncode == 0
    assert (tmp_path / "global.db").is_file()
    scenario = tmp_path / "s.yaml"
    scenario.write_text("scenario_id: placed\ndevices:\n  - {device_id: PL-1, archetype: stationary_archetype_a}\n")
    reg = sh("synthkit", "db", "register", "--scenario", str(scenario), "--db-url", url)
    assert reg.returncode == 0, reg.stderr
    glob = sh("synthkit", "--db-url", url, "--scenario", str(scenario), "validate")
    assert glob.returncode == 0 and "global.db" in glob.stdout + glob.stderr, glob.stderr
    # the command's own --db-url wins over the global one
    other = f"sqlite:///{tmp_path}/other.db"
    assert sh("synthkit", "--db-url", url, "db", "init", "--db-url", other).returncode == 0
    assert (tmp_path / "other.db").is_file()


def test_hoisting_keeps_values_and_the_commands_own_options():
    import typer

    from synthkit.cli import build_app, hoist_global_options
    from synthkit.plugins import get_plugins

    root = typer.main.get_command(build_app(get_plugins()))
    assert hoist_global_options(root, ["validate", "--scenario", "x.yaml", "--strict"]) == [
        "--scenario", "x.yaml", "--strict", "validate"]  # fmt: skip
    assert hoist_global_options(root, ["db", "init", "--db-url", "sqlite:///a.db"]) == [
        "db", "init", "--db-url", "sqlite:///a.db"]  # fmt: skip
    assert hoist_global_options(root, ["telematics", "generate", "--out", "--scenario"]) == [
        "telematics", "generate", "--out", "--scenario"]  # a value that looks like an option stays a value
    assert hoist_global_options(root, ["runs", "--", "--scenario", "x"]) == ["runs", "--", "--scenario", "x"]
