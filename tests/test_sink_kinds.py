"""Sink kinds (issue 13, first step): each sink declares its kind, and a command asks for
the kind it can drive, so a sink of another kind is refused with a clear answer instead of
being called with arguments it does not take. Before: `import-csv --sink jsonl` ended in
`internal error: TypeError: make_sink() got an unexpected keyword argument 'apply'`, and a
claimed extension of two parts (`.jsonl.gz`) never matched, though the error listed it."""

from __future__ import annotations

import types

import pytest

from synthkit import hookimpl
from synthkit.errors import PluginError
from synthkit.plugins import build_plugins
from synthkit.records import SinkSpec
from synthkit.testing import run_cli
from tests.conftest import ROOT

END = "2026-01-15T00:00:00Z"


def test_import_csv_with_a_file_sink_is_refused_naming_the_kinds(tmp_path):
    plugins = build_plugins()
    url = f"sqlite:///{tmp_path / 't.db'}"
    assert run_cli(["db", "init", "--db-url", url], plugins).exit_code == 0
    scenario = str(ROOT / "scenarios" / "stationary_only_v1.yaml")
    exported = run_cli(
        [
            "--scenario",
            scenario,
            "--state-file",
            str(tmp_path / "a.json"),
            "export-csv",
            "--end-at",
            END,
            "--run-id",
            "r",
            "--output-root",
            str(tmp_path / "o"),
        ],
        plugins,
    )
    assert exported.exit_code == 0, exported.stderr
    res = run_cli(
        [
            "--state-file",
            str(tmp_path / "b.json"),
            "import-csv",
            "--artifact-dir",
            str(tmp_path / "o" / "stationary_only_v1" / "r"),
            "--apply",
            "--sink",
            "jsonl",
            "--db-url",
            url,
        ],
        plugins,
    )
    assert res.exit_code == 2, res.stderr
    assert (
        "sink 'jsonl' is a file sink; import-csv needs an ingest sink (ingest sinks: http, reference_db, telematics_db)"
        in res.stderr
    )
    assert not (tmp_path / "b.json").exists()


def test_every_built_in_sink_declares_its_kind():
    kinds = {name: spec.kind for name, spec in build_plugins().sinks().items()}
    assert kinds == {
        "csv": "file",
        "jsonl": "file",
        "parquet": "file",
        "stdout": "stream",
        "mqtt": "broker",
        "reference_db": "ingest",
        "telematics_db": "ingest",
        "http": "ingest",
    }


def test_a_sink_of_the_wrong_kind_or_an_unknown_kind_is_refused():
    plugins = build_plugins()
    with pytest.raises(
        PluginError, match="sink 'mqtt' is a broker sink; telematics generate needs a file sink"
    ):
        plugins.sink("mqtt", "file", needed_by="telematics generate")
    with pytest.raises(PluginError, match="unknown broker sink 'mqt'"):
        plugins.sink("mqt", "broker", needed_by="run")
    with pytest.raises(PluginError, match="kind must be one of file, stream, ingest, broker"):
        SinkSpec("odd", factory=dict, kind="pigeon")


def test_a_two_part_extension_picks_its_sink(tmp_path):
    module = types.ModuleType("gz_sink")
    module.synthkit_register_sinks = hookimpl(
        lambda: [SinkSpec("jsonl_gz", factory=dict, extensions=(".jsonl.gz",))]
    )
    plugins = build_plugins()
    plugins.register(module, "gz_sink")
    assert plugins.file_sink(tmp_path / "events.jsonl.gz").name == "jsonl_gz"
    assert plugins.file_sink(tmp_path / "events.jsonl").name == "jsonl"
    with pytest.raises(PluginError, match="cannot tell the format of .* from its name"):
        plugins.file_sink(tmp_path / "events.gz")
