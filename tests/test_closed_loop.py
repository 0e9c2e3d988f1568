"""Issue 14: run records, reconcile and replay, on SQLite and PostgreSQL (the db_url fixture),
and against an exported file of stored pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from synthkit.reconcile import merge, subtract
from synthkit.runs import RunLog, runs_dir
from synthkit.testing import run_cli

SCENARIO = """scenario_id: loop_t
bootstrap: {{days: 1, step_minutes: 15}}
devices:
  - {{group: s, count: {count}, id_pattern: "LOOP-{{n:02d}}", archetype: stationary_archetype_a, cadence_seconds: 300}}
  - {{device_id: LOOP-TRUCK, archetype: mobile_high_efficiency, mode: MOBILE, cadence_seconds: 300, route_id: r1}}
routes:
  - route_id: r1
    points:
      - {{point_id: B, kind: BASE, latitude: -8.8, longitude: 13.2}}
      - {{point_id: R, kind: REFILL, latitude: -8.81, longitude: 13.25}}
      - {{point_id: C, kind: CLIENT, latitude: -8.85, longitude: 13.22}}
"""
COLUMNS = "mqtt_client_id, seq, received_at, reservoir_id, distance_mm, level_pct, liters, payload"


def ok(args: list[str], code: int = 0) -> dict:
    res = run_cli(args)
    assert res.exit_code == code, res.stderr
    return json.loads(res.stdout)


def bootstrapped(tmp_path: Path, url: str, count: int = 3) -> tuple[Path, dict]:
    path = tmp_path / "loop.yaml"
    path.write_text(SCENARIO.format(count=count))
    ok(["db", "init", "--db-url", url])
    ok(["--scenario", str(path), "db", "register", "--db-url", url])
    return path, ok(["--scenario", str(path), "bootstrap", "--db-url", url])


def rows(url: str, where: str = "") -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    text(f"SELECT {COLUMNS} FROM telemetry {where} ORDER BY mqtt_client_id, seq")
                )
            ]
    finally:
        engine.dispose()


def delete(url: str, where: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM telemetry WHERE {where}"))
    engine.dispose()


def test_interval_arithmetic():
    assert merge([(5, 9), (1, 3), (4, 4), (20, 25), (30, 29)]) == [(1, 9), (20, 25)]
    assert subtract([(0, 99)], [(0, 3), (10, 20), (95, 120)]) == [(4, 9), (21, 94)]
    assert subtract([(0, 9), (20, 29)], [(5, 25)]) == [(0, 4), (26, 29)]
    assert subtract([(0, 9)], []) == [(0, 9)] and subtract([(3, 4)], [(0, 9)]) == []


def test_bootstrap_writes_a_run_record_that_runs_lists(tmp_path, db_url):
    _, summary = bootstrapped(tmp_path, db_url)
    listed = ok(["runs", "--json"])["runs"]
    assert [r["run_id"] for r in listed] == [summary["run_id"]]
    record = RunLog(runs_dir(Path(".tmp/synthetic_sim_seq_state.json"))).load(summary["run_id"])
    assert (
        record.status == "finished"
        and record.family == "reservoir"
        and record.emitted == summary["total_emitted"]
    )
    assert {s: (r.first_seq, r.last_seq) for s, r in record.streams.items()} == {
        d: (0, 96) for d in ("LOOP-01", "LOOP-02", "LOOP-03", "LOOP-TRUCK")
    }  # 1 day / 15 min + 1
    assert (
        record.recipe["window_start_s"]
        and record.recipe["scenario_sha256"] == record.scenario_sha256
    )


def test_reconcile_finds_leading_inner_and_trailing_gaps_and_replay_restores_them_byte_for_byte(
    tmp_path, db_url
):
    """Before: no command could fill a gap, and the listener counted only holes between the
    lowest and highest seq it saw. Now the expected range comes from the run record."""
    _, summary = bootstrapped(tmp_path, db_url)
    before = rows(db_url)
    assert ok(["reconcile", "--db-url", db_url])["complete"] is True
    delete(
        db_url,
        "(mqtt_client_id = 'LOOP-01' AND seq < 4) OR (mqtt_client_id = 'LOOP-02' AND seq BETWEEN 40 AND 49)"
        " OR (mqtt_client_id = 'LOOP-TRUCK' AND seq > 90)",
    )
    res = run_cli(["reconcile", "--db-url", db_url, "--report", str(tmp_path / "r.json")])
    assert res.exit_code == 3, res.stderr  # incomplete
    report = json.loads(res.stdout)
    assert (report["missing"], report["stored"], report["complete"]) == (
        4 + 10 + 6,
        4 * 97 - 20,
        False,
    )
    assert report["missing_ranges"] == {
        summary["run_id"]: {"LOOP-01": [[0, 3]], "LOOP-02": [[40, 49]], "LOOP-TRUCK": [[91, 96]]}
    }
    assert (
        json.loads((tmp_path / "r.json").read_text())["missing_ranges"] == report["missing_ranges"]
    )
    done = ok(["replay", "--report", str(tmp_path / "r.json"), "--db-url", db_url])
    assert done["replayed"] == 20 and done["runs"][0]["outcomes"] == {"stored:NEW": 20}
    assert rows(db_url) == before  # every column, payload bytes included
    assert ok(["reconcile", "--db-url", db_url])["complete"] is True
    again = ok(["replay", "--report", str(tmp_path / "r.json"), "--db-url", db_url])  # idempotent
    assert again["runs"][0]["outcomes"] == {"duplicate:SEQ_ALREADY_STORED": 20}


def test_replay_of_one_device_range_and_its_refusals(tmp_path, db_url):
    _, summary = bootstrapped(tmp_path, db_url, count=1)
    run_id = summary["run_id"]
    before = rows(db_url, "WHERE mqtt_client_id = 'LOOP-TRUCK' AND seq BETWEEN 10 AND 20")
    delete(db_url, "mqtt_client_id = 'LOOP-TRUCK' AND seq BETWEEN 10 AND 20")
    ok(
        [
            "replay",
            "--run",
            run_id,
            "--device",
            "LOOP-TRUCK",
            "--from",
            "10",
            "--to",
            "20",
            "--db-url",
            db_url,
        ]
    )
    assert rows(db_url, "WHERE mqtt_client_id = 'LOOP-TRUCK' AND seq BETWEEN 10 AND 20") == before
    res = run_cli(
        [
            "replay",
            "--run",
            run_id,
            "--device",
            "LOOP-TRUCK",
            "--from",
            "90",
            "--to",
            "200",
            "--db-url",
            db_url,
        ]
    )
    assert (
        res.exit_code == 2
        and "did not emit LOOP-TRUCK seqs 90..200 (it emitted 0..96)" in res.stderr
    )
    assert run_cli(["replay", "--run", "nope", "--db-url", db_url]).exit_code == 2
    res = run_cli(["replay", "--run", run_id, "--device", "GHOST", "--db-url", db_url])
    assert res.exit_code == 2 and "has no stream 'GHOST'" in res.stderr


def test_replay_refuses_a_scenario_that_changed_since_the_run(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    path, summary = bootstrapped(tmp_path, url, count=1)
    path.write_text(path.read_text() + "# edited after the run\n")
    res = run_cli(["replay", "--run", summary["run_id"], "--db-url", url])
    assert (
        res.exit_code == 2 and "changed since run" in res.stderr and "Traceback" not in res.stderr
    )


def test_reconcile_against_an_exported_file_of_stored_pairs(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    _, summary = bootstrapped(tmp_path, url, count=1)
    pairs = [(c, s) for c, s, *_ in rows(url)]
    csv_rows = [(c, s) for c, s in pairs if not (c == "LOOP-01" and 5 <= s <= 7)] + [
        ("LOOP-01", 0),
        ("LOOP-01", 500),
    ]
    (tmp_path / "stored.csv").write_text("device,n\n" + "".join(f"{c},{s}\n" for c, s in csv_rows))
    res = run_cli(
        [
            "reconcile",
            "--stored",
            str(tmp_path / "stored.csv"),
            "--stored-client",
            "device",
            "--stored-seq",
            "n",
        ]
    )
    assert res.exit_code == 3, res.stderr
    report = json.loads(res.stdout)
    assert report["streams"]["LOOP-01"] | {"missing_ranges": None} == {
        "expected": 97,
        "stored": 94,
        "missing": 3,
        "duplicates": 1,
        "unexpected": 1,
        "late": 0,
        "missing_ranges": None,
    }
    assert report["missing_ranges"] == {summary["run_id"]: {"LOOP-01": [[5, 7]]}}
    (tmp_path / "stored.jsonl").write_text(
        "".join(json.dumps({"client": c, "seq": s}) + "\n" for c, s in pairs)
    )
    assert ok(["reconcile", "--stored", str(tmp_path / "stored.jsonl")])["complete"] is True
    (tmp_path / "bad.csv").write_text("client,seq\nLOOP-01,1\nLOOP-01,x\n")
    res = run_cli(["reconcile", "--stored", str(tmp_path / "bad.csv")])
    assert res.exit_code == 2 and "bad.csv:3:" in res.stderr


def test_import_csv_apply_writes_a_record_reconcile_and_replay_use(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    path = tmp_path / "loop.yaml"
    path.write_text(SCENARIO.format(count=2))
    ok(["db", "init", "--db-url", url])
    ok(["--scenario", str(path), "db", "register", "--db-url", url])
    export = ok(
        ["--scenario", str(path), "export-csv", "--run-id", "x", "--end-at", "2026-02-12T10:00:00Z"]
    )
    imported = ok(
        ["import-csv", "--artifact-dir", export["artifact_dir"], "--apply", "--db-url", url]
    )
    before = rows(url)
    delete(url, "seq BETWEEN 30 AND 31")
    res = run_cli(["reconcile", "--db-url", url, "--run", imported["run_id"], "--report", "r.json"])
    assert res.exit_code == 3 and json.loads(res.stdout)["missing"] == 2 * 3
    ok(["replay", "--report", "r.json", "--db-url", url])
    assert rows(url) == before


def test_no_run_records_is_a_clear_error(tmp_path):
    res = run_cli(["reconcile", "--db-url", f"sqlite:///{tmp_path}/none.db"])
    assert res.exit_code == 2 and "no run records in" in res.stderr


@pytest.mark.parametrize("doc", ['{"command": "run"}', "not json"])
def test_replay_refuses_what_is_not_a_reconcile_report(tmp_path, doc):
    (tmp_path / "r.json").write_text(doc)
    res = run_cli(["replay", "--report", str(tmp_path / "r.json")])
    assert res.exit_code == 2 and "r.json" in res.stderr and "Traceback" not in res.stderr


def test_rows_of_a_live_run_stored_after_it_ended_are_late(tmp_path):
    from synthkit.ledger import FileLedger
    from synthkit.reconcile import reconcile_records
    from synthkit.runs import RunRecord, StreamRange

    record = RunRecord(
        run_id="r1",
        command="run",
        family="reservoir",
        live=True,
        status="finished",
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:10:00Z",
        streams={"A": StreamRange(0, 3), "B": StreamRange(10, 11)},
    )
    lines = [
        "client,seq,stored_at",
        "A,0,2026-01-01T00:01:00Z",
        "A,1,2026-01-01T00:10:30Z",
        "A,2,2026-01-01T00:11:01Z",
        "A,3,2026-01-01T02:00:00Z",
        "B,10,2026-01-01T00:02:00Z",
        "B,11,2026-01-01T00:02:00Z",
        "B,12,2026-01-01T03:00:00Z",
    ]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    ledger = FileLedger(tmp_path / "s.csv")
    report = reconcile_records([record], ledger, late_after_s=60)
    assert (
        report["complete"] and report["late"] == 2 and report["streams"]["A"]["late"] == 2
    )  # 00:11:01 and 02:00
    assert report["unexpected"] == 1 and report["streams"]["B"] == {
        **report["streams"]["B"],
        "unexpected": 1,
        "late": 0,
    }
    assert reconcile_records([record], ledger, late_after_s=3600)["late"] == 1


def test_a_store_without_the_table_is_one_clear_line(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    _, summary = bootstrapped(tmp_path, url, count=1)
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()
    res = run_cli(
        ["reconcile", "--run", summary["run_id"], "--db-url", f"sqlite:///{tmp_path}/empty.db"]
    )
    assert (
        res.exit_code == 2
        and "no such table" in res.stderr
        and "db init" in res.stderr
        and "Traceback" not in res.stderr
    )


@pytest.mark.slow
@pytest.mark.services
def test_a_run_killed_outright_keeps_a_record_that_covers_what_it_reserved(tmp_path):
    import signal
    import subprocess

    from tests.conftest import BIN
    from tests.live import Subscriber, own_prefix, topic_block

    root = own_prefix("kill")
    path = tmp_path / "live.yaml"
    path.write_text(
        'scenario_id: kill_t\nspeedup_factor: 60\ndevices:\n  - {group: k, count: 3, id_pattern: "KILL-{n:02d}", '
        "archetype: stationary_archetype_a, cadence_seconds: 60}\n" + topic_block(root)
    )
    state = tmp_path / "s.json"
    sub = Subscriber(f"{root}/#")
    proc = subprocess.Popen(
        [str(BIN / "synthkit"), "--scenario", str(path), "--state-file", str(state), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        sub.wait(6)  # two messages per device published
    finally:
        sub.close()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    (record,) = RunLog(runs_dir(state)).records()
    reserved = json.loads(state.read_text())["devices"]
    assert record.status == "running" and record.finished_at is None and record.live
    assert {
        d: r.last_seq for d, r in record.streams.items()
    } == reserved  # never less than the state reserved
    assert all(r.first_seq == 0 and r.count >= 2 for r in record.streams.values())


def test_a_ledger_that_names_only_streams_it_holds_still_shows_the_others_missing():
    """A ledger's islands may leave out a stream of which it holds nothing (the contract says
    "per stream"); reconcile counted such a stream as complete, every seq of it missing."""
    from synthkit.ledger import Island, Ledger, Tally
    from synthkit.reconcile import reconcile_records
    from synthkit.runs import RunRecord, StreamRange

    class Sparse(Ledger):
        where = "sparse"

        def tallies(self, streams):
            return {"A": Tally(2, 2, 0, 1)} if "A" in streams else {}

        def islands(self, streams):
            return {"A": [Island(0, 1, 2)]} if "A" in streams else {}

    record = RunRecord(
        "r1", "run", "test", streams={"A": StreamRange(0, 1), "B": StreamRange(0, 4)}
    )
    report = reconcile_records([record], Sparse())
    assert (report["stored"], report["missing"], report["complete"]) == (2, 5, False)
    assert report["missing_ranges"] == {"r1": {"B": [[0, 4]]}}
