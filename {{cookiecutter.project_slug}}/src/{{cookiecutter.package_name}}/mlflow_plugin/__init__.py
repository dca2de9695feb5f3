"""MLflow plugins of this project, declared as entry points in pyproject.toml.

MLflow imports these classes while `import mlflow` runs: a module here that imports anything heavy, or
anything of mlflow's beyond the one class it extends, would make MLflow drop the plugin with only a warning.
The providers import only the standard library; the artifact repository, only the MLflow class it extends.
"""

import sys


def warn(message: str) -> None:
    """Warn once through loguru (the project's logging) or, failing that, on stderr; never raise."""
    try:
        from loguru import logger

        logger.opt(depth=2).warning(message)
    except Exception:
        print(f"warning: {message}", file=sys.stderr)
