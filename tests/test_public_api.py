"""The public API (issue 12): ``synthkit.api`` exports every contract a plugin needs, costs
nothing to import, and the event-type contract is generic in the core and checked by the
family that generates the events."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from synthkit import api, hookimpl
from synthkit.errors import PluginError
from synthkit.events import EventContext, EventType
from synthkit.plugins import build_plugins
from synthkit.testing import make_event_context, run_cli


def test_every_exported_name_resolves_and_is_listed():
    for name in api.__all__:
        assert getattr(api, name) is not None, name
    assert sorted(dir(api)) == sorted(api.__all__)
    assert api.rand.__name__ == "synthkit.rand"  # a module export is the module
    with pytest.raises(AttributeError, match="synthkit.api has no 'Nope'"):
        api.Nope  # noqa: B018


@pytest.mark.slow
def test_importing_the_api_and_a_record_loads_nothing_heavy():
    code = (
        "import sys; from synthkit.api import hookimpl, EventType, DeviceModel, Family; "
        "import json; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'numba', 'sqlalchemy', 'paho', 'pydantic'))))"
    )
    loaded = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    assert loaded == []


def test_an_event_context_reads_the_familys_columns_as_attributes():
    ctx = make_event_context(n=5, speed_mph=np.arange(5.0))
    assert ctx.n == 5 and list(ctx.speed_mph) == [0, 1, 2, 3, 4]
    with pytest.raises(
        AttributeError, match="no column 'posted_speed_mph' \\(it has: speed_mph\\)"
    ):
        ctx.posted_speed_mph  # noqa: B018
    with pytest.raises(ValueError, match="must hold n=5 values"):
        make_event_context(n=5, speed_mph=np.arange(4.0))
    again = make_event_context(n=5, speed_mph=np.arange(5.0))
    assert np.array_equal(ctx.uniform(0), again.uniform(0))  # reproducible
    assert not np.array_equal(ctx.uniform(0), ctx.uniform(1))  # one stream per slot
    assert isinstance(ctx, EventContext)


def _with_event(**eligible: object):
    module = types.ModuleType("odd_event")
    module.synthkit_register_event_types = hookimpl(
        lambda: [
            EventType(
                "odd", 1.0, attributes=lambda rng: {"x": rng.randint(0, 9)}, eligible=eligible
            )
        ]
    )
    plugins = build_plugins()
    plugins.register(module, "odd_event")
    return plugins


@pytest.mark.parametrize(
    ("eligible", "words"),
    [
        ({"min_sped_mph": 5}, "unknown eligibility condition(s) min_sped_mph"),
        ({"night_only": "yes"}, "is not valid"),
        ({"min_speed_mph": float("nan")}, "is not valid"),
    ],
)
def test_an_eligibility_the_family_does_not_know_is_refused_naming_the_type(
    tmp_path, eligible, words
):
    res = run_cli(
        ["telematics", "generate", "--events", "100", "--out", str(tmp_path / "e.jsonl")],
        _with_event(**eligible),
    )
    assert res.exit_code == 2, res.stderr
    assert "event type 'odd': " in res.stderr and words in res.stderr
    assert not (tmp_path / "e.jsonl").exists()


def test_an_eligibility_condition_holds_in_the_output(tmp_path):
    out = tmp_path / "e.jsonl"
    res = run_cli(
        ["telematics", "generate", "--events", "20000", "--seed", "3", "--out", str(out)],
        _with_event(min_speed_mph=40.0),
    )
    assert res.exit_code == 0, res.stderr
    odd = [
        json.loads(line) for line in out.read_text().splitlines() if '"event_type":"odd"' in line
    ]
    assert len(odd) > 100
    assert all(e["speed_mph"] >= 40.0 for e in odd)


def test_event_type_records_still_refuse_a_bad_declaration():
    with pytest.raises(PluginError, match="exactly one of generate= or attributes="):
        EventType("x", 1.0)


def test_the_lazy_map_and_the_type_checking_imports_name_the_same_things():
    """synthkit.api lists each name twice (the lazy map, the imports type checkers read):
    the two must not drift apart."""
    import ast

    tree = ast.parse(Path(api.__file__).read_text(encoding="utf-8"))
    block = next(
        n
        for n in tree.body
        if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"
    )
    imported: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            imported[alias.asname or alias.name] = (
                node.module if node.module != "synthkit" else f"synthkit.{alias.name}"
            )
    assert imported == api._WHERE


def test_every_exported_name_is_documented_with_its_signature_in_docs_api_md():
    """docs/api.md is what synthkit.apidoc writes from the code: every name of __all__ with
    its signature and summary, split into the contracts a plugin implements and the toolkit
    it may use. A name added, renamed or re-typed without the reference fails here."""
    from synthkit.apidoc import CONTRACTS, render

    root = Path(__file__).resolve().parents[1]
    assert CONTRACTS <= set(api.__all__)
    written = (root / "docs" / "api.md").read_text(encoding="utf-8")
    assert written == render(), "run: python -m synthkit.apidoc > docs/api.md"
    entries = [line for line in written.splitlines() if line.startswith("- `")]
    assert sorted(
        line[3:]
        .split("`")[0]
        .split("(")[0]
        .split(" = ")[0]
        .split(":")[0]
        .removeprefix("class ")
        .removeprefix("module ")
        for line in entries
    ) == sorted(api.__all__)
    contracts = written.split("## Toolkit")[0]
    assert all(f"`class {n}(" in contracts or f"`{n}(" in contracts for n in CONTRACTS)
