"""Issue 15: the operator's CLI around the data: how it is started, what its help shows."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from synthkit import __version__
from tests.conftest import BIN
from tests.live import own_prefix, topic_block

HELP_PAGES = [
    [],
    ["validate"],
    ["export-csv"],
    ["run"],
    ["db", "init"],
    ["telematics", "generate"],
    ["reconcile"],
]


@pytest.mark.slow
def test_version_as_a_flag_and_as_a_command():
    for args in (["--version"], ["version"]):
        res = subprocess.run([str(BIN / "synthkit"), *args], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == __version__


@pytest.mark.slow
def test_python_dash_m_synthkit_is_the_same_command():
    res = subprocess.run(
        [sys.executable, "-m", "synthkit", "--version"], capture_output=True, text=True
    )
    assert res.returncode == 0 and res.stdout.strip() == __version__, res.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "synthkit", "no-such-command"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "No such command" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args", HELP_PAGES, ids=lambda a: " ".join(a) or "root")
def test_flags_show_no_value_metavar(args):
    """A flag takes no value: `--strict <bool>` invited `--strict true`, which failed. Nor does
    a repeatable option say Python's `<list[str]>`: it names what one value looks like."""
    res = subprocess.run(
        [str(BIN / "synthkit"), *args, "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert res.returncode == 0, res.stderr
    assert "<bool>" not in res.stdout, res.stdout
    assert "list[" not in res.stdout, res.stdout
    assert re.search(r"--help\s+Show this message", res.stdout), res.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["mqtt_simulator", "--help"],
        ["synthkit-mock", "--help"],
        *(["synthkit", *a, "--help"] for a in HELP_PAGES),
    ],
    ids=" ".join,
)
def test_help_speaks_of_nothing_users_never_saw(argv):
    """`mqtt_simulator --help` showed RST markup and "the seed" (the internal document the
    tool grew from), as did other user-facing text with its section numbers."""
    res = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert res.returncode == 0, res.stderr
    found = re.findall(
        r"\bthe seed\b|seed's|[Ss]ection \d|``|:(?:func|class|mod|meth):", res.stdout
    )
    assert not found, (found, res.stdout)


