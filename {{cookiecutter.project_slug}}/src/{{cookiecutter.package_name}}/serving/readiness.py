"""Whether the server is ready for traffic: a loaded model that has answered its serving example.

Live and ready mean different things to a platform: a live server answers (restart it when it does not), a
ready one is given traffic. A hot swap installs only versions that passed the same check (routing.Router.model),
so a ready server stays ready through a swap.
"""

from __future__ import annotations

import asyncio

from loguru import logger

from .routing import CheckFailedError, Router, check


class Readiness:
    """Set once the champion the server started with answered its serving example."""

    def __init__(self) -> None:
        self.ready = False
        self.problem: str | None = "the model's serving example is not checked yet"

    async def check(self, router: Router) -> None:
        """Score the champion's serving example off the event loop; say why when it fails."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, check, router.routes.champion)
        except CheckFailedError as error:
            self.problem = str(error)
            logger.error("not ready: {}", error)
            return
        self.ready, self.problem = True, None
