"""The telematics ingestion endpoint (`synthkit telematics serve`), started for real on a free
port, against SQLite and PostgreSQL: each record answered (stored, duplicate, rejected with its
reason), each event stored exactly once, rejects kept whole, bearer auth, health and OpenAPI;
and the telematics closed loop under a flaky endpoint: generate -> serve -> reconcile -> replay
ends with every event stored once, byte for byte the events `generate` writes to a file."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from tests.live import wait_for

pytestmark = pytest.mark.slow  # each test starts the endpoint
BIN = Path(sys.executable).parent / "synthkit"


@contextlib.contextmanager
def endpoint(url: str, tmp: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[dict]:
    """`telematics serve` on a free port until the block ends (SIGTERM), its ready note."""
    ready = tmp / f"ready-{len(list(tmp.glob('ready-*')))}.json"
    proc = subprocess.Popen(
        [str(BIN), "--db-url", url, "telematics", "serve", "--port", "0",
         "--ready-file", str(ready), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    try:
        wait_for(ready, proc)
        note = json.loads(ready.read_text())
        yield note
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["stopped_by"] == "SIGTERM" and not ready.exists()
    note["summary"] = summary


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            method, parts.path, body=body if method == "POST" else None, headers=headers or {}
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def synthkit(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=300)
    assert not check or res.returncode == 0, res.stderr
    return res


def events_file(tmp: Path, name: str, *extra: str, events: int = 1000) -> Path:
    out = tmp / name
    synthkit("telematics", "generate", "--events", str(events), "--drivers", "7",
             "--seed", "11", "--out", str(out), *extra)  # fmt: skip
    return out


def stored(url: str) -> list[tuple]:
    engine = sa.create_engine(url.replace("sqlite:///", "sqlite:///", 1))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT driver_id, seq, event_id, payload FROM telematics_events ORDER BY driver_id, seq, event_id"
            )]  # fmt: skip
    finally:
        engine.dispose()


def test_each_record_is_answered_and_each_event_stored_once(db_url, tmp_path):
    lines = events_file(tmp_path, "ev.jsonl").read_bytes()
    bare = events_file(tmp_path, "bare.jsonl", events=50)  # the drop-in's schema: no seq
    dropin = subprocess.run(
        [str(BIN.parent / "synthkit-mock"), "--events", "50", "--out", str(bare)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert dropin.returncode == 0 and '"seq"' not in bare.read_text()
    good = json.loads(lines.splitlines()[3])
    bad = [
        {**good, "ts": "2026-01-05 02:22:37"},
        {**good, "event_type": "teleport"},
        {k: v for k, v in good.items() if k != "heading_deg"},
        {**good, "seq": -1},
    ]
    with endpoint(db_url, tmp_path) as ep:
        status, first = post(ep["ingest"], lines, {"Content-Type": "application/x-ndjson"})
        assert status == 200 and first["outcomes"] == {"stored": 1000}
        again = post(ep["ingest"], gzip.compress(lines), {"Content-Encoding": "gzip"})[1]
        assert again["outcomes"] == {"duplicate": 1000}
        array = b"[" + b",".join(lines.splitlines()[:10]) + b"]"
        assert post(ep["ingest"], array, {"Content-Type": "application/json"})[1]["duplicate"] == 10
        mixed = b"\n".join([*(json.dumps(b).encode() for b in bad), b"{not json"])
        answer = post(ep["ingest"], mixed)[1]
        assert answer["rejected"] == 5 and [r["reason"].split(":")[0] for r in answer["rejects"]] == [
            "ts", "event_type", "heading_deg", "seq", "json"]  # fmt: skip
        for _ in range(2):  # events without a seq are deduped on their event id
            answer = post(ep["ingest"], bare.read_bytes())[1]
        assert answer["outcomes"] == {"duplicate": 50}
        status, health = post(ep["health"], b"", method="GET")
        assert status == 200 and health["status"] == "ok"
    rows = stored(db_url)
    assert len(rows) == 1050 and ep["summary"]["events"] == 1050 and ep["summary"]["rejects"] == 5
    posted = {json.loads(x)["event_id"]: x.decode() for x in lines.splitlines()}
    for _, seq, event_id, payload in rows:
        if seq is not None:
            assert payload == posted[event_id]  # the event whole, as it came
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        kept = [
            r[0] for r in conn.exec_driver_sql("SELECT line FROM telematics_rejects ORDER BY id")
        ]
    engine.dispose()
    assert kept[-1] == "{not json" and json.loads(kept[0]) == bad[0]


def test_a_token_is_required_when_configured_and_the_api_is_documented(tmp_path):
    url = f"sqlite:///{tmp_path}/t.db"
    line = events_file(tmp_path, "ev.jsonl", events=5).read_bytes()
    with endpoint(url, tmp_path, env={"SYNTHKIT_SERVE_TOKEN": "s3cret-token"}) as ep:
        assert post(ep["ingest"], line)[0] == 401
        assert post(ep["ingest"], line, {"Authorization": "Bearer wrong"})[0] == 401
        status, answer = post(ep["ingest"], line, {"Authorization": "Bearer s3cret-token"})
        assert status == 200 and answer["stored"] == 5
        status, spec = post(ep["openapi"], b"", method="GET")
    assert status == 200 and spec["openapi"].startswith("3.1")
    event = spec["components"]["schemas"]["Event"]
    assert set(event["properties"]["event_type"]["enum"]) >= {"hard_braking", "ping", "speeding"}
    assert "braking_g" in event["properties"] and "/telematics/ingest" in spec["paths"]
    assert ep["summary"]["auth"] == "bearer" and "s3cret" not in json.dumps(ep["summary"])


def test_the_loop_closes_exactly_once_under_a_flaky_endpoint(db_url, tmp_path):
    """A third of the requests refused, a fifth stored with the answer lost; the run gives up
    (no retries); reconcile finds what is missing; replay sends it; then every event is stored
    once, byte for byte what `generate` writes to a file for the same seed."""
    state = tmp_path / "state.json"
    common = ("--state-file", str(state), "--db-url", db_url)
    chaos = ("--fail-share", "0.3", "--lose-share", "0.2", "--chaos-seed", "2")  # 1st: answered
    with endpoint(db_url, tmp_path, *chaos) as ep:
        gave_up = synthkit(
            *common, "telematics", "generate", "--events", "3000", "--drivers", "7",
            "--seed", "11", "--out", ep["ingest"],
            "--sink-option", "retries=0", "--sink-option", "batch_size=50", check=False,
        )  # fmt: skip
        assert gave_up.returncode == 3 and "not stored" in gave_up.stderr  # exit 3: incomplete
        run = json.loads(gave_up.stdout)
        assert run["outcomes"]["failed:HTTP_503"] > 0 and run["outcomes"]["stored:HTTP_200"] > 0
        report = tmp_path / "report.json"
        first = synthkit(*common, "reconcile", "--report", str(report), check=False)
        assert first.returncode == 3, first.stderr
        found = json.loads(first.stdout)
        assert found["missing"] > 0 and found["duplicates"] == 0
        replayed = json.loads(synthkit(*common, "replay", "--report", str(report),
                                       "--out", ep["ingest"], "--sink-option", "retries=12",
                                       ).stdout)  # fmt: skip
        assert replayed["replayed"] == found["missing"]
        final = json.loads(synthkit(*common, "reconcile").stdout)
    assert final["complete"] and final["stored"] == final["expected"] == 3000
    assert final["duplicates"] == 0
    file_lines = events_file(tmp_path, "same.jsonl", events=3000).read_text().splitlines()
    assert sorted(p for *_, p in stored(db_url)) == sorted(file_lines)


def test_a_second_delivering_run_counts_on_from_the_state(tmp_path):
    url = f"sqlite:///{tmp_path}/t.db"
    state = tmp_path / "state.json"
    with endpoint(url, tmp_path) as ep:
        for _ in range(2):
            res = json.loads(synthkit(
                "--state-file", str(state), "--db-url", url, "telematics", "generate",
                "--events", "70", "--drivers", "7", "--out", ep["ingest"],
            ).stdout)  # fmt: skip
            assert res["outcomes"] == {"stored:HTTP_200": 70}
    assert json.loads(state.read_text())["devices"] == {f"D{d:04d}": 19 for d in range(7)}
    seqs = sorted(seq for driver, seq, *_ in stored(url) if driver == "D0003")
    assert seqs == list(range(20))


def test_a_streamed_feed_on_the_wall_clock_is_reconciled_and_replayed_as_sent(tmp_path):
    """`telematics stream` into the endpoint records its run; rows lost from the store are
    found by reconcile and replayed byte for byte, wall-clock stamps included."""
    url = f"sqlite:///{tmp_path}/t.db"
    common = ("--state-file", str(tmp_path / "state.json"), "--db-url", url)
    with endpoint(url, tmp_path) as ep:
        synthkit(*common, "telematics", "stream", "--sink", "http", "--out", ep["ingest"],
                 "--interval", "0.005", "--max-events", "40", "--drivers", "4",
                 "--sink-option", "batch_size=1")  # fmt: skip
        before = stored(url)
        assert len(before) == 40 and len({json.loads(p)["ts"] for *_, p in before}) == 40
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # the store loses a driver's middle events
            conn.exec_driver_sql(
                "DELETE FROM telematics_events WHERE driver_id = 'D0002' AND seq BETWEEN 3 AND 6"
            )
        engine.dispose()
        report = tmp_path / "report.json"
        found = json.loads(
            synthkit(*common, "reconcile", "--report", str(report), check=False).stdout
        )
        assert found["missing_ranges"][found["runs"][0]] == {"D0002": [[3, 6]]}
        synthkit(*common, "replay", "--report", str(report), "--out", ep["ingest"])
        assert json.loads(synthkit(*common, "reconcile").stdout)["complete"]
    assert stored(url) == before


def test_a_faulted_run_closes_its_loop_with_its_faults_meant(tmp_path):
    """Faults from an options file (lost and repeated events, a reckless burst) through a
    flaky endpoint: reconcile counts the drops and repeats as meant, replay applies the
    faults again, and the store ends holding exactly the events the faulted file holds."""
    world = Path(__file__).resolve().parents[1] / "scenarios" / "telematics" / "world_v1.yaml"
    url = f"sqlite:///{tmp_path}/t.db"
    common = ("--state-file", str(tmp_path / "state.json"), "--db-url", url)
    shape = ("--events", "6000", "--drivers", "20", "--options-file", str(world))
    with endpoint(url, tmp_path, "--fail-share", "0.3", "--chaos-seed", "2") as ep:
        synthkit(*common, "telematics", "generate", *shape, "--out", ep["ingest"],
                 "--sink-option", "retries=0", "--sink-option", "batch_size=200", check=False)  # fmt: skip
        report = tmp_path / "report.json"
        found = json.loads(
            synthkit(*common, "reconcile", "--report", str(report), check=False).stdout
        )
        assert found["missing"] > 0 and found["meant"]["dropped"] > 0
        synthkit(*common, "replay", "--report", str(report), "--out", ep["ingest"],
                 "--sink-option", "retries=12")  # fmt: skip
        final = json.loads(synthkit(*common, "reconcile").stdout)
    assert final["complete"] and final["duplicates"] == 0 and final["meant"]["repeated"] > 0
    faulted = tmp_path / "faulted.jsonl"
    synthkit("telematics", "generate", *shape, "--out", str(faulted))
    assert sorted(p for *_, p in stored(url)) == sorted(set(faulted.read_text().splitlines()))


def test_a_port_in_use_or_a_bad_share_is_one_clear_answer(tmp_path):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    db = tmp_path / "t.db"
    try:
        res = subprocess.run([str(BIN), "--db-url", f"sqlite:///{db}", "telematics", "serve",
                              "--port", str(port)], capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        taken.close()
    assert res.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in res.stderr
    assert "Traceback" not in res.stderr and "ERROR" not in res.stderr and not db.exists()
    res = synthkit("--db-url", f"sqlite:///{db}", "telematics", "serve", "--lose-share", "1.5",
                   check=False)  # fmt: skip
    assert res.returncode == 2 and "--lose-share must be between 0 and 1" in res.stderr
