"""MLflow plugins of this project, declared as entry points in pyproject.toml (standard library only).

MLflow imports these classes while `import mlflow` runs: a module here that imports anything heavy, or
anything that imports mlflow, would make MLflow drop the plugin with only a warning.
"""

import sys


def warn(message: str) -> None:
    """Warn once through loguru (the project's logging) or, failing that, on stderr; never raise."""
    try:
        from loguru import logger

        logger.opt(depth=2).warning(message)
    except Exception:
        print(f"warning: {message}", file=sys.stderr)
