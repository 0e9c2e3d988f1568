"""Issue 24 item 8: messages that point the right way (each once sent users the wrong way)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from synthkit.testing import run_cli
from tests.conftest import PG_ADMIN, ROOT
from tests.test_closed_loop import SCENARIO, bootstrapped

STATIONARY = str(ROOT / "scenarios" / "stationary_only_v1.yaml")


@pytest.mark.services
def test_a_missing_postgresql_database_or_role_says_to_create_it():
    """Before: "(run synthkit db init first)", which fails the same way."""
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    res = run_cli(["db", "init", "--db-url", f"{base}/sk_no_such_db_24"])
    assert (
        res.exit_code == 2
        and "create the database first" in res.stderr
        and "createdb" in res.stderr
    )
    res = run_cli(
        ["db", "init", "--db-url", "postgresql+psycopg://sk_no_such_role@127.0.0.1:5432/test"]
    )
    assert (
        res.exit_code == 2 and "create the role" in res.stderr and "db init first" not in res.stderr
    )


def test_the_schema_hint_names_the_database_the_user_gave(tmp_path):
    """Before: `db_schema` said `synthkit db init`, which sets up the default file instead."""
    sqlite3.connect(tmp_path / "blank.db").close()
    url = f"sqlite:///{tmp_path}/blank.db"
    res = run_cli(["--scenario", STATIONARY, "--strict", "validate", "--db-url", url])
    assert res.exit_code == 2 and f"synthkit db init --db-url {url}" in res.stderr
    assert f"--scenario {STATIONARY} db register --db-url {url}" in res.stderr


def test_db_register_attaches_a_detached_device(tmp_path):
    """Before: "not attached to a reservoir (attach the device first)", with no synthkit way
    to attach: `db register` printed devices_already_present and left it detached."""
    url = f"sqlite:///{tmp_path}/a.db"
    assert run_cli(["db", "init", "--db-url", url]).exit_code == 0
    assert run_cli(["--scenario", STATIONARY, "db", "register", "--db-url", url]).exit_code == 0
    with sqlite3.connect(tmp_path / "a.db") as conn:
        (device,) = conn.execute(
            "SELECT device_id FROM devices ORDER BY device_id LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE devices SET reservoir_id = NULL WHERE device_id = ?", (device,))
    res = run_cli(["--scenario", STATIONARY, "--strict", "validate", "--db-url", url])
    assert (
        res.exit_code == 2
        and "not attached" in res.stderr
        and "db register` attaches" in res.stderr
    )
    again = run_cli(["--scenario", STATIONARY, "db", "register", "--db-url", url])
    assert again.exit_code == 0 and json.loads(again.stdout)["devices_attached"] == 1
    assert (
        run_cli(["--scenario", STATIONARY, "--strict", "validate", "--db-url", url]).exit_code == 0
    )


def test_reconcile_without_a_report_does_not_point_at_a_file_it_did_not_write(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    bootstrapped(tmp_path, url, count=1)
    with sqlite3.connect(tmp_path / "x.db") as conn:
        conn.execute("DELETE FROM telemetry WHERE seq < 3")
    res = run_cli(["reconcile", "--db-url", url])
    assert res.exit_code == 3 and "replay --report FILE` re-emits" not in res.stderr
    assert "`synthkit reconcile --report FILE`, then `synthkit replay --report FILE`" in res.stderr


def test_an_import_dry_run_says_how_to_apply_and_an_unused_drain_size_is_said(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text(SCENARIO.format(count=1))
    url = f"sqlite:///{tmp_path}/x.db"
    for args in (
        ["db", "init", "--db-url", url],
        ["--scenario", str(path), "db", "register", "--db-url", url],
    ):
        assert run_cli(args).exit_code == 0
    out = run_cli(
        ["--scenario", str(path), "export-csv", "--run-id", "r", "--end-at", "2026-02-12T10:00:00Z"]
    )
    artifact = json.loads(out.stdout)["artifact_dir"]
    dry = run_cli(
        ["import-csv", "--artifact-dir", artifact, "--db-url", url, "--analytics-batch-size", "300"]
    )
    assert dry.exit_code == 0 and "add --apply" in dry.stderr
    assert any(
        "--analytics-batch-size was not used" in w for w in json.loads(dry.stdout)["warnings"]
    )
    boot = run_cli(
        ["--scenario", str(path), "bootstrap", "--db-url", url, "--analytics-batch-size", "300"]
    )
    assert boot.exit_code == 0 and any(
        "--analytics-batch-size was not used" in w for w in json.loads(boot.stdout)["warnings"]
    )
    used = run_cli(
        [
            "--scenario",
            str(path),
            "bootstrap",
            "--db-url",
            url,
            "--drain-analytics",
            "--analytics-batch-size",
            "300",
        ]
    )
    assert used.exit_code == 0 and not any(
        "--analytics-batch-size" in w for w in json.loads(used.stdout)["warnings"]
    )
