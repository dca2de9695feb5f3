"""Where things are: one frozen, validated settings object built from env vars and `.env`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .names import DEFAULT_TRACKING_URI, DISTRIBUTION, ENV_PREFIX, PROJECT_NAME
from .project import declares_project, find_project_root

# Keys whose values never appear in a message: MLflow's credentials and anything named like a secret.
SECRET_KEY = re.compile(r"PASSWORD|TOKEN|SECRET|CREDENTIAL|API_?KEY|ACCESS_KEY", re.IGNORECASE)
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
        # Keys of other tools in .env (MLflow's credentials, say) are theirs: load_settings checks only
        # this project's prefixed keys, so a typo in one of those is still refused.
        extra="ignore",
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
        DEFAULT_TRACKING_URI, description="MLflow tracking URI; empty = sqlite in mlflow_dir."
    )
    # The team's tracking server, as `make tracking-server` runs it (only the server's machine reads these).
    tracking_server_host: str = Field("127.0.0.1", description="Tracking server address.")
    tracking_server_port: int = Field(5000, ge=1, le=65535)
    tracking_server_workers: int = Field(2, ge=1, le=64)
    tracking_server_backend_uri: str = Field(
        "postgresql+psycopg://mlflow@127.0.0.1:5432/mlflow",
        min_length=1,
        description="Runs and registry database (SQLAlchemy URI).",
    )
    tracking_server_artifacts: str = Field(
        ".mlflow/server-artifacts",
        min_length=1,
        description="Artifact storage the server proxies: a folder or an object-store URI.",
    )
    tracking_server_allowed_hosts: str | None = Field(
        None, description="Host headers the server accepts; needed when not bound to loopback."
    )
    tracking_server_auth: bool = Field(False, description="MLflow's basic-auth app.")
    tune_storage: str | None = Field(
        None,
        description="Optuna storage of `make tune`: a database URL, or a journal file (empty: see tuning).",
    )
    tune_ui_port: int = Field(8085, ge=1, le=65535, description="Port of `make tune-ui`.")
    experiment_name: str = Field(PROJECT_NAME, min_length=1)
    model_name: str = Field(DISTRIBUTION, min_length=1)
    serve_host: str = Field("127.0.0.1", description="Model server address.")
    serve_port: int = Field(8080, ge=1, le=65535)
    serve_workers: int = Field(1, ge=1, le=64)
    serve_threads: int = Field(1, ge=1, le=64, description="Math threads per server worker.")
    serve_alias: str = Field("champion", min_length=1, description="Registry alias to serve.")
    serve_max_rows: int = Field(10_000, ge=1, description="Rows per request at most.")
    serve_max_body_bytes: int = Field(5_000_000, ge=1_000, description="Request body size limit.")
    serve_request_log_rate: float = Field(
        0.1, ge=0, le=1, description="Share of requests whose rows are logged for `make monitor`."
    )
    serve_request_log_rows: int = Field(10, ge=1, description="Rows logged per sampled request.")
    serve_request_log: Literal["file", "stdout"] = Field(
        "file",
        description="Request log: files in log_dir/requests, or JSON lines on stdout (a container's).",
    )
    serve_metrics: bool = Field(True, description="Serve Prometheus metrics at /metrics.")
    serve_model_dir: Path | None = Field(
        None,
        description="Serve the model exported to this folder (an image's), not the registry's.",
    )
    monitor_log: Path | None = Field(
        None,
        description="A request log file for `make monitor` (a container's saved stdout), not log_dir's.",
    )

    @field_validator("project_root")
    @classmethod
    def _absolute_root(cls, value: Path) -> Path:
        root = value.expanduser().resolve()
        if not root.is_dir():
            raise ValueError(f"{root} is not a folder")
        return root

    @field_validator("tracking_uri", "tracking_server_allowed_hosts", "tune_storage")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        # `KEY=` in .env (or CI's environment) means "not set": for the tracking URI, the embedded store.
        return (value or "").strip() or None

    @field_validator("serve_model_dir", "monitor_log", mode="before")
    @classmethod
    def _empty_path_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("monitor_log")
    @classmethod
    def _from_here(cls, value: Path | None) -> Path | None:
        # A file named on the command line (make monitor LOG=...): relative to where make runs.
        return None if value is None else value.expanduser().resolve()

    @field_validator("params_file", "data_dir", "models_dir")
    @classmethod
    def _under_root(cls, value: Path, info: ValidationInfo) -> Path:
        # Relative paths mean "in the project", whatever the current directory is.
        root: Path = info.data.get("project_root", Path.cwd())
        return (root / value.expanduser()).resolve()

    @field_validator("log_dir", "mlflow_dir")
    @classmethod
    def _under_home(cls, value: Path, info: ValidationInfo) -> Path:
        # The store and the logs outlive a DVC experiment's temporary copy of the project: they stay home.
        root: Path = info.data.get("project_root", Path.cwd())
        return (home_of(root) / value.expanduser()).resolve()

    @property
    def resolved_tracking_uri(self) -> str:
        """The tracking URI in force: the setting, or the embedded sqlite store."""
        return self.tracking_uri or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def tracking_server(self) -> bool:
        """True when runs go to a tracking server over HTTP, not to a database this process opens."""
        return urlsplit(self.resolved_tracking_uri).scheme in ("http", "https")

    @property
    def safe_tracking_uri(self) -> str:
        """The tracking URI in force with any password masked: for messages, logs and `info`."""
        return mask_credentials(self.resolved_tracking_uri)

    @property
    def artifacts_dir(self) -> Path:
        """Where the embedded store keeps run artifacts."""
        return self.mlflow_dir / "artifacts"


def home_of(root: Path) -> Path:
    """The project a run belongs to: `root`, or inside a DVC experiment's temporary copy, the original.

    `dvc exp run --temp` and queued experiments run the stages in a copy under `.dvc/tmp/exps/`, which DVC
    deletes afterwards; DVC names the original in DVC_ROOT.
    """
    original = os.environ.get("DVC_ROOT")
    if (
        original
        and Path(original).resolve() != root
        and declares_project(Path(original) / "pyproject.toml")
    ):
        return Path(original).resolve()
    return root


def mask_credentials(uri: str) -> str:
    """The URI with the password of its user part replaced by `***`."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def shown(key: str, value: object) -> str:
    """A value as an error message may show it: never a secret's, never a URI's password."""
    if SECRET_KEY.search(key):
        return "'***'"
    return repr(mask_credentials(value) if isinstance(value, str) else value)


