"""The sequence state file (section 6): continuity, atomic durable writes, one writer."""

from __future__ import annotations

import json

import pytest

from synthkit.errors import ConfigError
from synthkit.scenario import listed_devices
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


def test_a_second_writer_is_refused_while_one_holds_the_lock(tmp_path):
    path = tmp_path / "state.json"
    holder = SeqState.load(path)
    with holder.locked():
        other = SeqState.load(path)
        other.advance("A", 1)
        with pytest.raises(ConfigError, match="locked by another synthkit process"):
            other.save()
    other.save()  # free again
    assert SeqState.load(path).last == {"A": 1}


@pytest.mark.parametrize("text", ["{", '{"version": 2, "devices": {}}', '{"version": 1, "devices": []}',
                                  '{"version": 1, "devices": {"A": "x"}}'])
def test_a_damaged_state_file_is_a_clear_error(tmp_path, text):
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="not a readable sequence state file") as info:
        SeqState.load(path)
    assert "restore it from a backup" in str(info.value)


def test_long_explicit_device_lists_are_noticed_before_parsing(tmp_path, sh):
    path = tmp_path / "long.yaml"
    path.write_text("scenario_id: long\ndevices:\n" + "".join(
        f"  - device_id: D{i}\n    archetype: stationary_archetype_a\n" for i in range(1001)))
    assert listed_devices(str(path)) == 1001
    res = sh("synthkit", "--scenario", str(path), "validate")
    assert res.returncode == 0
    assert "lists 1001 devices one by one" in res.stderr and "device group" in res.stderr
