"""Tests for the vulnerability ignore list that `make audit` reads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from {{ cookiecutter.package_name }}.audit import IGNORE_FILE, AuditError, Ignore, load_ignores
from {{ cookiecutter.package_name }}.cli import cli

TODAY = date(2026, 3, 1)
ENTRY = '[[ignore]]\nid = "GHSA-1111-2222-3333"\nreason = "the affected option is never used"\n'


def write(tmp_path: Path, text: str) -> Path:
    """An ignore list holding `text`."""
    path = tmp_path / IGNORE_FILE
    path.write_text(text)
    return path


def test_entries_in_date_are_ignored(tmp_path: Path) -> None:
    """A complete entry that has not expired is returned; expiring today still counts."""
    path = write(tmp_path, ENTRY + "expires = 2026-03-01\n")
    assert load_ignores(path, TODAY) == [
        Ignore("GHSA-1111-2222-3333", "the affected option is never used", date(2026, 3, 1))
    ]


def test_no_file_or_only_comments_ignore_nothing(tmp_path: Path) -> None:
    """A missing list or the shipped one (comments only) passes over nothing."""
    assert load_ignores(tmp_path / IGNORE_FILE, TODAY) == []
    assert load_ignores(write(tmp_path, "# [[ignore]]\n# id = 'x'\n"), TODAY) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY + "expires = 2026-02-28\n", r"GHSA-1111-2222-3333 expired on 2026-02-28: upgrade"),
        ('[[ignore]]\nid = "PYSEC-1"\nexpires = 2027-01-01\n', r"PYSEC-1 has no reason"),
        (
            '[[ignore]]\nid = "PYSEC-1"\nreason = " "\nexpires = 2027-01-01\n',
            r"PYSEC-1 has no reason",
        ),
        (ENTRY, r"GHSA-1111-2222-3333 has no expires date"),
        (ENTRY + 'expires = "soon"\n', r"GHSA-1111-2222-3333 has no expires date"),
        ('[[ignore]]\nreason = "x"\nexpires = 2027-01-01\n', r"entry 1 has no id"),
        ("ignore = 3\n", r"`ignore` must be a list"),
        ("[[ignore]\n", r"cannot be read as TOML"),
    ],
)
def test_a_bad_entry_fails_naming_it(tmp_path: Path, text: str, message: str) -> None:
    """An expired, reason-less, undated or unnamed entry fails with one line naming the file and entry."""
    with pytest.raises(AuditError, match=rf"^\{IGNORE_FILE}: .*{message}") as caught:
        load_ignores(write(tmp_path, text), TODAY)
    assert "\n" not in str(caught.value)


def test_the_command_prints_the_ids_or_one_error_line(project_dir: Path) -> None:
    """`audit-ignores` prints one id a line for pip-audit, or exits 1 with the entry's problem."""
    write(project_dir, ENTRY + "expires = 2999-12-31\n")
    result = CliRunner().invoke(cli, ["audit-ignores"])
    assert (result.exit_code, result.output) == (0, "GHSA-1111-2222-3333\n")
    write(project_dir, ENTRY + "expires = 2000-01-01\n")
    result = CliRunner().invoke(cli, ["audit-ignores"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {IGNORE_FILE}: GHSA-1111-2222-3333 expired on 2000-01-01: upgrade the package, "
        "or renew the entry with a new reason and expires date"
    ]


def test_the_project_ships_a_valid_ignore_list() -> None:
    """The committed list parses, and every entry in it is complete and in date."""
    root = Path(__file__).resolve().parents[1]
    assert (root / IGNORE_FILE).exists()
    load_ignores(root / IGNORE_FILE, date.today())
