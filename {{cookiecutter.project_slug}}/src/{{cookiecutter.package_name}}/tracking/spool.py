"""The spool: what a run could not send to an unreachable tracking server, kept on disk until `tracking sync`.

A run's spool is one JSON-lines file, `<spool folder>/<run id>.jsonl`, appended to and synced to disk record by
record, so a crash right after a write loses nothing. Each record holds params, tags and metric points, or the
status the run ended with.

`sync` replays every spool into the store, and is idempotent: params and tags are set to the same values again,
metric points the store already holds (same key, step, timestamp and value) are skipped, and the run's status is
set last. A sync cut off halfway resumes where the store's own contents say it stopped, and a synced spool moves
to `synced/`, so running sync twice changes nothing.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from ..errors import ProjectError
from ..names import ENV_PREFIX

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

BATCH_LIMIT = 1000  # MLflow accepts at most 1000 metrics per log_batch call
SYNCED = "synced"
# Set on a run replayed from the spool: when, and what the run could not send while the server was away.
SPOOLED_TAG = "tracking.spooled"


class Spool:
    """The spool file of one run: writes params, tags, metrics and the end status as they come."""

    def __init__(self, folder: Path, run_id: str) -> None:
        self.path = folder / f"{run_id}.jsonl"
        self.run_id = run_id
        self.records = 0

    def write(
        self,
        *,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
    ) -> None:
        """Append one record; it is on disk when this returns."""
        record: dict[str, Any] = {
            "params": {param.key: param.value for param in params},
            "tags": {tag.key: tag.value for tag in tags},
            "metrics": [[m.key, m.value, m.timestamp, m.step] for m in metrics],
        }
        self._append({key: value for key, value in record.items() if value})

    def end(self, status: str) -> None:
        """Record the status the run ended with (set by sync, after everything else)."""
        self._append({"status": status, "end_time": int(time.time() * 1000)})

    def _append(self, record: dict[str, Any]) -> None:
        if not record:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, allow_nan=True) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        self.records += 1


@dataclass
class RunReplay:
    """What one spool file holds, merged: the run's params, tags, metric points and end status."""

    run_id: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    status: str | None = None
    end_time: int | None = None

    @classmethod
    def read(cls, path: Path) -> RunReplay:
        """Merge a spool file's records; a last line cut off by a crash is skipped."""
        replay = cls(path.stem)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # only the last write can be torn: the lines before it are whole
            try:
                replay.merge(record)
            except (AttributeError, TypeError, ValueError) as error:  # edited or damaged by hand
                raise SpoolError(
                    f"{path}, line {number}: not a spool record ({error}): fix or delete the line, "
                    "then make tracking-sync again"
                ) from None
        return replay

    def merge(self, record: dict[str, Any]) -> None:
        """Add one spool record: params and tags (the last value wins), metric points, the end."""
        self.params.update(record.get("params", {}))
        self.tags.update(record.get("tags", {}))
        self.metrics.extend(
            Metric(k, float(v), int(t), int(s)) for k, v, t, s in record.get("metrics", [])
        )
        self.status = record.get("status", self.status)
        self.end_time = record.get("end_time", self.end_time)


@dataclass(frozen=True)
class SyncResult:
    """One spooled run after a sync: how many points were sent and how many the store already had."""

    run_id: str
    sent: int
    already_there: int
    status: str | None


class SpoolError(ProjectError, LookupError):
    """A spooled run cannot be replayed into this store; the message names the run and the fix."""


def pending(folder: Path) -> list[Path]:
    """The spool files waiting to be synced, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jsonl"), key=lambda path: path.stat().st_mtime)


def sync(client: MlflowClient, folder: Path) -> Iterator[SyncResult]:
    """Replay every pending spool into the client's store, one run at a time; yield what each needed.

    A run the store does not know raises SpoolError naming it, before any write, and its spool stays.
    """
    for path in pending(folder):
        replay = RunReplay.read(path)
        try:
            client.get_run(replay.run_id)
        except MlflowException:
            raise SpoolError(
                f"run {replay.run_id} (spooled in {path}) is not in this tracking store: point "
                f"{ENV_PREFIX}TRACKING_URI at the server the run was started on and run make "
                "tracking-sync again; the spool is kept"
            ) from None
        sent, there = _replay(client, replay)
        target = folder / SYNCED / path.name
        target.parent.mkdir(exist_ok=True)
        path.replace(target)
        yield SyncResult(replay.run_id, sent, there, replay.status)


def _replay(client: MlflowClient, replay: RunReplay) -> tuple[int, int]:
    params = [Param(key, value) for key, value in replay.params.items()]
    tags = [RunTag(key, value) for key, value in replay.tags.items()]
    if params or tags:
        client.log_batch(replay.run_id, params=params, tags=tags, synchronous=True)
    missing = _missing_points(client, replay)
    for start in range(0, len(missing), BATCH_LIMIT):
        chunk = missing[start : start + BATCH_LIMIT]
        client.log_batch(replay.run_id, metrics=chunk, synchronous=True)
    there = len(replay.metrics) - len(missing)
    note = f"{len(replay.metrics)} metric points, {len(params)} params, {len(tags)} tags"
    client.set_tag(replay.run_id, SPOOLED_TAG, f"replayed from the spool: {note}")
    if replay.status is not None:
        client.set_terminated(replay.run_id, replay.status, replay.end_time)
    return len(missing), there


def _point(metric: Metric) -> tuple[str, int, int, float | str]:
    # NaN is not equal to itself: compare it by name, so a spooled NaN is recognised as already stored.
    value = "nan" if math.isnan(metric.value) else metric.value
    return metric.key, metric.step, metric.timestamp, value


def _missing_points(client: MlflowClient, replay: RunReplay) -> list[Metric]:
    """The spooled points the store does not hold yet (each point once, even when spooled twice)."""
    stored: set[tuple[str, int, int, float | str]] = set()
    for key in {metric.key for metric in replay.metrics}:
        stored.update(_point(metric) for metric in client.get_metric_history(replay.run_id, key))
    missing: list[Metric] = []
    for metric in replay.metrics:
        point = _point(metric)
        if point not in stored:
            stored.add(point)
            missing.append(metric)
    return missing
