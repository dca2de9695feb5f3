"""`make model-card`: a registered version's model card, in the Hugging Face format, from its lineage."""

from __future__ import annotations

from ..errors import ProjectError


class CardError(ProjectError):
    """The card cannot be built (no such version, an unreadable notes file); the message says why."""
