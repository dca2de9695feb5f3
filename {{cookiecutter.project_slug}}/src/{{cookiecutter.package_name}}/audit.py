"""The vulnerability ignore list: which known vulnerabilities `make audit` passes over, why, and until when.

Every entry names a vulnerability (`id`, as pip-audit prints it), says why it does not affect this project
(`reason`) and when to look again (`expires`). An expired entry fails the audit instead of hiding a vulnerability
forever: upgrade the package, or renew the entry with a new reason and date.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .errors import ProjectError

IGNORE_FILE = ".pip-audit-ignore.toml"


class AuditError(ProjectError):
    """The ignore list is unreadable, incomplete or out of date; the message names the file and the entry."""


@dataclass(frozen=True)
class Ignore:
    """One known vulnerability the audit passes over, with its reason and expiry date."""

    id: str
    reason: str
    expires: date


def load_ignores(path: Path, today: date) -> list[Ignore]:
    """The entries of the ignore list at `path` (none if it does not exist); AuditError names a bad one."""
    if not path.exists():
        return []
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise AuditError(f"{path.name}: cannot be read as TOML ({error})") from None
    entries = document.get("ignore", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise AuditError(f"{path.name}: `ignore` must be a list of [[ignore]] tables")
    ignores = [_entry(path.name, number, entry) for number, entry in enumerate(entries, start=1)]
    for ignore in ignores:
        if ignore.expires < today:
            raise AuditError(
                f"{path.name}: {ignore.id} expired on {ignore.expires.isoformat()}: upgrade the package, "
                "or renew the entry with a new reason and expires date"
            )
    return ignores


def _entry(file: str, number: int, entry: dict[str, object]) -> Ignore:
    """One [[ignore]] table as an Ignore; AuditError names the entry and the field it lacks."""
    vulnerability = entry.get("id")
    if not isinstance(vulnerability, str) or not vulnerability.strip():
        raise AuditError(f'{file}: entry {number} has no id (e.g. id = "GHSA-xxxx-xxxx-xxxx")')
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise AuditError(
            f"{file}: {vulnerability} has no reason: say why it does not affect this project"
        )
    expires = entry.get("expires")
    if not isinstance(expires, date):
        raise AuditError(
            f"{file}: {vulnerability} has no expires date (a TOML date, e.g. expires = 2026-06-30)"
        )
    return Ignore(vulnerability.strip(), reason.strip(), expires)
