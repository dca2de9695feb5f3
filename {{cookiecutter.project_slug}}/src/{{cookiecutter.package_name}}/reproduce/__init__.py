"""Rebuild a registered version from its lineage and judge whether it is the same model (`make reproduce`)."""

from ..errors import ProjectError


class ReproduceError(ProjectError, RuntimeError):
    """The version cannot be judged: its lineage, commit or data is missing or untrustworthy (exit 2)."""
