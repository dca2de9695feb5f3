r"""The one escaping path from an answer into generated code: the `literal` Jinja filter.

`{{ cookiecutter.project_name | literal }}` renders a double-quoted string that is the same value in Python,
TOML (a basic string) and YAML (a double-quoted scalar): JSON's escapes are a subset of all three. Characters
stay readable (no \uXXXX for non-ASCII); the pre-gen hook refuses the unprintable ones JSON would not escape.
cookiecutter loads this through `_extensions` in cookiecutter.json, with the template folder on sys.path.
"""

from __future__ import annotations

import json

from jinja2 import Environment
from jinja2.ext import Extension


def literal(value: object) -> str:
    """A double-quoted literal of str(value), valid in Python, TOML and YAML."""
    return json.dumps(str(value), ensure_ascii=False)


class LiteralsExtension(Extension):
    """Adds the `literal` filter."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["literal"] = literal
