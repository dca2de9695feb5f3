"""Files written whole or not at all: a reader never sees half of one, a failure leaves none behind."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_writer(path: Path, newline: str | None = None) -> Iterator[IO[str]]:
    """Write text to a temporary file beside `path`; rename it over `path` only if the block succeeds.

    Folders created for it are removed again when the block fails: a failure leaves nothing behind.
    """
    created = [folder for folder in path.parents if not folder.exists()]  # innermost first
    path.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target (a rename within one file system is atomic), named for this process and call.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        with partial.open("w", encoding="utf-8", newline=newline) as output:
            yield output
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        for folder in created:
            with contextlib.suppress(OSError):  # not empty: something else wrote there meanwhile
                folder.rmdir()
        raise


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step."""
    with atomic_writer(path) as output:
        output.write(text)


def write_json_atomically(path: Path, content: Any) -> None:
    """Replace `path` with `content` as indented JSON in one step."""
    write_atomically(path, json.dumps(content, indent=2) + "\n")
