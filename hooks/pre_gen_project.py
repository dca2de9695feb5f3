"""Validate the answers before anything is rendered; exit 1 with one line per bad answer."""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable
from urllib.parse import urlparse

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# PEP 440 canonical form (packaging is not guaranteed to be importable from a hook).
VERSION = re.compile(
    r"^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*"
    r"((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?$"
)
# The Pythons a bake is tested on, oldest first: the choices of cookiecutter.json (a test keeps them equal).
PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
# Modules a package name must not shadow: the project imports these or its tools expect them.
KEY_MODULES = frozenset(
    {
        "black", "click", "conftest", "dvc", "fastapi", "loguru", "mlflow", "mypy", "numpy",
        "pandas", "pydantic", "pydantic_settings", "pytest", "ruff", "scipy", "sklearn",
        "src", "starlette", "test", "tests", "uvicorn", "yaml",
    }
)  # fmt: skip


def _slugify(value: str) -> str:
    words = re.findall(r"[a-z0-9]+", value.lower())
    slug = "-".join(words) or "my-project"
    return slug if slug[0].isalpha() else f"project-{slug}"


def check_slug(value: str) -> str | None:
    """None for a valid project slug, else the rule it breaks with a suggested fix."""
    if SLUG.match(value):
        return None
    return (
        "lowercase letters, digits and single hyphens, starting with a letter"
        f" (e.g. '{_slugify(value)}')"
    )


def check_package(value: str) -> str | None:
    """None for an importable package name that shadows nothing, else the rule it breaks."""
    if not PACKAGE.match(value) or not value.isidentifier():
        fixed = _slugify(value).replace("-", "_")
        return f"a lowercase Python identifier: letters, digits, underscores (e.g. '{fixed}')"
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"a Python keyword cannot be imported (e.g. '{value}_model')"
    if value in sys.stdlib_module_names or value in KEY_MODULES:
        return f"it would shadow the '{value}' module (e.g. '{value}_model')"
    return None


def check_email(value: str) -> str | None:
    """None for an email address, else the rule it breaks."""
    return None if EMAIL.match(value) else "an email address (e.g. 'jane.doe@example.com')"


def check_version(value: str) -> str | None:
    """None for a canonical PEP 440 version, else the rule it breaks."""
    return None if VERSION.match(value) else "a canonical PEP 440 version (e.g. '0.1.0')"


def check_index_url(value: str) -> str | None:
    """None for empty (PyPI) or a plain http(s) index URL, else the rule it breaks."""
    if not value:
        return None
    url = urlparse(value)
    # Quotes, backslashes and spaces are never part of an index URL; refusing them keeps it plain data.
    unsafe = any(c.isspace() or c in "\"'`\\<>{}" for c in value) or not value.isprintable()
    if url.scheme in ("http", "https") and url.netloc and not unsafe:
        return None
    return "empty (PyPI) or an http(s) URL of a PEP 503 simple index (e.g. 'https://host/simple')"


def check_one_line(value: str) -> str | None:
    """None for one non-empty line of printable text, else the rule it breaks."""
    # Any printable text is safe: it reaches code only through the `literal` filter. Control characters
    # (newlines, tabs, DEL, line separators) have no place in a name and would break TOML and YAML.
    if value.strip() and value.isprintable() and len(value) <= 200:
        return None
    return "one non-empty line of printable text, at most 200 characters (e.g. 'Jane Doe')"


def check_python_version(value: str) -> str | None:
    """None for a Python the project is tested on, else the versions it may be.

    Cookiecutter refuses other choices itself, but a replayed or edited answer file reaches the hook unchecked.
    """
    if value in PYTHON_VERSIONS:
        return None
    return f"one of {', '.join(PYTHON_VERSIONS)} (e.g. '{PYTHON_VERSIONS[0]}')"


def check_github_owner(value: str) -> str | None:
    """None for a valid GitHub user or organisation name, else the rule it breaks."""
    if GITHUB_OWNER.match(value):
        return None
    return f"a GitHub user or organisation name (e.g. '{_slugify(value)}')"


CHECKS: dict[str, Callable[[str], str | None]] = {
    "project_name": check_one_line,
    "project_slug": check_slug,
    "package_name": check_package,
    "description": check_one_line,
    "author_name": check_one_line,
    "author_email": check_email,
    "github_owner": check_github_owner,
    "version": check_version,
    "python_version": check_python_version,
    "package_index_url": check_index_url,
}


def problems(answers: dict[str, object]) -> list[str]:
    """Return one message per invalid answer, in prompt order."""
    found = []
    for field, check in CHECKS.items():
        value = str(answers.get(field, ""))
        rule = check(value)
        if rule:
            found.append(f"{field}: '{value}' is not valid: {rule}")
    return found


def main() -> int:
    """Print one line per invalid answer to stderr; return 1 if there was any, else 0."""
    # The only Jinja in this file, read only when cookiecutter runs the rendered hook: the answers as JSON.
    # Everything above is plain Python that the template's tests import.
    answers = json.loads(r"""{{ cookiecutter | jsonify }}""")
    found = problems(answers)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
