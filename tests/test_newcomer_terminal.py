"""Issue 24 items 10 and 11: what an 80-column terminal shows, validate's verdict said once and
consistently, certificate paths that follow the scenario file."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from synthkit.testing import run_cli
from tests.conftest import BIN, ROOT
from tests.live import own_prefix, topic_block

STATIONARY = str(ROOT / "scenarios" / "stationary_only_v1.yaml")


def at_80(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "COLUMNS": "80", "TERM": "xterm", **(env or {})}
    full.pop("SYNTHKIT_DEBUG", None)
    return subprocess.run(
        [str(BIN / "synthkit"), *args], capture_output=True, text=True, env=full, timeout=120
    )


@pytest.mark.slow
def test_help_at_80_columns_shows_every_option_name_whole():
    """Before: `bootstrap --help` cut `--analytics-batch-…` and `--no-drain-analyt…`."""
    for command in (["bootstrap"], ["import-csv"], ["ingest", "listen"], ["replay"]):
        res = at_80(*command, "--help")
        assert res.returncode == 0
        names = [w for line in res.stdout.splitlines() for w in line.split() if w.startswith("--")]
        assert names and not [n for n in names if n.endswith("…")], (command, names)
    assert "--no-drain-analytics" in at_80("bootstrap", "--help").stdout


@pytest.mark.slow
def test_tables_at_80_columns_keep_identifiers_whole(tmp_path):
    """Before: `stationary_arche│type_a`, `CITY-A-0│01`."""
    url = f"sqlite:///{tmp_path}/v.db"
    assert run_cli(["db", "init", "--db-url", url]).exit_code == 0
    res = at_80("--scenario", STATIONARY, "validate", "--db-url", url)
    assert "stationary_archetype_a" in res.stderr and "stationary_archetype_c" in res.stderr
    demo = at_80(
        "--scenario",
        str(ROOT / "scenarios" / "demo_city_v1.yaml"),
        "dry-run",
        "--preview-steps",
        "1",
    )
    assert (
        demo.returncode == 0
        and "CITY-A-001" in demo.stderr
        and "stationary_archetype_a" in demo.stderr
    )


def test_a_non_strict_validate_says_one_verdict_once(tmp_path):
    """Before: `2 devices valid` on stderr while the JSON said `"devices_validated": []`, and
    the same error four times."""
    url = f"sqlite:///{tmp_path}/v.db"
    assert run_cli(["db", "init", "--db-url", url]).exit_code == 0
    res = run_cli(["--scenario", STATIONARY, "validate", "--db-url", url])
    summary = json.loads(res.stdout)
    assert (
        res.exit_code == 3
        and summary["devices_validated"] == []
        and "0 of 2 devices valid" in res.stderr
    )
    text = res.stdout + res.stderr
    assert (
        text.count("E2E2024STATA1: device not found") == 2
    )  # once in `errors`, once as it was found
    assert summary["warnings"] == [
        "1 preflight error(s), listed in `errors` (--strict stops at them)"
    ]


def test_certificate_paths_are_relative_to_the_scenario_and_must_exist(tmp_path):
    """Before: relative paths resolved from the current directory, and validate passed with
    certificate files that did not exist."""
    folder = tmp_path / "site"
    (folder / "certs").mkdir(parents=True)
    (folder / "certs" / "ca.crt").write_text("not checked by validate\n")
    path = folder / "s.yaml"
    body = "scenario_id: certs\ndevices:\n  - {device_id: C-1, archetype: stationary_archetype_a}\n"
    path.write_text(body + "mqtt: {ca_path: certs/ca.crt}\n")
    assert (
        run_cli(["--scenario", str(path), "validate"]).exit_code == 0
    )  # run from elsewhere (tmp_path)
    path.write_text(body + "mqtt: {ca_path: certs/ca.crt, key_path: certs/missing.key}\n")
    res = run_cli(["--scenario", str(path), "validate"])
    assert (
        res.exit_code == 2
        and "mqtt.key_path" in res.stderr
        and "missing.key not found" in res.stderr
    )


@pytest.mark.slow
@pytest.mark.services
def test_a_run_for_a_duration_shows_how_much_is_due(tmp_path):
    """Before: `run --duration-seconds 600` showed `2/?` for ten minutes."""
    path = tmp_path / "d.yaml"
    path.write_text(
        "scenario_id: due\nspeedup_factor: 60\ndevices:\n  - {group: d, count: 2, id_pattern: 'DUE-{n}', "
        "archetype: stationary_archetype_a, cadence_seconds: 60}\n" + topic_block(own_prefix("due"))
    )
    res = at_80(
        "--scenario",
        str(path),
        "--state-file",
        str(tmp_path / "s.json"),
        "run",
        "--duration-seconds",
        "2",
        env={"SYNTHKIT_PROGRESS": "1"},
    )
    assert res.returncode == 0, res.stderr
    assert "/6" in res.stderr and "/?" not in res.stderr  # 2 devices, ticks at 0, 1 and 2 s


def test_validation_reports_what_does_not_depend_on_another_problem_in_one_pass(tmp_path):
    """Before: a scenario with 15 problems took four rounds: schema problems first, then the
    archetypes of the entries that were fine all along."""
    path = tmp_path / "r.yaml"
    path.write_text(
        "scenario_id: rounds\ndevices:\n"
        "  - {device_id: R-1, archetype: stationary_archetype_a, cadence_seconds: -5}\n"
        "  - {device_id: R-2, archetype: stationary_archetyp_a}\n"
        "  - {device_id: R-3, archetype: stationary_archetype_a, bogus: 1}\n"
        "  - {device_id: R-4, archetype: stationary_archetype_a}\n"
        "  - {device_id: R-4, archetype: stationary_archetype_c}\n"
    )
    res = run_cli(["--scenario", str(path), "validate"])
    assert res.exit_code == 2 and "4 problems" in res.stderr, res.stderr
    assert (
        "r.yaml:3: devices[0].cadence_seconds" in res.stderr
        and "r.yaml:5: devices[2].bogus" in res.stderr
    )
    assert "r.yaml:4: devices[1].archetype: unknown archetype 'stationary_archetyp_a'" in res.stderr
    assert (
        "r.yaml:7: devices[4]: device_id 'R-4' is already declared at" in res.stderr
        and "r.yaml:6" in res.stderr
    )


def test_a_line_printed_while_a_bar_shows_goes_through_the_bars_console(monkeypatch):
    """Before: the listener's periodic reconcile line (printed from its own thread on a console
    of its own) collided with its progress bar."""
    from synthkit.console import progress_bar, stderr

    monkeypatch.setenv("SYNTHKIT_PROGRESS", "1")
    outside = stderr()
    with progress_bar("listen", None) as bar:
        inside = stderr()
        assert bar._progress is not None and inside is bar._progress.console
    assert outside is not inside and stderr() is not inside
