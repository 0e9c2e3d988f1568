"""A pytest plugin for plugin authors: test your plugin against a fresh plugin manager.

Enable it in your ``conftest.py``::

    pytest_plugins = ["synthkit.testing"]

Fixtures:

- ``synthkit_plugins``: an empty :class:`~synthkit.plugins.Plugins` (no entry points loaded);
  ``synthkit_plugins.register(my_module, "my_plugin")`` adds yours, and fails at once on a
  hook name no specification knows, as installing it would.
- ``installed_plugins``: a fresh manager with every installed ``synthkit`` entry point.
- ``run_synthkit``: ``run_synthkit(["plugins", "--json"], plugins=...)`` runs the CLI
  in-process and returns a :class:`CliResult` (exit code, stdout, stderr).
- ``check_sink(spec, make_target)``: the sink conformance kit (:mod:`synthkit.conformance`):
  your sink against its kind's contract (options, open/write/close/abort, whole-or-nothing,
  outcomes, determinism), with :func:`sample_batches` (every value type) or your batches.
- ``event_context``: ``event_context(n=1000, speed=...)`` builds an
  :class:`~synthkit.records.EventContext` of ``n`` events with the columns you give (the
  family's columns your generator reads), for unit-testing a vectorised event type.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from unittest import mock

import numpy as np
import pytest

from synthkit.cli import run
from synthkit.conformance import check_sink, sample_batches  # noqa: F401 - the kit, re-exported
from synthkit.events import EventContext
from synthkit.plugins import Plugins, build_plugins


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


class _Capture(io.TextIOWrapper):
    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)

    def text(self) -> str:
        self.flush()
        return self.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def run_cli(args: list[str], plugins: Plugins | None = None) -> CliResult:
    """Run ``synthkit <args>`` in this process with ``plugins`` as the plugin manager."""
    out, err = _Capture(), _Capture()
    manager = plugins if plugins is not None else build_plugins()
    with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
        code = run(list(args), manager)
    return CliResult(code, out.text(), err.text())


def make_event_context(n: int = 1000, seed: int = 0, **columns: np.ndarray) -> EventContext:
    """An :class:`EventContext` of ``n`` events: reproducible stream keys and ``columns``."""
    rng = np.random.default_rng(seed)
    wrong = sorted(name for name, values in columns.items() if np.shape(values)[:1] != (n,))
    if wrong:
        raise ValueError(f"columns {', '.join(wrong)} must hold n={n} values each")
    return EventContext(
        rng.integers(0, 2**63, n, dtype=np.uint64), **{k: np.asarray(v) for k, v in columns.items()}
    )


@pytest.fixture
def synthkit_plugins() -> Plugins:
    return build_plugins(entry_points=False)


@pytest.fixture
def installed_plugins() -> Plugins:
    return build_plugins()


@pytest.fixture
def run_synthkit() -> Iterator[Callable[..., CliResult]]:
    yield run_cli


@pytest.fixture
def event_context() -> Callable[..., EventContext]:
    return make_event_context
