"""The sequence state file (section 6): continuity, atomic durable writes, one writer."""

from __future__ import annotations

import json
import os
import socket

import pytest

from synthkit.errors import ConfigError
from synthkit.state import SeqState


def test_next_seq_continues_and_never_moves_back(tmp_path):
    path = tmp_path / "deep" / "state.json"
    state = SeqState.load(path)
    assert state.next_seq("A") == 0
    state.advance("A", 9)
    state.advance("A", 3)  # an older run finishing late must not move A backwards
    state.save()
    assert json.loads(path.read_text()) == {"version": 1, "devices": {"A": 9}}
    again = SeqState.load(path)
    assert again.next_seq("A") == 10 and again.next_seq("B") == 0


def test_save_merges_with_what_another_run_saved(tmp_path):
    path = tmp_path / "state.json"
    mine, theirs = SeqState.load(path), SeqState.load(path)
    theirs.advance("A", 50)
    theirs.save()
    mine.advance("A", 20)
    mine.advance("B", 5)
    mine.save()
    assert SeqState.load(path).last == {"A": 50, "B": 5}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json", "state.json.lock"]  # no temp left


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    path = tmp_path / "state.json"
    with SeqState.held(path) as held:
        held.advance("A", 4)
        held.save()
        other = SeqState.load(path)
        other.advance("A", 9)
        with pytest.raises(
            ConfigError,
            match=rf"held by another synthkit process \(pid {os.getpid()} on {socket.gethostname()}",
        ):
            other.save()
        with pytest.raises(ConfigError, match="held by another"):
            with SeqState.held(path):
                pass
    other.save()  # free again
    assert SeqState.load(path).last == {"A": 9}


def test_a_holder_that_never_saved_leaves_no_trace(tmp_path):
    path = tmp_path / "new" / "deeper" / "state.json"
    with SeqState.held(path) as state:
        assert state.next_seq("A") == 0
    assert list(tmp_path.iterdir()) == []  # no lock file, no directories made for it
    with SeqState.held(path) as state:
        state.advance("A", 2)
        state.save()
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json", "state.json.lock"]


@pytest.mark.parametrize("value", ["1e30", "-7", "5.7", "true", "9223372036854775808", "null"])
def test_a_state_value_that_is_not_a_seq_is_refused(tmp_path, value):
    """Issue 11.8: 1e30 raised OverflowError; -7 was accepted (seq -6 emitted); 5.7 and true
    were coerced silently."""
    path = tmp_path / "state.json"
    path.write_text(f'{{"version": 1, "devices": {{"A": {value}}}}}')
    with pytest.raises(ConfigError, match="not a whole number"):
        SeqState.load(path)


@pytest.mark.parametrize(
    "text",
    [
        "{",
        '{"version": 2, "devices": {}}',
        '{"version": 1, "devices": []}',
        '{"version": 1, "devices": {"A": "x"}}',
    ],
)
def test_a_damaged_state_file_is_a_clear_error(tmp_path, text):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="not a readable sequence state file") as info:
        SeqState.load(path)
    assert "restore it from a backup" in str(info.value)
