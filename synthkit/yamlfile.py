"""YAML files read with strictyaml's rules at libyaml's speed, keeping the line of every value
so that errors found later (by pydantic, or by cross-reference checks) can name the file,
line and field.

The rules are strictyaml's: no implicit typing (every scalar comes back as text and pydantic
converts it), no tags, no anchors or aliases, no duplicate keys, no complex keys, one
document. Flow style (``[0.6, 0.5, ...]``) is allowed, because the seed's own scenario
examples use it for the 24-value lists.

strictyaml itself copies the document once per node, so a scenario that lists 10,000 devices
one by one took minutes (time grows with the square of the file). Here libyaml's C parser
emits events and one pass over them builds the data: linear in the file, with documented
limits (:data:`MAX_BYTES`, :data:`MAX_DEPTH`) that refuse a hostile file at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthkit.errors import ConfigError

MAX_BYTES = 256 * 1024 * 1024  # about 1.5 million devices listed one by one
MAX_DEPTH = 64  # a scenario nests 5 levels deep; a 300-deep file is an attack or an accident

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it

Loc = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """The plain data of a YAML file and the line (1-based) where each value starts."""

    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing value that has one."""
        for cut in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:cut]))
            if line is not None:
                return line
        return None

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line is not None else self.path


def format_loc(loc: Loc) -> str:
    """``("devices", 3, "dynamics", "demand")`` -> ``devices[3].dynamics.demand``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def load_yaml(path: str | os.PathLike[str]) -> YamlDocument:
    """Parse ``path``; a missing file, bad YAML or a broken rule raises :class:`ConfigError`
    naming the line."""
    shown = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise ConfigError(
                f"{shown}: {size / 2**20:.0f} MiB is over the {MAX_BYTES // 2**20} MiB limit for a YAML file",
                hint="describe large fleets with device groups (count + id_pattern), or split the file",
            )
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such file", hint="check the --scenario path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from None
    if not text.strip():
        raise ConfigError(f"{shown}: the file is empty", hint="see scenarios/ for templates")
    doc = YamlDocument(shown, None)
    try:
        doc.data = _build(yaml.parse(text, Loader=_Loader), shown, doc.lines)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_describe_yaml_error(shown, exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown}: invalid YAML: {' '.join(str(exc).split())}") from None
    return doc


def _refuse(path: str, event: Any, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{path}:{event.start_mark.line + 1}: invalid YAML: {problem} ({fix})")


def _build(events: Any, path: str, lines: dict[Loc, int]) -> Any:
    """Plain data (dicts, lists, text or None) from a parser's events, in one pass, with the
    line of every value (of its key, for a mapping's values, as errors are best shown)."""
    stack: list[
        tuple[Any, Loc, list[Any]]
    ] = []  # (container, its loc, [the key awaiting its value])
    root: Any = None
    documents = 0
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _refuse(path, event, "a second document (---)", "keep one document per file")
            continue
        if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
            continue
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refuse(path, event, "anchors and aliases are refused", "write the value out")
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            done, _, _ = stack.pop()
            root = _place(stack, done, root)
            continue
        if getattr(event, "tag", None) is not None:
            raise _refuse(path, event, f"the tag {event.tag}", "remove the !tag; tags are refused")
        line = event.start_mark.line + 1
        if stack and isinstance(stack[-1][0], dict) and stack[-1][2][0] is None:  # a key
            if not isinstance(event, yaml.ScalarEvent):
                raise _refuse(
                    path, event, "a mapping or list used as a key", "keys are plain names"
                )
            key = event.value
            if key in stack[-1][0]:
                raise _refuse(
                    path,
                    event,
                    f'found duplicate key "{key}"',
                    "remove or rename one of the two keys",
                )
            stack[-1][2][:] = [key]
            lines[(*stack[-1][1], key)] = line
            continue
        loc = _child_loc(stack, lines, line)
        if len(stack) >= MAX_DEPTH:
            raise _refuse(
                path, event, f"nested more than {MAX_DEPTH} levels deep", "flatten the document"
            )
        if isinstance(event, yaml.ScalarEvent):
            value = (
                event.value if event.value != "" else None
            )  # `key:` with nothing after it: not set
            root = _place(stack, value, root)
        elif isinstance(event, yaml.MappingStartEvent):
            stack.append(({}, loc, [None]))
        elif isinstance(event, yaml.SequenceStartEvent):
            stack.append(([], loc, [None]))
    return root


def _child_loc(stack: list[tuple[Any, Loc, list[Any]]], lines: dict[Loc, int], line: int) -> Loc:
    """The location of the value about to start (recording its line for list items)."""
    if not stack:
        lines[()] = 1
        return ()
    container, loc, pending = stack[-1]
    if isinstance(container, dict):
        return (*loc, pending[0])
    child = (*loc, len(container))
    lines[child] = line
    return child


def _place(stack: list[tuple[Any, Loc, list[Any]]], value: Any, root: Any) -> Any:
    """Put a finished value into its parent; returns the document root."""
    if not stack:
        return value
    container, _, pending = stack[-1]
    if isinstance(container, dict):
        container[pending[0]] = value
        pending[0] = None
    else:
        container.append(value)
    return root


def _describe_yaml_error(path: str, exc: Exception) -> str:
    """A parser's multi-line report folded into one line that starts with file:line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    problem = " ".join(str(problem).split())
    fixes = {
        "duplicate key": "remove or rename one of the two keys",
        "tag": "remove the !tag; strictyaml refuses explicit tags",
        "anchor": "write the value out; anchors and aliases are refused",
        "alias": "write the value out; anchors and aliases are refused",
    }
    hint = next((fix for word, fix in fixes.items() if word in problem.lower()), "")
    return f"{path}{line}: invalid YAML: {problem}" + (f" ({hint})" if hint else "")
