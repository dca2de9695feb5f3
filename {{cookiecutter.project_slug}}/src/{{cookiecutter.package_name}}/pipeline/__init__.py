"""The model pipeline: one module per DVC stage, pure functions plus a thin runner each."""

from ..errors import ProjectError


class PipelineError(ProjectError, RuntimeError):
    """A stage cannot run on its inputs; the message names the path, column or key at fault."""
