"""``synthkit plugins``: what is installed, what each plugin registers, every sink with its
options and claims (and the claims two sinks make), and what failed to load."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from synthkit.console import emit_json, table
from synthkit.context import plugins_of
from synthkit.plugins import Plugins


def plugins_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
) -> None:
    """List installed plugins: distribution, version and what each registers."""
    plugins = plugins_of(ctx)
    infos = plugins.plugin_infos()
    sinks = _sink_rows(plugins)
    if as_json:
        emit_json(
            {
                "command": "plugins",
                "plugins": [
                    {
                        "name": i.name,
                        "distribution": i.distribution,
                        "version": i.version,
                        "module": i.module,
                        "registers": i.registers,
                    }
                    for i in infos
                ],
                "sinks": sinks,
                "contested": plugins.contested(),
                "failed": [f.__dict__ for f in plugins.failures],
            }
        )
        return
    out = table(
        "synthkit plugins", ("plugin", "distribution", "version", "registers"), prose=("registers",)
    )
    for i in infos:
        regs = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in i.registers.items())
        out.add_row(i.name, i.distribution, i.version, regs or "-")
    Console().print(out)
    out = table(
        "sinks (--sink NAME --sink-option KEY=VALUE)",
        ("sink", "kind", "claims", "options"),
        prose=("claims", "options"),
    )
    for row in sinks:
        out.add_row(
            row["name"],
            row["kind"],
            " ".join(
                [
                    *row["extensions"],
                    *(f"{x}://" for x in row["schemes"]),
                    *([f"(default store: {row['default_store']})"] if row["default_store"] else []),
                ]
            )
            or "-",
            row["options"],
        )
    contested = plugins.contested()
    if contested:
        out.caption = "\n".join(contested)
    Console().print(out)


def _sink_rows(plugins: Plugins) -> list[dict[str, Any]]:
    from synthkit.contracts import SinkOptions
    from synthkit.sink_build import describe_options

    return [
        {
            "name": spec.name,
            "kind": spec.kind,
            "extensions": list(spec.extensions),
            "schemes": list(spec.schemes),
            "capabilities": list(spec.capabilities),
            "default_store": spec.default_url,
            "options": describe_options(spec.options or SinkOptions),
        }
        for spec in sorted(plugins.sinks().values(), key=lambda x: x.name)
    ]
