"""YAML files read with strictyaml, keeping the line of every value so that errors found
later (by pydantic, or by cross-reference checks) can name the file, line and field.

strictyaml refuses the ambiguous parts of YAML (implicit typing, anchors, tags, duplicate
keys); every scalar comes back as a string and pydantic converts it. Flow style
(``[0.6, 0.5, ...]``) is allowed, because the seed's own scenario examples use it for the
24-value lists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import strictyaml
from strictyaml.ruamel.comments import CommentedMap, CommentedSeq
from strictyaml.ruamel.error import MarkedYAMLError

from synthkit.errors import ConfigError

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
    """Parse ``path``; a missing file or bad YAML raises :class:`ConfigError` naming the line."""
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such file", hint="check the --scenario path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from None
    if not text.strip():
        raise ConfigError(f"{shown}: the file is empty", hint="see scenarios/ for templates")
    try:
        parsed = strictyaml.dirty_load(text, allow_flow_style=True, label=shown)
    except (strictyaml.YAMLError, MarkedYAMLError) as exc:
        raise ConfigError(_describe_yaml_error(shown, exc)) from None
    doc = YamlDocument(shown, None)
    doc.data = _walk(parsed.as_marked_up(), (), 1, doc.lines)
    return doc


def _walk(node: Any, loc: Loc, line: int, lines: dict[Loc, int]) -> Any:
    """Plain data from ruamel's marked-up tree; its ``.lc`` positions are exact (strictyaml's
    own ``start_line`` is off by one for some scalars and for flow-style items)."""
    lines[loc] = line
    if isinstance(node, CommentedMap):
        return {
            str(key): _walk(value, (*loc, str(key)), node.lc.key(key)[0] + 1, lines)
            for key, value in node.items()
        }
    if isinstance(node, CommentedSeq):
        return [_walk(item, (*loc, i), node.lc.item(i)[0] + 1, lines) for i, item in enumerate(node)]
    text = str(node)  # every scalar is text: pydantic converts it to the field's type
    return text if text != "" else None  # `key:` with nothing after it means "not set"


def _describe_yaml_error(path: str, exc: Exception) -> str:
    """strictyaml's multi-line report folded into one line that starts with file:line."""
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
