"""Human output on stderr (tables, progress); machine output (JSON) on stdout."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from synthkit.secrets import scrub


def stderr() -> Console:
    """The console for human output: while a progress bar shows, its own (a line printed
    from any thread then goes above the bar instead of through it)."""
    if _active:
        return _active[-1].console
    return Console(stderr=True)


class _Table(Table):
    """A table whose identifier columns keep their words whole when the terminal has room."""

    prose: frozenset[str] = frozenset()

    def __rich_console__(self, console: Any, options: Any) -> Any:
        ids = [c for c in self.columns if c.header not in self.prose]
        widest = {
            id(c): max([len(str(c.header)), *(len(getattr(x, "plain", str(x))) for x in c._cells)])
            for c in ids
        }
        # borders, two spaces of padding per column, and room for each prose column to wrap in
        room = (
            options.max_width
            - (len(self.columns) + 1)
            - 2 * len(self.columns)
            - 6 * (len(self.columns) - len(ids))
        )
        for c in (
            ids
        ):  # rich shrinks wrapping columns first: these keep whole, left first, while they fit
            c.no_wrap = widest[id(c)] <= room
            room -= widest[id(c)] if c.no_wrap else 0
        yield from super().__rich_console__(console, options)


def table(
    title: str,
    columns: tuple[str, ...] | list[str],
    caption: str | None = None,
    prose: tuple[str, ...] = (),
) -> Table:
    """A table for stderr that fits the terminal: the ``prose`` columns wrap between words to
    make room, and the others (identifiers: a device id, an archetype name) keep whole when the
    terminal has room for them; narrower, a long word folds onto the next line, never cut with
    an ellipsis."""
    out = _Table(title=title, title_justify="left", caption=caption)
    out.prose = frozenset(prose)
    for column in columns:
        out.add_column(column, overflow="fold")
    return out


def per_second(count: float, seconds: float) -> float | None:
    """A rate for a summary: whole numbers from 100 up, three significant digits below (a
    5-minute run of 2 messages reported ``messages_per_second: 0``); None without a duration."""
    if seconds <= 0:
        return None
    value = count / seconds
    return round(value) if value >= 100 else float(f"{value:.3g}")


def emit_json(payload: dict[str, Any]) -> None:
    """The machine-readable summary: one JSON document on stdout."""
    sys.stdout.write(scrub(json.dumps(payload, indent=2, sort_keys=False)) + "\n")
    sys.stdout.flush()


def with_problems(summary: dict[str, Any], problems: Sequence[str]) -> dict[str, Any]:
    """``summary`` with ``problems`` added to its ``warnings`` and ``complete`` set."""
    warnings = list(summary.get("warnings", []))
    summary["warnings"] = warnings + [p for p in problems if p not in warnings]
    summary["complete"] = not problems
    return summary


def finish(summary: dict[str, Any], problems: Sequence[str]) -> None:
    """Emit ``summary`` with ``problems`` (:func:`with_problems`); a command with problems
    then exits 3 (:class:`~synthkit.errors.IncompleteRun`). A command that ran a
    :class:`~synthkit.run.Run` ends it with ``run.finish`` instead."""
    from synthkit.errors import IncompleteRun

    emit_json(with_problems(summary, problems))
    if problems:
        raise IncompleteRun("; ".join(problems), hint="see warnings in the summary on stdout")


class _Bar:
    def __init__(
        self,
        progress: Progress | None,
        task: TaskID | None,
        report: Callable[[int], None] | None = None,
    ) -> None:
        self._progress, self._task, self._report = progress, task, report

    def advance(self, amount: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)
        if self._report is not None:
            self._report(amount)


# where a shard's progress goes when an executor runs it (its client draws the bar)
_reporting: ContextVar[Callable[[int], None] | None] = ContextVar("reporting", default=None)


_channel: _FdReport | None = None  # this process's reporter, once taken from the environment


def take_progress_channel() -> None:
    """At start-up: take the executor's progress descriptor out of the environment (see
    :class:`_FdReport`) before anything could start a process that inherits it."""
    _FdReport.from_environment()


def _ignore(amount: int) -> None:
    """What a bar inside a reporting bar reports: nothing."""


class _FdReport:
    """Rows done, written as lines to the file descriptor an executor gave this process
    (``SYNTHKIT_REPORT_FD``), at most every 0.2 s."""

    def __init__(self, fd: int) -> None:
        self.fd, self.pending, self.last = fd, 0, 0.0

    @classmethod
    def from_environment(cls) -> _FdReport | None:
        """This process's reporter: the variable is taken out of the environment at once,
        so no process this one starts writes to a descriptor number it never got."""
        global _channel
        fd = os.environ.pop("SYNTHKIT_REPORT_FD", "")
        if fd.isdigit():
            _channel = cls(int(fd))
        return _channel

    def __call__(self, amount: int) -> None:
        self.pending += amount
        if time.monotonic() - self.last >= 0.2:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if self.pending:
            with contextlib.suppress(OSError):  # the executor went: the run goes on
                os.write(self.fd, b"%d\n" % self.pending)
            self.pending = 0


@contextmanager
def progress_reported_to(report: Callable[[int], None]) -> Iterator[None]:
    """Within the block, the outermost progress bar hands its advances to ``report`` instead
    of drawing (an executor's task: the client shows the run's one bar)."""
    token = _reporting.set(report)
    try:
        yield
    finally:
        _reporting.reset(token)


_active: list[Progress] = []  # the display a nested bar joins (rich allows one live display)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[_Bar]:
    """A rich progress bar on stderr when it is a terminal (or SYNTHKIT_PROGRESS=1). A bar
    opened while another is showing (a sink's own stage, such as a drain after the rows)
    becomes a line of its own under it."""
    report = _reporting.get() or _FdReport.from_environment()
    if report is not None:
        # a nested bar (a sink's drain) is not the rows again
        token = _reporting.set(_ignore)
        try:
            yield _Bar(None, None, None if report is _ignore else report)
        finally:
            _reporting.reset(token)
            if isinstance(report, _FdReport):
                report.flush()
        return
    console = stderr()
    wanted = os.environ.get("SYNTHKIT_PROGRESS")
    show = console.is_terminal if wanted is None else wanted == "1"
    if not show:
        yield _Bar(None, None)
        return
    if _active:
        yield _Bar(_active[-1], _active[-1].add_task(description, total=total))
        return
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        _active.append(progress)
        try:
            yield _Bar(progress, progress.add_task(description, total=total))
        finally:
            _active.pop()
