"""The one base of the errors a user can act on: the command line prints their message as one line."""

from __future__ import annotations


class ProjectError(Exception):
    """A failure the user can fix; the message names the file, field or command and what to do."""
