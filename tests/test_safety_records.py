"""Issue 23, items 5, 7 and 14 (replay): a state file behind its run records or its store is
refused before anything is sent, and replay trusts no run record or report that does not fit
the state, its own invariants, or the ranges the run emitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthkit.runs import RunLog, runs_dir
from synthkit.testing import run_cli
from tests.test_closed_loop import bootstrapped, ok, rows


def _refused(args: list[str], *needles: str) -> str:
    res = run_cli(args)
    assert res.exit_code == 2, (args, res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in res.stderr, res.stderr
    return res.stderr


def test_a_lost_state_file_is_refused_by_every_command_until_caught_up(tmp_path):
    url = f"sqlite:///{tmp_path}/loop.db"
    scenario, first = bootstrapped(tmp_path, url)
    state = Path(".tmp/synthetic_sim_seq_state.json")
    assert state.exists() and first["complete"]
    stored = len(rows(url))
    state.unlink()
    # bootstrap again, a live run (refused before it connects: port 1 has no broker), replay
    for args in (
        ["--scenario", str(scenario), "bootstrap", "--db-url", url],
        [
            "--scenario",
            str(scenario),
            "run",
            "--iterations",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
        ],
        ["replay", "--run", first["run_id"], "--db-url", url],
    ):
        _refused(args, "is behind its run records", "LOOP-01: seq", "--catch-up-state")
    assert len(rows(url)) == stored and not state.exists()
    res = run_cli(["runs", "--catch-up-state"])
    assert res.exit_code == 0, res.stderr
    last = json.loads(state.read_text())["devices"]
    assert last == {d: r["last_seq"] for d, r in _streams(first["run_id"]).items()}
    again = ok(["--scenario", str(scenario), "bootstrap", "--db-url", url])
    assert again["status_counts"] == {"stored:NEW": again["total_emitted"]}  # new seqs, all stored


def _streams(run_id: str) -> dict:
    record = RunLog(runs_dir(".tmp/synthetic_sim_seq_state.json")).load(run_id)
    return {
        d: {"first_seq": r.first_seq, "last_seq": r.last_seq} for d, r in record.streams.items()
    }


def test_a_run_against_a_store_ahead_of_its_state_file_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/loop.db"
    scenario, _ = bootstrapped(tmp_path, url)
    fresh = tmp_path / "fresh.json"  # no records beside it: only the store knows the seqs are used
    _refused(
        [
            "--scenario",
            str(scenario),
            "--state-file",
            str(fresh),
            "run",
            "--iterations",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            "1",
            "--db-url",
            url,
        ],
        "is behind the store",
        "LOOP-01",
    )
    assert not fresh.exists()


def _edit_record(run_id: str, change) -> None:
    path = runs_dir(".tmp/synthetic_sim_seq_state.json") / f"{run_id}.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda d: d["streams"]["LOOP-01"].update(last_seq=1000), "is behind its run records"),
        (lambda d: d["streams"]["LOOP-01"].update(last_seq=10**12), "is behind its run records"),
        (lambda d: d["streams"]["LOOP-01"].update(last_seq=1.5), "not a readable run record"),
        (lambda d: d["streams"]["LOOP-01"].update(first_seq=-4), "not a readable run record"),
        (lambda d: d["recipe"]["steps"].update({"LOOP-01": 0}), "does not say how to regenerate"),
        (lambda d: d["recipe"].update(window_start_s=10**12), "does not say how to regenerate"),
        (lambda d: d.update(status="done"), "not a readable run record"),
    ],
)
def test_replay_refuses_a_record_that_does_not_fit(tmp_path, edit, needle):
    url = f"sqlite:///{tmp_path}/loop.db"
    _, first = bootstrapped(tmp_path, url)
    before = rows(url)
    _edit_record(first["run_id"], edit)
    _refused(["replay", "--run", first["run_id"], "--device", "LOOP-01", "--db-url", url], needle)
    assert rows(url) == before


def test_replay_merges_overlapping_ranges_and_refuses_a_run_id_that_is_not_one(tmp_path):
    url = f"sqlite:///{tmp_path}/loop.db"
    _, first = bootstrapped(tmp_path, url)
    from tests.test_closed_loop import delete

    delete(url, "mqtt_client_id = 'LOOP-01' AND seq <= 4")
    report = tmp_path / "gaps.json"
    report.write_text(
        json.dumps(
            {
                "command": "reconcile",
                "missing_ranges": {first["run_id"]: {"LOOP-01": [[1, 2], [1, 2], [0, 4]]}},
            }
        )
    )
    done = ok(["replay", "--report", str(report), "--db-url", url])
    assert done["replayed"] == 5
    assert [r[1] for r in rows(url, "WHERE mqtt_client_id = 'LOOP-01' AND seq <= 5")] == [
        0,
        1,
        2,
        3,
        4,
        5,
    ]
    _refused(["replay", "--run", "x" * 5000, "--db-url", url], "is not a run id")


# ------------------------------------------------------------ 6: one broker session per store


def test_listeners_of_two_databases_never_share_a_session(tmp_path, monkeypatch):
    from synthkit_reservoir.database.presence import default_client_id

    from synthkit.api import store_identity

    topic = "devices/+/telemetry"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ids = []
    for where in ("a", "b"):
        monkeypatch.chdir(tmp_path / where)
        ids.append(default_client_id(store_identity("sqlite:///.tmp/synthkit.db"), topic))
    assert ids[0] != ids[1]  # the same relative URL in two directories: two databases
    monkeypatch.chdir(tmp_path / "a")
    spellings = [
        "sqlite:///.tmp/synthkit.db",
        f"sqlite:///{tmp_path}/a/.tmp/synthkit.db",
        f"sqlite:///{tmp_path}/b/../a/.tmp/synthkit.db",
    ]
    assert {default_client_id(store_identity(u), topic) for u in spellings} == {ids[0]}
    pg = ["postgresql+psycopg://root:pw@127.0.0.1:5432/test", "postgresql://other@127.0.0.1/test"]
    assert len({store_identity(u) for u in pg}) == 1 and "pw" not in store_identity(pg[0])
    assert store_identity("postgresql://127.0.0.1/test") != store_identity(
        "postgresql://127.0.0.1/prod"
    )


# ------------------------------------------------------- 11: no secret in the state's lock file


def test_the_lock_file_and_its_holder_message_show_no_password(tmp_path, monkeypatch):
    import os
    import stat
    import sys

    from synthkit.errors import ConfigError
    from synthkit.state import SeqState

    secret = "S3CRETpw"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "synthkit",
            "run",
            "--db-url",
            f"postgresql+psycopg://root:{secret}@db/x",
            f"--db-url=postgresql://root:{secret}@db/y",
            f"sqlite:///x.db?password={secret}",
        ],
    )
    state = tmp_path / "st.json"
    with SeqState.held(state):
        lock = tmp_path / "st.json.lock"
        assert secret not in lock.read_text() and "***" in lock.read_text()
        assert stat.S_IMODE(os.stat(lock).st_mode) == 0o600
        with pytest.raises(ConfigError) as refused:
            with SeqState.held(state):
                pass
        assert "held by another synthkit process" in str(refused.value) and secret not in str(
            refused.value
        )
