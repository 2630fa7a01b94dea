"""The API's error type: every 4xx/5xx body is ``{"code", "message"}`` built from one of these.

Handlers raise ``ApiError``; the resolver's exception handler turns it into the envelope. Anything else
that escapes a handler is an internal failure: logged in full, answered with a generic 500 that leaks
no internals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Longest slice of a client-supplied value quoted back in a message (a 10 kB junk parameter is not
# worth echoing, and the message stays readable).
MAX_ECHO = 80


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def echo(value: Any) -> str:
    """`value` quoted for an error message, shortened when long."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 4] + "…" + text[-1]


def bad_parameter(name: str, why: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"parameter '{name}': {why}")


def bad_body(where: str, why: str) -> ApiError:
    return ApiError(400, "invalid_body", f"request body{where}: {why}")


def asset_not_found(asset: str) -> ApiError:
    return ApiError(404, "asset_not_found", f"asset {echo(asset)} is not known to this API")


def price_unavailable(asset: str, why: str) -> ApiError:
    return ApiError(404, "price_unavailable", f"asset {echo(asset)} has no current price: {why}")


def route_not_found(method: str, path: str) -> ApiError:
    return ApiError(404, "route_not_found", f"no route {method} {echo(path)}; see /openapi.json")


def method_not_allowed(method: str, path: str, allowed: Sequence[str]) -> ApiError:
    return ApiError(
        405,
        "method_not_allowed",
        f"{method} is not allowed on {echo(path)}; allowed: {', '.join(allowed)}",
        headers={"Allow": ", ".join(allowed)},
    )


def upstream_unavailable() -> ApiError:
    return ApiError(503, "upstream_unavailable", "the price database is not reachable right now; retry shortly")


def internal_error() -> ApiError:
    return ApiError(500, "internal_error", "internal error; it has been logged")
