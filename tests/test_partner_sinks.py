"""Issue 24 items 3 and 9: a partner's sink never changes what the built-in commands do. The
database URLs are claimed by the reference database's sink; a claim two sinks make goes to
synthkit's own, and is said (not silently lost)."""

from __future__ import annotations

import json
import types

import pytest

from synthkit import hookimpl
from synthkit.api import FileSink, IngestSink, SinkSpec
from synthkit.plugins import build_plugins
from synthkit.testing import run_cli
from tests.live import Listener, own_prefix, subscription, topic_block
from tests.test_docs import with_example

SCENARIO = """scenario_id: partner_t
speedup_factor: 600
bootstrap: {{days: 1, step_minutes: 60}}
devices:
  - {{group: p, count: 2, id_pattern: "{ids}-{{n:02d}}", archetype: stationary_archetype_a, cadence_seconds: 60}}
"""


@pytest.mark.slow
@pytest.mark.services
def test_a_second_sink_with_a_ledger_leaves_the_runbook_as_it_was(tmp_path):
    """Before: with the docs' ledger sink installed, every sqlite/postgresql URL was
    "ambiguous": `run --db-url` published, wrote its record, then exited 2 with no summary."""
    plugins = with_example("ledger_sink_plugin")
    prefix = own_prefix("partner")
    path = tmp_path / "p.yaml"
    path.write_text(SCENARIO.format(ids=prefix[-6:].upper()) + topic_block(prefix))
    url = f"sqlite:///{tmp_path}/ref.db"
    state = ["--state-file", str(tmp_path / "s.json")]
    for args in (
        ["db", "init", "--db-url", url],
        ["--scenario", str(path), "db", "register", "--db-url", url],
        [*state, "--scenario", str(path), "bootstrap", "--db-url", url],
    ):
        res = run_cli(args, plugins)
        assert res.exit_code == 0, (args, res.stderr)
    done = run_cli([*state, "reconcile", "--db-url", url], plugins)  # no --sink: the URL says which
    assert done.exit_code == 0 and json.loads(done.stdout)["complete"] is True, done.stderr
    listener = Listener(
        tmp_path,
        "--db-url",
        url,
        "--topic",
        subscription(prefix),
        "--idle-timeout",  # until the run's first message: its start-up takes seconds when loaded
        "15",
        pre=tuple(state),
    )
    try:
        ran = run_cli(
            [*state, "--scenario", str(path), "run", "--iterations", "2", "--db-url", url], plugins
        )
    finally:
        code, heard, err = listener.result()
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.stdout)["delivery"]["stored"] == 4 and code == 0, err
    listened = run_cli(
        [
            *state,
            "ingest",
            "listen",
            "--db-url",
            url,
            "--topic",
            subscription(prefix),
            "--duration-seconds",
            "0.5",
        ],
        plugins,
    )
    assert listened.exit_code == 0, listened.stderr
    assert "ambiguous" not in ran.stderr + listened.stderr + done.stderr


class _Twin(IngestSink):  # never built: the claim is what is tested
    def __init__(self, target, options): ...


class _FileTwin(FileSink):
    def __init__(self, target, options): ...


def _partner(**claims: tuple[str, ...]):
    module = types.ModuleType("partner_claims")
    module.synthkit_register_sinks = hookimpl(
        lambda: [
            SinkSpec("myhttp", _Twin, kind="ingest", schemes=claims.get("schemes", ())),
            SinkSpec("myparquet", _FileTwin, kind="file", extensions=claims.get("extensions", ())),
        ]
    )
    plugins = build_plugins()
    plugins.register(module, "partner_claims", distribution="acme-sinks", version="1.0")
    return plugins


def test_a_claim_two_sinks_make_goes_to_synthkits_own_and_is_said():
    """Before: a second sink claiming http:// or .parquet silently lost to the built-in."""
    plugins = _partner(schemes=("http", "sqlite"), extensions=(".parquet",))
    assert (
        plugins.url_sink("http://h/x").name == "http"
        and plugins.file_sink("e.parquet").name == "parquet"
    )
    assert plugins.url_sink("sqlite:///x.db").name == "reference_db"
    assert plugins.url_sink("postgresql+psycopg://h/db").name == "reference_db"
    contested = plugins.contested()
    assert any(
        "'http://'" in line and "'myhttp' (acme-sinks 1.0)" in line and "--sink myhttp" in line
        for line in contested
    )
    assert any("'.parquet'" in line and "give --sink myparquet" in line for line in contested)
    listed = run_cli(["plugins", "--json"], plugins)
    assert listed.exit_code == 0 and json.loads(listed.stdout)["contested"] == contested
    assert "myparquet" in run_cli(["plugins"], plugins).stdout
    noted = run_cli(
        ["telematics", "generate", "--events", "10", "--out", "e.parquet"],
        _partner(extensions=(".parquet",)),
    )
    assert (
        noted.exit_code == 0
        and "note: the file ending .parquet is claimed by sinks parquet and myparquet"
        in noted.stderr
    )
