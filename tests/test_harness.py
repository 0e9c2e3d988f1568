"""The suite's own isolation: every xdist worker runs its module fixtures in a directory of
its own, so CLI runs that use relative defaults (the sequence state file and its lock) never
meet another worker's. In the checkout, four workers building one module fixture at once
failed on "held by another synthkit process" (25 errors of `-n 4 tests/test_safety_cells.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def module_directory() -> Path:
    return Path.cwd()


@pytest.fixture(scope="module")
def held_state(tmp_path_factory):
    """A module fixture holding the default state file's lock, as a CLI run in one does."""
    from synthkit.context import DEFAULT_STATE_FILE
    from synthkit.statelock import StateLock

    lock = StateLock.acquire(DEFAULT_STATE_FILE)
    yield DEFAULT_STATE_FILE.resolve()
    lock.release(keep=False)


def test_module_fixtures_run_in_a_directory_of_this_process(module_directory, tmp_path_factory):
    assert module_directory != ROOT
    assert module_directory.is_relative_to(tmp_path_factory.getbasetemp())


def test_a_module_fixtures_relative_state_is_not_the_checkouts(held_state, tmp_path_factory):
    assert not held_state.is_relative_to(ROOT)
    assert held_state.is_relative_to(tmp_path_factory.getbasetemp())
