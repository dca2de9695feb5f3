"""Scoring off the event loop, in one thread of its own, and recording what was scored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from ..model.loaded import LoadedModel
from .metrics import Metrics
from .request_log import RequestLog


def scoring_thread(math_threads: int) -> ThreadPoolExecutor:
    """The one thread that parses and scores requests, off the event loop so /health always answers.

    OpenMP's thread count is set per calling thread, so the limit is applied in this thread itself: small
    online batches are about 3x faster on one math thread than after waking a pool.
    """
    return ThreadPoolExecutor(
        max_workers=1,
        thread_name_prefix="scoring",
        initializer=threadpool_limits,
        initargs=(math_threads,),
    )


class Scorer:
    """Scores in the scoring thread, and records what it scored (metrics, sampled request log)."""

    def __init__(
        self, thread: ThreadPoolExecutor, metrics: Metrics | None, log: RequestLog
    ) -> None:
        self.thread = thread
        self.metrics = metrics
        self.log = log

    async def __call__(
        self, model: LoadedModel, alias: str, frame: Callable[[], pd.DataFrame]
    ) -> list[Any]:
        """Build the frame and predict off the event loop, in one hop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.thread, self.score, model, alias, frame)

    def score(self, model: LoadedModel, alias: str, frame: Callable[[], pd.DataFrame]) -> list[Any]:
        """Predict, then count the rows and predictions, and log a sample of them."""
        rows = frame()
        predictions = model.predict(rows)
        if self.metrics is not None:
            self.metrics.scored(model.version, alias, predictions)
        if self.log.sample():
            self.log.write(rows, predictions, model.version, alias)
        return predictions
