"""Edits of params.yaml that keep its comments and layout: one key's value replaced on its own line.

`make data-source` points the `data:` block at a file; `make tune-apply` writes the best trial's values into the
`model:` block. The edited text is validated before it is written, and written in one step: a file that would
not load is never left behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..files import write_atomically
from . import PipelineError
from .params import Params, parse_params
from .strict_yaml import load_yaml

KEY_LINE = re.compile(r"^(?P<indent>\s+)(?P<key>[\w.-]+):[^#\n]*?(?P<comment>\s*#.*)?$")


def set_values(path: Path, block: str, values: Mapping[str, Any]) -> Params:
    """Set keys of one top-level block (`model:`, `data:`) in the params file, one line each; return the params.

    Every key must already have its line in the block: a missing one is refused, naming it.
    """
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    inside, found = False, set()
    for number, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            inside = line.startswith(f"{block}:")
            continue
        match = KEY_LINE.match(line.rstrip("\n"))
        if inside and match and match["key"] in values and match["key"] not in found:
            key = match["key"]
            lines[number] = (
                f"{match['indent']}{key}: {json.dumps(values[key])}{match['comment'] or ''}\n"
            )
            found.add(key)
    missing = sorted(set(values) - found)
    if missing:
        keys = ", ".join(f"{block}.{key}" for key in missing)
        raise PipelineError(f"{path}: no line for {keys} to set (restore the {block}: block)")
    text = "".join(lines)
    params = parse_params(load_yaml(text, str(path)), str(path))
    write_atomically(path, text)
    return params


def point_data_at(path: Path, source: str, target: str) -> Params:
    """Set `data.source` and `data.target` in the params file, keeping its comments and layout."""
    return set_values(path, "data", {"source": source, "target": target})