def test_global_options_after_the_command_mean_the_same(tmp_path, sh):
    """`synthkit validate --scenario X` failed ("No such option: --scenario") with no hint."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: placed\ndevices:\n  - {device_id: PL-1, archetype: stationary_archetype_a}\n"
    )
    before = sh("synthkit", "--scenario", str(scenario), "validate")
    after = sh("synthkit", "validate", f"--scenario={scenario}")
    assert before.returncode == after.returncode == 0, after.stderr
    assert before.stdout == after.stdout
    late = sh(
        "synthkit",
        "export-csv",
        "--output-root",
        str(tmp_path / "out"),
        "--scenario",
        str(scenario),
        "--state-file",
        str(tmp_path / "st.json"),
    )
    assert late.returncode == 0, late.stderr
    assert any((tmp_path / "out").iterdir())
    # nothing after -- moves, and an unknown option is still refused by name
    bad = sh("synthkit", "validate", "--scenery", str(scenario))
    assert bad.returncode == 2 and "--scenery" in bad.stderr


def test_db_url_before_the_command_is_the_database_of_every_command(tmp_path, sh):
    """`synthkit --db-url U db init` failed: --db-url existed per command only."""
    url = f"sqlite:///{tmp_path}/global.db"
    assert sh("synthkit", "--db-url", url, "db", "init").returncode == 0
    assert (tmp_path / "global.db").is_file()
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: placed\ndevices:\n  - {device_id: PL-1, archetype: stationary_archetype_a}\n"
    )
    reg = sh("synthkit", "db", "register", "--scenario", str(scenario), "--db-url", url)
    assert reg.returncode == 0, reg.stderr
    glob = sh("synthkit", "--db-url", url, "--scenario", str(scenario), "validate")
    assert glob.returncode == 0 and "global.db" in glob.stdout + glob.stderr, glob.stderr
    # the command's own --db-url wins over the global one
    other = f"sqlite:///{tmp_path}/other.db"
    assert sh("synthkit", "--db-url", url, "db", "init", "--db-url", other).returncode == 0
    assert (tmp_path / "other.db").is_file()


def test_hoisting_keeps_values_and_the_commands_own_options():
    import typer

    from synthkit.cli import build_app
    from synthkit.cli_shape import hoist_global_options
    from synthkit.plugins import build_plugins

    root = typer.main.get_command(build_app(build_plugins()))
    assert hoist_global_options(root, ["validate", "--scenario", "x.yaml", "--strict"]) == [
        "--scenario",
        "x.yaml",
        "--strict",
        "validate",
    ]
    assert hoist_global_options(root, ["db", "init", "--db-url", "sqlite:///a.db"]) == [
        "db",
        "init",
        "--db-url",
        "sqlite:///a.db",
    ]
    assert hoist_global_options(root, ["telematics", "generate", "--out", "--scenario"]) == [
        "telematics",
        "generate",
        "--out",
        "--scenario",
    ]  # a value that looks like an option stays a value
    assert hoist_global_options(root, ["runs", "--", "--scenario", "x"]) == [
        "runs",
        "--",
        "--scenario",
        "x",
    ]


def test_duration_seconds_is_wall_time_even_when_the_last_emission_comes_earlier():
    """`run --duration-seconds 600` at a 300 s cadence ended after 300 s: `paced` stopped at
    the last emission that fitted instead of at the duration."""
    import threading
    import time

    from synthkit.api import paced
    from synthkit.batch import Batch

    written: list[str] = []
    one = Batch([])
    stop = threading.Event()
    t0 = time.monotonic()
    interrupted = paced(
        [(0.0, "a"), (30.0, "b")],
        lambda item: written.append(item) or one,
        lambda b: None,
        stop=stop,
        duration_s=0.4,
    )
    assert time.monotonic() - t0 >= 0.4 and not interrupted and written == ["a"]
    # a signal during that wait still ends it at once, as interrupted
    threading.Timer(0.2, stop.set).start()
    assert (
        paced(
            [(0.0, "a"), (120.0, "b")], lambda item: one, lambda b: None, stop=stop, duration_s=60
        )
        is True
    )
    # a schedule that ends on its own (iterations done) does not wait for the duration
    later = threading.Event()
    threading.Timer(5.0, later.set).start()  # had it waited for the duration, this would end it
    assert paced([(0.0, "a")], lambda item: one, lambda b: None, stop=later, duration_s=60) is False


def test_a_live_loop_freezes_its_setup_for_the_collector_and_gives_it_back():
    """Full collections walked every object set up before a live run (~65 ms each on 2,000
    devices): the loop freezes them, and an in-process caller gets its collector back after."""
    import gc
    import threading

    from synthkit.api import paced
    from synthkit.batch import Batch

    seen: list[int] = []

    def produce(item: str) -> Batch:
        seen.append(gc.get_freeze_count())
        return Batch([])

    assert gc.get_freeze_count() == 0
    paced([(0.0, "a"), (0.0, "b")], produce, lambda b: None, stop=threading.Event())
    assert len(seen) == 2 and min(seen) > 1000  # the interpreter's own objects at the least
    assert gc.get_freeze_count() == 0


@pytest.mark.services
def test_run_duration_seconds_lasts_that_long(tmp_path, sh):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: wall\nspeedup_factor: 1\ndevices:\n"
        "  - {device_id: WALL-1, archetype: stationary_archetype_a, cadence_seconds: 300}\n"
        + topic_block(own_prefix("wall"))
    )
    res = sh(
        "synthkit",
        "--scenario",
        str(scenario),
        "--state-file",
        str(tmp_path / "s.json"),
        "run",
        "--duration-seconds",
        "2",
    )
    assert res.returncode == 0, res.stderr
    out = __import__("json").loads(res.stdout)
    assert out["emitted"] == 1 and out["elapsed_seconds"] >= 2.0, out["elapsed_seconds"]
    # one message in ~2 s: said as such (it read `messages_per_second: 0`)
    assert 0 < out["messages_per_second"] <= 0.5


def test_rates_keep_their_significant_digits():
    from synthkit.api import per_second

    assert (
        per_second(2, 300) == 0.00667
        and per_second(52, 1) == 52.0
        and per_second(1234.4, 1) == 1234
    )
    assert per_second(5, 0) is None


LONG = """scenario_id: fits
devices:
  - {device_id: E2E2024STATIONARYTANKNORTHWEST0001, archetype: stationary_archetype_a}
