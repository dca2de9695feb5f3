"""Tests for files written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.files import atomic_writer, write_atomically


def test_a_file_is_replaced_in_one_step(tmp_path: Path) -> None:
    """The new text replaces the old; no temporary file stays beside it."""
    path = tmp_path / "out.txt"
    path.write_text("old")
    write_atomically(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def fail_writing(path: Path) -> None:
    """Write half of something to `path`, then fail."""
    with atomic_writer(path) as output:
        output.write("half")
        raise RuntimeError("the disk is full")


def test_a_failed_write_leaves_nothing_not_even_its_folders(tmp_path: Path) -> None:
    """A block that fails leaves the old file as it was, no partial file, and no folder it created."""
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    with pytest.raises(RuntimeError):
        fail_writing(kept)
    assert kept.read_text() == "old"
    with pytest.raises(RuntimeError):
        fail_writing(tmp_path / "new" / "sub" / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]
