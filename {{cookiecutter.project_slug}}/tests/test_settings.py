"""Tests for the settings object."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.settings import (
    Settings,
    SettingsError,
    load_settings,
    mask_credentials,
    shown,
)


def test_paths_resolve_from_the_project_root(project_dir: Path) -> None:
    """Relative paths land in the project even when run from a subfolder."""
    nested = project_dir / "src"
    nested.mkdir()
    settings = Settings(_env_file=None, project_root=project_dir)
    assert settings.log_dir == project_dir.resolve() / "logs"
    assert settings.resolved_tracking_uri == f"sqlite:///{project_dir.resolve()}/.mlflow/mlflow.db"
    assert settings.artifacts_dir == project_dir.resolve() / ".mlflow" / "artifacts"


def test_env_file_and_environment(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's .env is read from the root, and environment variables win over it."""
    (project_dir / ".env").write_text(
        f"{ENV_PREFIX}LOG_LEVEL=DEBUG\n{ENV_PREFIX}MODEL_NAME=from-env-file\n"
    )
    monkeypatch.setenv(f"{ENV_PREFIX}MODEL_NAME", "from-environment")
    monkeypatch.chdir(project_dir / "..")
    monkeypatch.setenv(f"{ENV_PREFIX}PROJECT_ROOT", str(project_dir))
    settings = load_settings()
    assert (settings.log_level, settings.model_name) == ("DEBUG", "from-environment")


def test_bad_value_names_the_variable(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid value fails with the variable's name and the accepted values."""
    monkeypatch.setenv(f"{ENV_PREFIX}LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError, match=rf"\s{ENV_PREFIX}LOG_LEVEL='LOUD'.*'DEBUG'"):
        load_settings()


def test_unknown_key_in_env_file_is_named(project_dir: Path) -> None:
    """A typo in .env is reported, not silently ignored."""
    (project_dir / ".env").write_text(f"{ENV_PREFIX}LOG_LEVLE=DEBUG\n")
    with pytest.raises(SettingsError, match=rf"unknown setting {ENV_PREFIX}LOG_LEVLE \(settings: "):
        load_settings()


def test_settings_are_frozen(settings: Settings) -> None:
    """Nobody changes the settings after the entry point built them."""
    with pytest.raises(ValidationError):
        settings.log_level = "DEBUG"  # type: ignore[misc]


def test_env_example_documents_every_setting() -> None:
    """.env.example names every setting, so the documentation cannot drift from the code."""
    example = (Path(__file__).parents[1] / ".env.example").read_text()
    missing = [
        name for name in Settings.model_fields if f"{ENV_PREFIX}{name.upper()}=" not in example
    ]
    assert not missing, f".env.example lacks {missing}"


def test_foreign_env_keys_are_left_to_their_tools(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys of other tools in .env are no error; MLflow's own reach MLflow through the environment."""
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "restored-after-the-test")
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    (project_dir / ".env").write_text(
        "MLFLOW_TRACKING_USERNAME=ana\nAWS_REGION=eu-west-1\n" f"{ENV_PREFIX}LOG_LEVEL=DEBUG\n"
    )
    settings = load_settings()
    assert settings.log_level == "DEBUG"
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "ana"


def test_errors_never_show_secrets(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad URI with a password, and `info`, show the password masked."""
    uri = "postgresql://ana:hunter2@db.internal/mlflow"
    monkeypatch.setenv(f"{ENV_PREFIX}TRACKING_URI", uri)
    monkeypatch.setenv(f"{ENV_PREFIX}SERVE_PORT", "not-a-port")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)
    assert shown("MLFLOW_TRACKING_PASSWORD", "hunter2") == "'***'"
    assert mask_credentials(uri) == "postgresql://ana:***@db.internal/mlflow"
    monkeypatch.delenv(f"{ENV_PREFIX}SERVE_PORT")
    assert load_settings().safe_tracking_uri == "postgresql://ana:***@db.internal/mlflow"


def test_unreadable_env_file_is_one_line(project_dir: Path) -> None:
    """A .env that is not UTF-8 names the file and the fix."""
    (project_dir / ".env").write_bytes(b"\xff\xfeLOG\x00\n")
    with pytest.raises(SettingsError, match=r"\.env: not UTF-8 text"):
        load_settings()


def test_a_project_root_that_does_not_exist_is_refused(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PROJECT_ROOT pointing nowhere is an error naming the variable."""
    monkeypatch.setenv(f"{ENV_PREFIX}PROJECT_ROOT", str(project_dir / "missing"))
    with pytest.raises(SettingsError, match=rf"{ENV_PREFIX}PROJECT_ROOT=.*is not a folder"):
        load_settings()


def test_dvc_experiments_keep_the_store_at_home(
    project_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a DVC experiment's temporary copy, data stays in the copy; the store and logs stay home."""
    copy = tmp_path_factory.mktemp("exps") / "tmp1234"
    copy.mkdir()
    (copy / "pyproject.toml").write_text((project_dir / "pyproject.toml").read_text())
    monkeypatch.setenv("DVC_ROOT", str(project_dir))
    settings = Settings(_env_file=None, project_root=copy)
    assert settings.data_dir == copy.resolve() / "data"
    assert settings.mlflow_dir == project_dir.resolve() / ".mlflow"
    assert settings.log_dir == project_dir.resolve() / "logs"
    monkeypatch.setenv("DVC_ROOT", str(tmp_path_factory.mktemp("not-this-project")))
    assert Settings(_env_file=None, project_root=copy).mlflow_dir == copy.resolve() / ".mlflow"
