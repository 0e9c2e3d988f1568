"""The plugin-author docs: every example in docs/plugins.md is a file these tests run."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from synthkit.errors import PreflightError
from synthkit.plugins import build_plugins
from synthkit.preflight import run_checks
from synthkit.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_example(name: str):
    plugins = build_plugins()
    plugins.register(load(name), name, distribution="docs-example", version="0")
    return plugins


@pytest.mark.parametrize(
    "name",
    [
        "event_type_plugin",
        "sink_plugin",
        "check_plugin",
        "archetype_plugin",
        "transform_plugin",
        "labelling_transform_plugin",
        "lifecycle_plugin",
        "typed_sink_plugin",
        "ledger_sink_plugin",
        "broker_sink_plugin",
        "source_plugin",
        "fault_type_plugin",
    ],
)
def test_example_is_shown_verbatim_in_the_docs(name):
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert (EXAMPLES / f"{name}.py").read_text().strip() in docs


def test_event_type_example(run_synthkit, tmp_path):
    plugins = with_example("event_type_plugin")
    out = tmp_path / "e.jsonl"
    res = run_synthkit(
        [
            "telematics",
            "generate",
            "--events",
            "2000",
            "--weight",
            "phone_use=1",
            "--out",
            str(out),
        ],
        plugins=plugins,
    )
    assert res.exit_code == 0, res.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines() if '"phone_use"' in x]
    assert rows and all(r["phone_app"] in ("call", "text", "navigation") for r in rows)
    assert all(3 <= r["phone_seconds"] <= 90 and r["speed_mph"] >= 5 for r in rows)


def test_sink_example(run_synthkit, tmp_path):
    plugins = with_example("sink_plugin")
    out = tmp_path / "e.jsonl.gz"
    res = run_synthkit(
        ["telematics", "generate", "--events", "3000", "--format", "jsonl_gz", "--out", str(out)],
        plugins=plugins,
    )
    assert res.exit_code == 0, res.stderr
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert len(lines) == 3000 and json.loads(lines[0])["driver_id"] == "D0000"
    first = out.read_bytes()
    run_synthkit(
        ["telematics", "generate", "--events", "3000", "--format", "jsonl_gz", "--out", str(out)],
        plugins=plugins,
    )
    assert out.read_bytes() == first  # deterministic, even compressed


def test_check_example(tmp_path):
    plugins = with_example("check_plugin")
    assert run_checks(plugins, "output", tmp_path / "x.jsonl") == []
    with pytest.raises(PreflightError, match="less than 64 MiB free"):
        run_checks(plugins, "output", tmp_path / "x.jsonl", {"min_free": 1 << 62})


def test_archetype_example(tmp_path):
    """The documented archetype works in a scenario: defaults validated against the real
    stationary_tank model, overrides merged over them, data exported."""
    from synthkit_reservoir.scenario import load_scenario

    plugins = with_example("archetype_plugin")
    arche = plugins.archetypes()["school_tank_weekdays"]
    assert arche.mode == "STATIONARY" and arche.defaults["capacity_liters"] == 10_000
    scenario = tmp_path / "school.yaml"
    scenario.write_text(
        "scenario_id: school\nbootstrap: {days: 7}\ndevices:\n"
        "  - {device_id: sch1, archetype: school_tank_weekdays,"
        " parameter_overrides: {initial_level_pct: 40}}\n"
    )
    params = load_scenario(str(scenario), plugins).devices[0].params
    assert params.capacity_liters == 10_000 and params.initial_level_pct == 40
    assert params.weekday_multipliers == (1.3,) * 5 + (0.2, 0.2)
    res = run_cli(
        [
            "--scenario",
            str(scenario),
            "export-csv",
            "--run-id",
            "r",
            "--end-at",
            "2026-02-12T10:00:00Z",
            "--output-root",
            str(tmp_path / "out"),
        ],
        plugins,
    )
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["row_count"] == 7 * 288 + 1


def test_cli_docs_cover_every_command(sh):
    docs = (ROOT / "docs" / "cli.md").read_text()
    for command in (
        "synthkit plugins",
        "synthkit telematics generate",
        "synthkit telematics stream",
        "synthkit-mock",
        "validate",
        "dry-run",
        "export-csv",
        "analyze-csv",
        "db init",
        "db register",
        "bootstrap",
        "import-csv",
    ):
        assert command in docs
    for flag in (
        "--events",
        "--drivers",
        "--seed",
        "--format",
        "--out",
        "--start",
        "--interval",
        "--extreme-variance",
        "--weight",
        "--weights-file",
        "--max-events",
        "--json",
        "--scenario",
        "--state-file",
        "--strict",
        "--preview-steps",
        "--run-id",
        "--end-at",
        "--output-root",
        "--artifact-dir",
        "--apply",
        "--commit-batch-size",
        "--drain-analytics",
        "--analytics-batch-size",
        "--db-url",
        "--sink",
        "--shard K/N",
        "--shards N",
        "--executor",
        "--scheduler",
        "dataset seal",
        "dataset verify",
    ):
        assert flag in docs, flag


def test_transform_example(run_synthkit, tmp_path):
    plugins = with_example("transform_plugin")
    base = ["telematics", "generate", "--events", "2000", "--seed", "3"]
    plain = run_synthkit([*base, "--out", str(tmp_path / "p.jsonl")], plugins=plugins)
    noisy = run_synthkit(
        [
            "--transform",
            "gps_noise",
            "--transform-option",
            "gps_noise.meters=100",
            *base,
            "--out",
            str(tmp_path / "n.jsonl"),
        ],
        plugins=plugins,
    )
    again = run_synthkit(
        [
            "--transform",
            "gps_noise",
            "--transform-option",
            "gps_noise.meters=100",
            *base,
            "--out",
            str(tmp_path / "m.jsonl"),
        ],
        plugins=plugins,
    )
    assert plain.exit_code == noisy.exit_code == again.exit_code == 0, noisy.stderr
    assert (tmp_path / "n.jsonl").read_bytes() == (tmp_path / "m.jsonl").read_bytes()
    for p, n in zip(
        *(map(json.loads, (tmp_path / f).read_text().splitlines()) for f in ("p.jsonl", "n.jsonl"))
    ):
        assert (
            abs(p["latitude"] - n["latitude"]) <= 100 / 111_320 + 1e-6
            and p["event_id"] == n["event_id"]
        )
    assert (tmp_path / "p.jsonl").read_bytes() != (tmp_path / "n.jsonl").read_bytes()
    # each row's noise is its own, wherever it falls in a batch: what replay needs
    from synthkit.api import Batch

    module = load("transform_plugin")
    noise = module.GpsNoise(module.NoiseOptions(meters=100), seed=5)
    from synthkit_telematics.generator import TelematicsGenerator
    from synthkit_telematics.options import build_config

    batch = next(
        TelematicsGenerator(build_config(drivers=3, seed=1), plugins.event_types()).batches(
            40, batch_rows=40
        )
    )
    whole = noise.apply(batch).column("latitude").values
    parts = np.concatenate(
        [noise.apply(batch.slice(a, b)).column("latitude").values for a, b in ((0, 7), (7, 40))]
    )
    assert isinstance(batch, Batch) and (whole == parts).all()


def _csv_rows(path: Path) -> dict[tuple[str, int], dict[str, str]]:
    import csv

    with path.open() as fh:
        return {(r["device_id"], int(r["seq"])): r for r in csv.DictReader(fh)}


def test_labelling_transform_example(run_synthkit, tmp_path):
    """The labels name exactly the records the transform changed, appear beside the output
    and in its manifest, and the same run gives the same bytes."""
    plugins = with_example("labelling_transform_plugin")
    scenario = str(ROOT / "scenarios" / "stationary_only_v1.yaml")

    def export(root: str, *chain: str):
        args = [*chain, "--scenario", scenario, "--state-file", str(tmp_path / f"{root}.json")]
        args += ["export-csv", "--run-id", "r"]
        args += ["--output-root", str(tmp_path / root), "--end-at", "2026-01-03T00:00:00Z"]
        res = run_synthkit(args, plugins=plugins)
        assert res.exit_code == 0, res.stderr
        return tmp_path / root / "stationary_only_v1" / "r", json.loads(res.stdout)

    spikes = ("--transform", "spikes", "--transform-option", "spikes.share=0.02")
    plain, _ = export("plain")
    spiked, summary = export("spiked", *spikes)
    again, _ = export("again", *spikes)
    labels_file = spiked / "telemetry_rows.csv.labels.jsonl"
    labels = [json.loads(x) for x in labels_file.read_text().splitlines()]
    before, after = (
        _csv_rows(plain / "telemetry_rows.csv"),
        _csv_rows(spiked / "telemetry_rows.csv"),
    )
    changed = {k for k in before if before[k] != after[k]}
    labelled = {(x["device_id"], x["seq"]) for x in labels}
    assert changed and labelled == changed and len(labels) == len(labelled)
    assert all(before[k]["level_pct"] != after[k]["level_pct"] for k in changed)
    manifest = json.loads((spiked / "manifest.json").read_text())
    assert manifest["notes"]["spikes"] == {
        "counters": {"spiked": len(labels)},
        "tables": {"labels": {"file": labels_file.name, "rows": len(labels)}},
    }
    assert summary["notes"][0]["transforms"] == manifest["notes"]
    for name in ("telemetry_rows.csv", labels_file.name, "telemetry_rows.csv.notes.json"):
        assert (spiked / name).read_bytes() == (again / name).read_bytes()
    assert "notes" not in json.loads((plain / "manifest.json").read_text())
    # rows of another family: the transform's column is not there, said in one line
    res = run_synthkit([*spikes, "telematics", "stream", "--max-events", "5"], plugins=plugins)
    assert res.exit_code == 2 and res.stdout == ""
    assert (
        "transform 'spikes' needs the column 'device_id', which this run's rows lack" in res.stderr
    )


def test_lifecycle_example(run_synthkit, tmp_path, monkeypatch):
    plugins = with_example("lifecycle_plugin")
    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv("SYNTHKIT_RUN_LOG", str(log))
    assert (
        run_synthkit(
            ["telematics", "generate", "--events", "100", "--out", str(tmp_path / "e.jsonl")],
            plugins=plugins,
        ).exit_code
        == 0
    )
    assert (
        run_synthkit(
            ["telematics", "publish", "--events", "5", "--port", "9"], plugins=plugins
        ).exit_code
        == 2
    )
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    assert entries == [
        {
            "event": "started",
            "command": "telematics generate",
            "sink": "jsonl",
            "rows": 100,
            "window": None,
        },
        {"event": "finished", "command": "telematics generate", "complete": True},
        {
            "event": "started",
            "command": "telematics publish",
            "sink": "mqtt",
            "rows": 5,
            "window": None,
        },
        {"event": "failed", "command": "telematics publish", "error": "ConfigError"},
    ]


def test_typed_sink_example(run_synthkit, tmp_path):
    import numpy as np

    plugins = with_example("typed_sink_plugin")
    res = run_synthkit(
        ["telematics", "generate", "--events", "500", "--out", str(tmp_path / "e.npz")],
        plugins=plugins,
    )
    assert res.exit_code == 0, res.stderr
    data = np.load(tmp_path / "e.npz")
    assert data["ts"].dtype == np.dtype("datetime64[ms]") and data["car_value"].dtype == np.int64
    assert data["speed_mph"].dtype == np.float64 and data["event_id"].dtype.kind == "U"
    lines = [
        json.loads(x)
        for x in run_synthkit(
            ["telematics", "generate", "--events", "500", "--out", str(tmp_path / "e.jsonl")]
        ).exit_code
        == 0
        and (tmp_path / "e.jsonl").read_text().splitlines()
    ]
    assert [float(v) for v in data["speed_mph"][:50]] == [x["speed_mph"] for x in lines[:50]]
    assert [str(v) for v in data["event_type"][:50]] == [x["event_type"] for x in lines[:50]]


def test_fault_type_example(run_synthkit, tmp_path):
    """A partner's fault type, named in a scenario's faults block: its records quantized and
    labelled where a reading changed, every other record as it was; a bad parameter is
    located like any other."""
    plugins = with_example("fault_type_plugin")
    fleet = (
        "scenario_id: q\nbootstrap: {days: 1}\ndevices:\n"
        "  - {group: north, count: 2, id_pattern: 'Q-{n}', archetype: stationary_archetype_a}\n"
    )

    def export(name: str, faults: str) -> tuple[list[dict[str, str]], Path]:
        (tmp_path / f"{name}.yaml").write_text(fleet + faults)
        res = run_synthkit(
            ["--scenario", str(tmp_path / f"{name}.yaml"), "--state-file", str(tmp_path / f"{name}.json"),
             "export-csv", "--output-root", str(tmp_path / name), "--end-at", "2026-01-02T00:00:00Z"],
            plugins=plugins,
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr
        out = Path(json.loads(res.stdout)["csv"])
        return list(csv.DictReader(out.open())), out

    clean, _ = export("clean", "")
    rule = "faults:\n  - {type: quantized, devices: [Q-1], column: signal_strength_dbm, step: 5}\n"
    faulted, out = export("faulted", rule)
    labels = [json.loads(x) for x in out.with_name(out.name + ".labels.jsonl").open()]
    off_step = {
        ("Q-1", int(r["seq"]))
        for r in clean
        if r["device_id"] == "Q-1" and int(r["signal_strength_dbm"]) % 5
    }
    assert off_step and {(x["stream"], x["seq"]) for x in labels} == off_step
    assert all(int(r["signal_strength_dbm"]) % 5 == 0 for r in faulted if r["device_id"] == "Q-1")
    assert [r for r in faulted if r["device_id"] == "Q-2"] == [
        r for r in clean if r["device_id"] == "Q-2"
    ]
    (tmp_path / "bad.yaml").write_text(fleet + rule.replace("step: 5", "step: 0"))
    bad = run_synthkit(["--scenario", str(tmp_path / "bad.yaml"), "validate"], plugins=plugins)
    assert (
        bad.exit_code == 2
        and "bad.yaml:6: faults[0].step: Input should be greater than 0" in bad.stderr
    )


def test_ledger_sink_example(run_synthkit, tmp_path):
    """An ingest sink with a ledger: bootstrap through it, reconcile it, replay into it."""
    plugins = with_example("ledger_sink_plugin")
    url = f"sqlite:///{tmp_path}/pairs.db"
    scenario = ROOT / "scenarios" / "stationary_only_v1.yaml"
    state = ["--state-file", str(tmp_path / "seq.json")]
    res = run_synthkit(
        [*state, "--scenario", str(scenario), "bootstrap", "--sink", "pairs", "--out", url],
        plugins=plugins,
    )
    assert res.exit_code == 0, res.stderr
    emitted = json.loads(res.stdout)["total_emitted"]
    done = run_synthkit([*state, "reconcile", "--sink", "pairs", "--db-url", url], plugins=plugins)
    assert done.exit_code == 0 and json.loads(done.stdout)["stored"] == emitted
    import sqlite3

    with sqlite3.connect(tmp_path / "pairs.db") as conn:
        conn.execute(
            "DELETE FROM stored_pairs WHERE client = 'E2E2024STATA1' AND seq BETWEEN 10 AND 14"
        )
    gap = run_synthkit(
        [
            *state,
            "reconcile",
            "--sink",
            "pairs",
            "--db-url",
            url,
            "--report",
            str(tmp_path / "r.json"),
        ],
        plugins=plugins,
    )
    assert gap.exit_code == 3 and json.loads(gap.stdout)["streams"]["E2E2024STATA1"][
        "missing_ranges"
    ] == [[10, 14]]
    res = run_synthkit(
        [
            *state,
            "replay",
            "--report",
            str(tmp_path / "r.json"),
            "--sink",
            "pairs",
            "--db-url",
            url,
        ],
        plugins=plugins,
    )
    assert res.exit_code == 0 and json.loads(res.stdout)["replayed"] == 5, res.stderr
    assert (
        run_synthkit(
            [*state, "reconcile", "--sink", "pairs", "--db-url", url], plugins=plugins
        ).exit_code
        == 0
    )


def _with_coldchain(plugins):
    """The fourth family (plugins/examples/synthkit-coldchain), registered in this process."""
    import importlib
    import sys

    sys.path.insert(0, str(ROOT / "plugins" / "examples" / "synthkit-coldchain"))
    for name in ("family", "model", "archetypes"):
        module = importlib.import_module(f"synthkit_coldchain.{name}")
        plugins.register(
            module, f"coldchain_{name}", distribution="synthkit-coldchain", version="0"
        )
    return plugins


class RedisListener:
    """A plain Redis subscriber (RESP over a socket), returned once PSUBSCRIBE is confirmed."""

    def __init__(self, pattern: str) -> None:
        import socket
        import threading

        self.conn = socket.create_connection(("127.0.0.1", 6379), timeout=30)
        self.reader = self.conn.makefile("rb")
        self.conn.sendall(
            b"*2\r\n$10\r\nPSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(pattern), pattern.encode())
        )
        assert self._reply()[0] == b"psubscribe"  # subscribed: what is published now reaches us
        self.messages: list[tuple[str, bytes]] = []
        self.heard = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _reply(self) -> list[bytes]:
        count = int(self.reader.readline()[1:])
        out = []
        for _ in range(count):
            head = self.reader.readline()
            if head.startswith(b"$"):
                out.append(self.reader.read(int(head[1:]) + 2)[:-2])
            else:
                out.append(head[1:].strip())
        return out

    def _read(self) -> None:
        try:
            while True:
                _, _, channel, payload = self._reply()
                with self.heard:
                    self.messages.append((channel.decode(), payload))
                    self.heard.notify_all()
        except (OSError, ValueError):
            return

    def wait(self, n: int) -> list[tuple[str, bytes]]:
        with self.heard:
            assert self.heard.wait_for(lambda: len(self.messages) >= n, 60), self.messages
            return list(self.messages)

    def close(self) -> None:
        self.conn.close()


@pytest.mark.services
def test_broker_sink_example_takes_its_url_and_runs_the_fourth_family_live(run_synthkit, tmp_path):
    """A partner's broker sink: --broker redis://... picks it by its scheme, its own resolver
    gives the address (the run record says 127.0.0.1:6379, not MQTT's 1883), and every
    record of a live run of the cold-chain family is PUBLISHed and acknowledged."""
    import uuid

    plugins = _with_coldchain(with_example("broker_sink_plugin"))
    (tmp_path / "cold.yaml").write_text(
        "scenario_id: depot\nseed: 3\ncoldchain:\n  units:\n"
        '    - {id_pattern: "T-{n}", count: 3, archetype: frozen_truck}\n'
    )
    prefix = f"sk-test-redis-{uuid.uuid4().hex[:8]}"
    listener = RedisListener(f"{prefix}/*")
    common = ["--scenario", str(tmp_path / "cold.yaml"), "--state-file", str(tmp_path / "s.json")]
    try:
        res = run_synthkit(
            [*common, "live", "--broker", "redis://127.0.0.1:6379", "--iterations", "4",
             "--every", "0.01", "--topic", prefix + "/{unit_id}"],
            plugins=plugins,
        )  # fmt: skip
        assert res.exit_code == 0, res.stderr
        heard = listener.wait(12)
    finally:
        listener.close()
    summary = json.loads(res.stdout)
    assert (
        summary["emitted"] == summary["acknowledged"] == 12
        and summary["broker"] == "127.0.0.1:6379"
    )
    assert sorted({c for c, _ in heard}) == [f"{prefix}/T-{n}" for n in (1, 2, 3)]
    assert [json.loads(p)["seq"] for c, p in heard if c.endswith("T-2")] == [0, 1, 2, 3]
    runs = json.loads(
        run_synthkit(
            ["--state-file", str(tmp_path / "s.json"), "runs", "--json"], plugins=plugins
        ).stdout
    )
    assert [(r["sink"], r["target"]) for r in runs["runs"]] == [("redis_pubsub", "127.0.0.1:6379")]
    res = run_synthkit(
        [*common, "live", "--broker", "gopher://h:1", "--iterations", "1"], plugins=plugins
    )
    assert res.exit_code == 2 and "no broker sink speaks gopher://" in res.stderr
    assert "mqtt://" in res.stderr and "redis://" in res.stderr


@pytest.mark.services
def test_source_example_feeds_the_listener_from_redis(tmp_path):
    """A partner's source: ``ingest listen --broker redis://...`` (the scheme picks the
    source it claims) hears a Redis pattern, says it is ready once subscribed, and each
    message it hands on is stored as the bytes that were published."""
    import socket
    import threading
    import time
    import uuid

    from sqlalchemy import create_engine, select
    from synthkit_reservoir.database.schema import telemetry

    plugins = with_example("source_plugin")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    (tmp_path / "s.yaml").write_text(
        "scenario_id: redis_t\ndevices:\n  - {device_id: TANK-1, archetype: stationary_archetype_a}\n"
    )
    for args in (["db", "init"], ["--scenario", str(tmp_path / "s.yaml"), "db", "register"]):
        assert run_cli([*args, "--db-url", url], plugins).exit_code == 0
    prefix, ready, out = f"sk-test-psub-{uuid.uuid4().hex[:8]}", tmp_path / "ready", {}
    listen = [
        "--state-file", str(tmp_path / "st.json"), "ingest", "listen", "--broker", "redis://127.0.0.1",
        "--db-url", url, "--topic", prefix + "/+/telemetry", "--count", "3",
        "--idle-timeout", "60", "--ready-file", str(ready),
    ]  # fmt: skip
    thread = threading.Thread(target=lambda: out.update(res=run_cli(listen, plugins)))
    thread.start()
    deadline = time.monotonic() + 60
    while not ready.exists():  # its readiness signal, not a fixed wait
        assert thread.is_alive() and time.monotonic() < deadline, out
        time.sleep(0.02)
    sent = [
        (
            b'{"schema_version":1,"local_timestamp_ms":1770000000000,"seq":%d,"sensors":'
            b'{"ultrasonic":{"raw_readings":[900,902],"temperature_c":20.5}},'
            b'"power":{"battery_percentage":80.0},"signal_strength_dbm":-60}' % seq
        )
        for seq in range(3)
    ]
    channel = f"{prefix}/TANK-1/telemetry".encode()
    with socket.create_connection(("127.0.0.1", 6379), timeout=10) as conn:
        for payload in sent:
            conn.sendall(
                b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(channel), channel, len(payload), payload)
            )
    thread.join(60)
    res = out["res"]
    assert res.exit_code == 0, res.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(
            select(telemetry.c.seq, telemetry.c.payload).order_by(telemetry.c.seq)
        ).all()
    engine.dispose()
    assert [(s, p.encode()) for s, p in stored] == list(enumerate(sent))


def test_every_built_in_fault_type_is_documented_with_its_parameters():
    from synthkit.plugins import build_plugins

    faults_doc = (ROOT / "docs" / "faults.md").read_text()
    cli_doc = (ROOT / "docs" / "cli.md").read_text()
    types = build_plugins().fault_types()
    assert len(types) >= 21
    for name, spec in types.items():
        assert f"| `{name}` |" in faults_doc and f"`{name}`" in cli_doc, name
        row = next(line for line in faults_doc.splitlines() if line.startswith(f"| `{name}` |"))
        for param in spec.params.model_fields if spec.params else {}:
            assert f"`{param}`" in row, (name, param)
