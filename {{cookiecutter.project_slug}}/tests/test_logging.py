"""Tests for the logging set-up."""

from __future__ import annotations

import logging

import pytest
from loguru import logger

from {{ cookiecutter.package_name }}.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings


def test_writes_all_to_the_log_file_and_errors_apart(settings: Settings) -> None:
    """Everything goes to the main file; only errors go to errors.log."""
    configure_logging(settings)
    logger.debug("a detail")
    logger.error("a failure")
    logger.complete()
    main_log = (settings.log_dir / "{{ cookiecutter.project_slug }}.log").read_text()
    errors_log = (settings.log_dir / "errors.log").read_text()
    assert "a detail" in main_log
    assert "a failure" in main_log
    assert "a failure" in errors_log
    assert "a detail" not in errors_log


def test_stdlib_and_mlflow_records_are_intercepted(settings: Settings) -> None:
    """Records of the standard logging module, MLflow's logger included, reach loguru's sinks."""
    configure_logging(settings)
    logging.getLogger("mlflow.tracking").warning("from mlflow")
    logging.getLogger("some.library").info("from a library")
    main_log = (settings.log_dir / "{{ cookiecutter.project_slug }}.log").read_text()
    assert "from mlflow" in main_log
    assert "from a library" in main_log
    assert "test_logging" in main_log, "the caller, not logging's internals, is reported"


def test_alembic_set_up_chatter_is_dropped(settings: Settings) -> None:
    """Alembic's INFO lines on every store open are dropped; its warnings still arrive."""
    configure_logging(settings)
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("alembic.runtime.migration").warning("a real problem")
    main_log = (settings.log_dir / "{{ cookiecutter.project_slug }}.log").read_text()
    assert "Context impl" not in main_log
    assert "a real problem" in main_log


def test_console_level_follows_settings(
    project_dir: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console shows only records at or above LOG_LEVEL."""
    configure_logging(Settings(_env_file=None, log_level="WARNING"))
    logger.info("quiet")
    logger.warning("loud")
    err = capsys.readouterr().err
    assert "loud" in err
    assert "quiet" not in err
