"""The shape of the command line, on the click tree typer builds from the plugins' apps:
help made plain (panels in a fixed order, flags without metavars, docstrings as paragraphs)
and global options accepted after the command as well as before it."""

from __future__ import annotations

import inspect
from typing import Any

import typer

PANELS = ("Simulate", "Database", "Live")  # what any family does, first in the root help; then
# the panels a plugin names for itself (a family's own group), then the core's two
SIMULATE = PANELS[0]
DELIVERY = "Delivery: run records, reconcile, replay"
PLUGINS = "Plugins"


def tidy_help(command: Any, root: bool = True) -> None:
    """What typer's help shows, made plain for every command a plugin adds (``command``: the
    click command typer built; typer bundles its own click, hence no type here):

    - flags take no value, so they show none (typer labels each ``<bool>``, which invited
      ``--strict true``), the help option included;
    - a docstring's lines join into paragraphs (rich mode kept each line break);
    - the root's commands are ordered by panel: simulate, database, live, the panels plugins
      name for themselves, then the core's delivery and plugin commands."""
    ctx = typer.Context(command, info_name=command.name)
    for param in [*command.params, command.get_help_option(ctx)]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    if command.help:
        paragraphs = inspect.cleandoc(command.help).split("\n\n")
        command.help = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    subs = getattr(command, "commands", None)
    if not subs:
        return
    for sub in subs.values():
        tidy_help(sub, root=False)
    if root:
        last = (DELIVERY, PLUGINS, None)  # None: a command that names no panel goes with the core's

        def rank(item: tuple[str, Any]) -> int:
            panel = getattr(item[1], "rich_help_panel", None)
            if panel in PANELS:
                return PANELS.index(panel)
            return len(PANELS) + (1 + min(last.index(panel), 1) if panel in last else 0)

        ordered = sorted(subs.items(), key=rank)
        subs.clear()
        subs.update(ordered)


def hoist_global_options(root: Any, args: list[str]) -> list[str]:
    """Global options given after the command move before it, with their values, so
    ``synthkit validate --scenario X`` means ``synthkit --scenario X validate``. An option the
    command itself has (``db init --db-url``) stays where it is; nothing after ``--`` moves."""
    known = {o: p for p in root.params for o in p.opts}
    front: list[str] = []
    rest: list[str] = []
    command, i = root, 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name = arg.split("=", 1)[0]
        if arg.startswith("-") and len(arg) > 1:
            own = {o: p for p in command.params for o in (*p.opts, *p.secondary_opts)}
            param = own.get(name) if command is not root else known.get(name)
            target = rest
            if param is None and command is not root and name in known:
                param, target = known[name], front
            takes = (
                param is not None
                and not getattr(param, "is_flag", False)
                and not getattr(param, "count", False)
            )
            span = 2 if takes and "=" not in arg else 1
            target += args[i : i + span]
            i += span
            continue
        sub = getattr(command, "commands", {}).get(arg)
        if sub is not None:
            command = sub
        rest.append(arg)
        i += 1
    return front + rest