def describe_errors(error: ValidationError) -> str:
    """Turn a pydantic error into one line per key, named as the user sets it."""
    lines = ["invalid settings (environment variables or .env):"]
    for problem in error.errors():
        key = ENV_PREFIX + "__".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"  {key}={shown(key, problem['input'])}: {problem['msg']}")
    return "\n".join(lines)


def read_env_file(path: Path) -> dict[str, str | None]:
    """The keys and values of a `.env` file (empty when there is none); SettingsError if unreadable."""
    from dotenv import dotenv_values

    if not path.is_file():
        return {}
    try:
        return dict(dotenv_values(path, encoding="utf-8"))
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise SettingsError(f"{path}: cannot be read ({error.strerror})") from None


def load_settings() -> Settings:
    """Build the settings from the environment and the project's `.env`; raise SettingsError.

    In `.env`, a key with the project's prefix must be a setting (a typo is refused, by name); MLflow's
    own variables (`MLFLOW_TRACKING_USERNAME`, ...) are passed on to MLflow unless the environment has
    them; every other key is left to the tools that read it.
    """
    root = find_project_root() or Path.cwd()
    env_file = root / ".env"
    entries = read_env_file(env_file)
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    unknown = sorted(
        k for k in entries if k.upper().startswith(ENV_PREFIX) and k.upper() not in known
    )
    if unknown:
        raise SettingsError(
            f"{env_file}: unknown setting {unknown[0]} (settings: {', '.join(sorted(known))})"
        )
    for key, value in entries.items():
        if key.startswith("MLFLOW_") and value is not None:
            os.environ.setdefault(key, value)
    try:
        return Settings(_env_file=env_file)
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from None
