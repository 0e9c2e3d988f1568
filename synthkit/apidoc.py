"""docs/api.md, written from the code: every name of ``synthkit.api`` with its signature and
the first line of its docstring, in two parts, the contracts a plugin implements or returns
and the toolkit it may use. ``python -m synthkit.apidoc > docs/api.md``; a test holds the
file to what this prints, so the reference cannot drift from the code."""

from __future__ import annotations

import inspect
from typing import Any

# what a plugin implements, returns or receives (records, base classes, targets, protocols)
CONTRACTS = frozenset(
    (
        "hookimpl",
        *("Archetype", "Command", "DeviceModel", "EventContext", "EventType", "Family"),
        *("FieldSpec", "Finding", "PreflightCheck", "SinkReport", "SinkSpec", "SourceSpec"),
        "TransformSpec",
        *("Sink", "FileSink", "StreamSink", "IngestSink", "BrokerSink", "SinkOptions"),
        *("FileTarget", "StreamTarget", "IngestTarget", "BrokerTarget"),
        *("Transform", "Notes", "Source", "SourceTarget", "RunPlan", "Replayer"),
        *("Ledger", "Tally", "Island", "RunRecord", "StreamRange"),
        *("Fleet", "FleetDevice", "TickRun", "PreflightReport", "Declared", "Resolved"),
        *("BrokerBlock", "BrokerRequest", "Endpoint"),
        *("SynthkitError", "ConfigError", "PluginError", "PreflightError", "OutputError"),
        *("IncompleteRun", "DeliveryStopped"),
    )
)


def _signature(name: str, value: Any) -> str:
    if inspect.ismodule(value):
        public = sorted(
            n
            for n, v in vars(value).items()
            if not n.startswith("_")
            and callable(v)
            and getattr(v, "__module__", "") == value.__name__
        )
        return f"module {name}: {', '.join(public)}"
    if hasattr(value, "__metadata__"):  # a shared flag: Annotated[type, typer.Option(...)]
        option = value.__metadata__[0]
        # with Annotated, typer takes the flag as the option's first argument
        flag = " ".join(x for x in (option.default, getattr(option, "metavar", None)) if x)
        return f"{name}: {value.__origin__}, the option {flag}"
    if inspect.isclass(value) or callable(value) and not hasattr(value, "__metadata__"):
        try:
            shown = str(inspect.signature(value))
        except (TypeError, ValueError):
            shown = "(...)"
        return f"{'class ' if inspect.isclass(value) else ''}{name}{shown}"
    return f"{name} = {value!r}"


def _summary(value: Any) -> str:
    if hasattr(value, "__metadata__"):
        return " ".join((getattr(value.__metadata__[0], "help", "") or "").split())
    if inspect.ismodule(value) or inspect.isclass(value) or inspect.isfunction(value):
        doc = inspect.getdoc(value) or ""
        return " ".join(doc.split("\n\n")[0].split())
    return ""


def render() -> str:
    from synthkit import api

    parts = [
        "# `synthkit.api` reference",
        "",
        "Written from the code by `python -m synthkit.apidoc` (a test holds this file to it);",
        "[plugins.md](plugins.md) says how the pieces fit. Import everything from",
        "`synthkit.api` (and `hookimpl` from `synthkit`), never from a module under it.",
    ]
    for title, names in (
        ("Contracts: what a plugin implements, returns or is handed", sorted(CONTRACTS)),
        ("Toolkit: what a plugin may use", sorted(set(api.__all__) - CONTRACTS)),
    ):
        parts += ["", f"## {title}", ""]
        for name in names:
            value = getattr(api, name)
            summary = _summary(value)
            parts.append(f"- `{_signature(name, value)}`" + (f": {summary}" if summary else ""))
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render(), end="")
