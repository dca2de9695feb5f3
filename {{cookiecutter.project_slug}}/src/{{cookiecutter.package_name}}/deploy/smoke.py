"""The smoke test of a deploy: one prediction from the version just served, through the route it takes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ..serving.routing import share_of
from ..tracking.registry import Registry
from ..tracking.store import CHALLENGER
from .server import ModelRefusedError, ServerError


def example_of(registry: Registry, version: str) -> dict[str, Any]:
    """One row of the version's own serving example, which MLflow saved beside the model."""
    payload = registry.serving_example(version, rows=1)
    if payload is None:
        raise ModelRefusedError(
            f"version {version} has no serving input example to smoke-test with"
        )
    return payload


def pinned(alias: str, percent: float) -> str:
    """A request id the routes send to `alias`: the smoke test reaches the version it checks."""
    for number in range(100_000):
        request = f"smoke-{number}"
        if (share_of(request) < percent) == (alias == CHALLENGER):
            return request
    raise ServerError(f"no request id routes to the {alias} at {percent}%")


def score(url: str, payload: Any, request_id: str, timeout: float = 10.0) -> tuple[Any, str]:
    """POST a scoring payload with a request id; the answer, and the version that gave it."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-Request-ID": request_id},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read()), response.headers.get("X-Model-Version", "")
    except urllib.error.HTTPError as error:
        detail = error.read()[:300].decode(errors="replace")
        raise ModelRefusedError(f"the smoke prediction failed ({error.code}): {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ServerError(f"the smoke prediction got no answer: {error}") from None


def smoke_test(
    url: str, example: dict[str, Any], alias: str, version: str, percent: float
) -> dict[str, Any]:
    """Score `example` through the route to `alias`; ServerError unless `version` answered."""
    answer, answered = score(f"{url}/invocations", example, pinned(alias, percent))
    if answered != version:
        raise ServerError(f"the {alias} answered as version {answered}, not {version}")
    return {
        "alias": alias,
        "version": answered,
        "predictions": answer["predictions"],
        "example": example,
    }
