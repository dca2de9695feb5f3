"""Talking to a local HTTP server: a free port, a JSON request, and waiting for `/health`.

One copy for the package: the deploy controller, the image runner and the tests all use these.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

# What a server that is starting, or gone, answers instead of JSON.
UNANSWERED = (urllib.error.URLError, ConnectionError, TimeoutError, OSError, json.JSONDecodeError)


class HealthTimeoutError(TimeoutError):
    """No acceptable `/health` answer came within the time allowed."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def request_json(
    url: str,
    payload: Any = None,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET (or POST a JSON payload) and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_for_health(
    url: str,
    timeout: float,
    accept: Callable[[dict[str, Any]], bool] = lambda _health: True,
    alive: Callable[[], None] = lambda: None,
    interval: float = 0.1,
) -> dict[str, Any]:
    """Poll `url` (a `/health` route) until a 200 answer that `accept` takes; return it as a mapping.

    A JSON object answer is passed as it is, any other body as an empty mapping.

    `alive` is called before each try and raises when the server's process is gone, so a dead server
    fails at once instead of after `timeout`.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive()
        try:
            with urllib.request.urlopen(url, timeout=min(2.0, timeout)) as response:
                body = response.read()
        except UNANSWERED:
            time.sleep(interval)
            continue
        health = _json_object(body)  # MLflow's own /health says a plain "OK"
        if accept(health):
            return health
        time.sleep(interval)
    raise HealthTimeoutError(f"{url} gave no healthy answer within {timeout:.0f}s")


def _json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or an empty mapping when it is none."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