"""


@pytest.mark.parametrize("command", ["validate", "dry-run"])
def test_tables_wrap_and_never_truncate(tmp_path, sh, command):
    """dry-run showed `E2E2024STA…` twice and validate cut archetype names at 80 columns."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(LONG)
    env = {"COLUMNS": "60"}
    res = sh("synthkit", "--scenario", str(scenario), command, env=env)
    assert res.returncode == 0, res.stderr
    assert "…" not in res.stderr, res.stderr
    columns: dict[int, str] = {}  # each column's text, its folded lines joined again
    for line in res.stderr.splitlines():
        if line.startswith("│"):
            for i, cell in enumerate(line.split("│")[1:-1]):
                columns[i] = columns.get(i, "") + cell.strip()
    joined = list(columns.values())
    assert "stationary_archetype_a" in joined[0 if command == "validate" else 1], res.stderr
    if command == "dry-run":
        assert joined[0] == "E2E2024STATIONARYTANKNORTHWEST0001", res.stderr
    assert max(len(line) for line in res.stderr.splitlines()) <= 60


def test_counts_read_as_english(tmp_path, sh):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(LONG)
    res = sh("synthkit", "--scenario", str(scenario), "validate")
    assert "fits: 1 of 1 device valid" in res.stderr and "1 devices" not in res.stderr


def test_messages_quote_the_input_as_written_and_name_a_field_once(tmp_path, sh):
    """An error echoed 'EUROPE/LISBON' for Europe/Lisbon, and said
    `parameter_overrides.supply_liters_per_event: supply_liters_per_event: ...`."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "scenario_id: t\ntimezone: Europe/Lisbon\ndevices:\n  - {device_id: T-1, archetype: stationary_archetype_a}\n"
    )
    res = sh("synthkit", "--scenario", str(scenario), "validate")
    assert res.returncode == 2
    assert "got 'Europe/Lisbon'" in res.stderr and "EUROPE" not in res.stderr, res.stderr
    scenario.write_text(
        "scenario_id: t\ndevices:\n  - device_id: T-1\n"
        "    archetype: stationary_archetype_a\n    parameter_overrides: {supply_liters_per_event: -5}\n"
    )
    res = sh("synthkit", "--scenario", str(scenario), "validate")
    assert res.returncode == 2
    assert (
        "parameter_overrides.supply_liters_per_event: Input should be greater than 0" in res.stderr
    )
    assert "supply_liters_per_event: supply_liters_per_event" not in res.stderr
    scenario.write_text(
        "scenario_id: t\ntimezone: utc\ndevices:\n  - {device_id: t-1, archetype: stationary_archetype_a}\n"
    )
    assert (
        sh("synthkit", "--scenario", str(scenario), "validate").returncode == 0
    )  # any case is still accepted


def _leaves(command, path=()):
    subs = getattr(command, "commands", None)
    if not subs:
        yield " ".join(path), command
        return
    for name, sub in subs.items():
        yield from _leaves(sub, (*path, name))


def test_every_command_has_an_example_and_every_root_command_a_panel():
    """No help page had an example, and the root help mixed every family's commands."""
    import typer

    from synthkit.cli import build_app
    from synthkit.cli_shape import PANELS, tidy_help
    from synthkit.plugins import build_plugins

    root = typer.main.get_command(build_app(build_plugins()))
    tidy_help(root)
    for path, command in _leaves(root):
        assert (command.epilog or "").startswith("Example: synthkit "), path
    panels = [getattr(c, "rich_help_panel", None) for c in root.commands.values()]
    assert None not in panels, dict(zip(root.commands, panels))
    seen = list(dict.fromkeys(panels))
    assert seen[: len(PANELS)] == list(PANELS) and seen[-1] == "Plugins", seen
    assert "Telematics" in seen[len(PANELS) : -2]  # a family's own panel: after the shared ones


def test_the_example_of_each_help_page_is_a_command_that_parses(tmp_path):
    """Each example's options are the command's own (or global): a renamed flag fails here."""
    import shlex

    import typer

    from synthkit.cli import build_app
    from synthkit.cli_shape import hoist_global_options, tidy_help
    from synthkit.plugins import build_plugins

    root = typer.main.get_command(build_app(build_plugins()))
    tidy_help(root)
    for path, command in _leaves(root):
        words = shlex.split(command.epilog.removeprefix("Example: "))[1:]
        words = hoist_global_options(root, words)
        for name in path.split():
            assert name in words, (path, words)
        options = {o for p in command.params for o in p.opts} | {
            o for p in root.params for o in p.opts
        }
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in options, (path, word)
