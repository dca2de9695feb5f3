"""Where things are: one frozen, validated settings object built from env vars and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from {{ cookiecutter.package_name }}.project import ENV_PREFIX, find_project_root

LogLevel = Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(ValueError):
    """The settings are invalid; the message names every bad key and what it accepts."""


def _default_root() -> Path:
    return find_project_root() or Path.cwd()


class Settings(BaseSettings):
    """Paths, logging and tracking locations; params.yaml holds what the experiment is."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        frozen=True,
        extra="forbid",
        validate_default=True,
    )

    project_root: Path = Field(default_factory=_default_root, description="Project folder.")
    params_file: Path = Field(Path("params.yaml"), description="Experiment parameters.")
    log_level: LogLevel = Field("INFO", description="Console log level.")
    log_dir: Path = Field(Path("logs"), description="Log files (rotated).")
    data_dir: Path = Field(Path("data"), description="Pipeline data (DVC outputs).")
    models_dir: Path = Field(Path("models"), description="Trained models (DVC outputs).")
    mlflow_dir: Path = Field(Path(".mlflow"), description="Embedded MLflow store.")
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; empty = sqlite in mlflow_dir."
    )
    experiment_name: str = Field("{{ cookiecutter.project_name }}", min_length=1)
    model_name: str = Field("{{ cookiecutter.project_slug }}", min_length=1)
    serve_host: str = Field("127.0.0.1", description="Model server address.")
    serve_port: int = Field(8080, ge=1, le=65535)
    serve_workers: int = Field(1, ge=1, le=64)
    serve_threads: int = Field(1, ge=1, le=64, description="Math threads per server worker.")
    serve_alias: str = Field("champion", min_length=1, description="Registry alias to serve.")
    serve_max_rows: int = Field(10_000, ge=1, description="Rows per request at most.")
    serve_max_body_bytes: int = Field(5_000_000, ge=1_000, description="Request body size limit.")

    @field_validator("project_root")
    @classmethod
    def _absolute_root(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("params_file", "log_dir", "data_dir", "models_dir", "mlflow_dir")
    @classmethod
    def _under_root(cls, value: Path, info: ValidationInfo) -> Path:
        # Relative paths mean "in the project", whatever the current directory is.
        root: Path = info.data.get("project_root", Path.cwd())
        return (root / value.expanduser()).resolve()

    @property
    def resolved_tracking_uri(self) -> str:
        """The tracking URI in force: the setting, or the embedded sqlite store."""
        return self.tracking_uri or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def artifacts_dir(self) -> Path:
        """Where the embedded store keeps run artifacts."""
        return self.mlflow_dir / "artifacts"


def describe_errors(error: ValidationError) -> str:
    """Turn a pydantic error into one line per key, named as the user sets it."""
    lines = ["invalid settings (environment variables or .env):"]
    for problem in error.errors():
        key = "__".join(str(part) for part in problem["loc"]).upper()
        # Extra keys from .env come back already prefixed; fields come back bare.
        key = key if key.startswith(ENV_PREFIX) else ENV_PREFIX + key
        lines.append(f"  {key}={problem['input']!r}: {problem['msg']}")
    return "\n".join(lines)


def load_settings() -> Settings:
    """Build the settings from the environment and the project's `.env`; raise SettingsError."""
    root = find_project_root() or Path.cwd()
    try:
        return Settings(_env_file=root / ".env")
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from None
