"""The server's client errors in one shape, and the limits it refuses requests by (body size, row count)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MESSAGE_LIMIT = 300  # characters of an error message: a small request never gets a large error back


def error(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A client error in one shape: what went wrong and, when known, which field."""
    message = capped(message)
    if field is not None and len(field) > 100:
        field = field[:97] + "..."
    return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers)


def capped(message: str) -> str:
    """A message of at most MESSAGE_LIMIT characters."""
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 3] + "..."


def describe_invalid(problems: Sequence[Any]) -> tuple[str, str | None]:
    """The first validation problem of a request (where and what, never the value), and how many more."""
    if not problems:
        return "invalid request", None
    where = [str(part) for part in problems[0].get("loc", ()) if part != "body"]
    message = f"{'.'.join(where) or 'body'}: {problems[0].get('msg', 'invalid')}"
    if len(problems) > 1:
        # Validation may stop at the first bad chunk of rows: the count is a lower bound.
        message += f" (and at least {len(problems) - 1} more problems)"
    return message, where[-1] if where else None


class BodyTooLarge(HTTPException):
    """The request body grew past the limit while it was received."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body larger than {limit} bytes")


class TooManyRowsError(Exception):
    """A batch with more rows than the server takes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows")


class BodyLimit:
    """ASGI middleware: refuse a body past `limit` bytes as it arrives, with or without Content-Length.

    Counting in `receive` holds for every route, including the typed ones FastAPI reads itself.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a `receive` that counts the body's bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            refused = BodyTooLarge(self.limit)
            await error(refused.status_code, refused.detail)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


def add_error_handlers(app: FastAPI) -> None:
    """Answer a body past the limit and an invalid typed request in the one error shape."""

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(_request: Request, problem: BodyTooLarge) -> Response:
        return error(problem.status_code, str(problem.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, problem: RequestValidationError) -> Response:
        # FastAPI's default 422 repeats every offending value: with 10,000 typed rows, the request comes back.
        return error(422, *describe_invalid(problem.errors()))
