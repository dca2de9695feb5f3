"""Logging: loguru configured once at the entry point; stdlib logging (MLflow's too) routed into it."""

from __future__ import annotations

import logging
import os
import sys
from types import FrameType

from loguru import logger

from .names import DISTRIBUTION
from .settings import Settings

CONSOLE_FORMAT = (
    "<green>{time:HH:mm:ss}</green> <level>{level: <8}</level> "
    "<cyan>{name}</cyan> - <level>{message}</level>"
)
FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {process} | {name}:{function}:{line} - {message}"


class InterceptHandler(logging.Handler):
    """Forward stdlib log records to loguru, keeping their level and caller."""

    def emit(self, record: logging.LogRecord) -> None:
        """Re-emit one stdlib record through loguru."""
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        # Skip logging's own frames so loguru reports the code that logged.
        frame: FrameType | None = logging.currentframe()
        depth = 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame, depth = frame.f_back, depth + 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(settings: Settings) -> None:
    """Send logs to the console, a rotating file and an errors-only file; safe to call again."""
    logger.remove()
    logger.add(sys.stderr, level=settings.log_level, format=CONSOLE_FORMAT)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    for filename, level in ((f"{DISTRIBUTION}.log", "DEBUG"), ("errors.log", "ERROR")):
        logger.add(
            settings.log_dir / filename,
            level=level,
            format=FILE_FORMAT,
            rotation="10 MB",
            retention=5,
            encoding="utf-8",
        )
    # MLflow otherwise attaches its own handler to the "mlflow" logger and stops propagation, and draws
    # progress bars that fill logs with carriage returns (set the variable to "true" to have them back).
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    # MLflow, when it configures logging itself (it may have, if imported first), takes over these loggers.
    for name in ("mlflow", "dvc", "alembic"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Alembic reports its set-up at INFO each time MLflow opens a sqlite store, nine lines per command;
    # MLflow's own logging set-up quiets it the same way.
    logging.getLogger("alembic").setLevel(logging.WARNING)
