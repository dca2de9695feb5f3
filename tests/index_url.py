"""The package index the baked projects' Poetry should resolve through, derived at run time.

Uses $PIP_INDEX_URL when set, else pip's own default simple index; never a hard-coded host.
"""

from __future__ import annotations

import os


def package_index_url() -> str:
    """Return the PEP 503 simple index URL pip uses here."""
    from pip._internal.models.index import PyPI  # pip's default; no public API exposes it

    return os.environ.get("PIP_INDEX_URL") or PyPI.simple_url


if __name__ == "__main__":
    print(package_index_url())
