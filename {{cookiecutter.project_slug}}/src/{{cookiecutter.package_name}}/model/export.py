"""Export a registered version into a folder, and load it back there without a registry (images)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..settings import Settings
from ..tracking.registry import Registry
from ..tracking.store import CHAMPION
from .load import ModelNotFoundError, find_version, load_model_folder
from .loaded import LoadedModel

# Beside an exported model: which registered model and version the folder holds.
EXPORT_RECORD = "registered_model.json"


def export_model(settings: Settings, folder: Path, alias: str = CHAMPION) -> dict[str, str]:
    """Copy the version an alias names (its MLmodel folder, signature, serving example) into `folder`.

    What `make image` puts into the image: a server started with SERVE_MODEL_DIR needs no registry.
    """
    registry = Registry.open(settings)
    version = find_version(registry, alias, None)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    registry.download(version, folder)
    record = {"name": settings.model_name, "version": version, "alias": alias}
    (folder / EXPORT_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return record


def load_exported(folder: Path) -> LoadedModel:
    """Load a model `export_model` wrote, under the name, version and alias it was exported with."""
    try:
        record = json.loads((folder / EXPORT_RECORD).read_text())
    except (OSError, ValueError):
        raise ModelNotFoundError(
            f"{folder} holds no exported model ({EXPORT_RECORD} is missing or unreadable): "
            "export one with `make image`, or unset SERVE_MODEL_DIR"
        ) from None
    return load_model_folder(folder, record["name"], record["version"], record.get("alias"))
