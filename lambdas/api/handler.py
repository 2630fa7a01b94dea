"""Prices API Lambda: API Gateway REST proxy events (payload v1) → JSON answers.

Routing comes from the route table: every ``routes.ROUTES`` entry is registered on a Powertools
``APIGatewayRestResolver`` with the endpoint of the same ``operation_id`` (``endpoints.ENDPOINTS``), and its
inputs are parsed from its declared parameters only (``params``). Answers:

* JSON; ``Cache-Control: public, max-age=<route cache_ttl_seconds>`` on success (``no-store`` when the
  route is not cached, and on every error); ``Access-Control-Allow-Origin: *`` on every GET answer,
  unconditionally — echoing ``Origin`` would make a cached answer depend on a header outside the cache key;
* every 4xx/5xx is ``{"code", "message"}``: 400 names the parameter, 404 an unknown asset or route, 405 a
  known path with another method (with ``Allow``), 503 when ClickHouse is unreachable, 500 for anything
  unexpected — logged in full, answered without internals.

Module-scope state, reused while the container is warm: settings (validated on first use) and the
ClickHouse provider (mTLS bundle from Secrets Manager, re-read after ``MTLS_MAX_AGE_SECONDS``; the client
is rebuilt after a connection failure). Cold start is kept small: boto3 and the edge client are imported
only when the AWS runtime is built, the OpenAPI document only when it is asked for.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.api import errors
from lambdas.api.endpoints import ENDPOINTS, Endpoint, Reply
from lambdas.api.errors import ApiError
from lambdas.api.params import check_body_schema, parse_inputs, parse_json_body, validate_body
from lambdas.api.responses import ErrorBody
from lambdas.api.routes import ROUTES, Route
from lambdas.api.settings import METRICS_NAMESPACE, SERVICE, ApiSettings, load_api_settings
from lambdas.common.runtime_slot import RuntimeSlot

if TYPE_CHECKING:  # edge_clickhouse imports boto3, which only the AWS runtime needs
    from lambdas.common.edge_clickhouse import ClickHouseProvider

JSON = "application/json"
NO_STORE = "no-store"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
# Only what this function calls: ClickHouse over urllib3 (httplib) and Secrets Manager (botocore). The default,
# every library X-Ray can patch, would import requests, sqlite3, … at cold start for nothing.
tracer = Tracer(service=SERVICE, patch_modules=("botocore", "httplib"))
app = APIGatewayRestResolver()


@dataclass
class Runtime:
    clickhouse: ClickHouseProvider
    settings: ApiSettings | None = None  # None when a caller supplies its own provider (local, tests)


def build_runtime(environ: Mapping[str, str], *, pem_dir: Path | None = None) -> Runtime:
    settings = load_api_settings(environ)
    # Imported here: boto3 (~0.15 s) is only needed in AWS, where the bundle comes from Secrets Manager.
    from lambdas.common.edge_clickhouse import EdgeClickHouse  # noqa: PLC0415

    return Runtime(EdgeClickHouse.from_settings(settings, pem_dir=pem_dir), settings)


_slot: RuntimeSlot[Runtime] = RuntimeSlot(build_runtime)


def runtime() -> Runtime:
    return _slot.get()


def set_runtime(value: Runtime | None) -> None:
    """Replace the module-scope runtime (local data plane, tests; ``None`` rebuilds from the environment)."""
    _slot.set(value)


# ---- answers --------------------------------------------------------------------------------------------


def json_response(
    status: int, body: str, *, method: str, cache_control: str, headers: Mapping[str, str] | None = None
) -> Response:
    out = {"Cache-Control": cache_control, **(headers or {})}
    if method == "GET":
        out["Access-Control-Allow-Origin"] = "*"
    return Response(status_code=status, content_type=JSON, body=body, headers=out)


def error_response(exc: ApiError) -> Response:
    body = ErrorBody(code=exc.code, message=exc.message).model_dump_json()
    return json_response(
        exc.status, body, method=app.current_event.http_method, cache_control=NO_STORE, headers=exc.headers
    )


def success_response(route: Route, reply: Reply) -> Response:
    cache = f"public, max-age={route.cache_ttl_seconds}" if route.cache_ttl_seconds else NO_STORE
    return json_response(reply.status, reply.body.model_dump_json(), method=route.method, cache_control=cache)


# ---- routing --------------------------------------------------------------------------------------------


def resolver_rule(path: str) -> str:
    """Route table template → Powertools rule: ``/v1/assets/{asset}`` → ``/v1/assets/<asset>``."""
    return re.sub(r"{([a-z_]+)}", r"<\1>", path)


def path_regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(path)) + "$")


PATH_PATTERNS: tuple[tuple[re.Pattern[str], Route], ...] = tuple((path_regex(r.path), r) for r in ROUTES)


def request_body(route: Route) -> Any:
    if route.body_schema is None:
        return None
    event = app.current_event
    try:
        text = base64.b64decode(event.body or "", validate=True).decode() if event.is_base64_encoded else event.body
    except (binascii.Error, UnicodeDecodeError):
        raise errors.bad_body("", "not valid base64-encoded UTF-8") from None
    body = parse_json_body(text)
    validate_body(route.body_schema, body)
    return body


def path_values(route: Route, captured: Mapping[str, str]) -> dict[str, str]:
    # pathParameters is what API Gateway keys its cache on (method.request.path.<name>); the resolver's
    # captures (the fallback for an event without them) come from the raw path. Reports differ on whether
    # REST APIs percent-decode path parameters, so the value is decoded here either way: a valid asset id
    # holds no '%', so decoding it again changes nothing, and the answer stays a function of the cache key.
    given = app.current_event.path_parameters or {}
    return {p.name: unquote(given.get(p.name) or captured.get(p.name, "")) for p in route.path_params}


def serve_openapi(route: Route) -> Response:
    from lambdas.api.openapi import document_json  # noqa: PLC0415 - built on first request only

    return json_response(
        200, document_json(), method=route.method, cache_control=f"public, max-age={route.cache_ttl_seconds}"
    )


def view_for(route: Route, endpoint: Endpoint | None) -> Callable[..., Response]:
    def view(**captured: str) -> Response:
        if endpoint is None:
            return serve_openapi(route)
        inputs = parse_inputs(
            route, path_values(route, captured), app.current_event.query_string_parameters, request_body(route)
        )
        client = clickhouse_client(route)
        return success_response(route, endpoint(inputs, client))

    view.__name__ = route.operation_id
    return view


def clickhouse_client(route: Route) -> Any:
    try:
        return runtime().clickhouse.client()
    except Exception:
        if route.operation_id != "getHealth":
            raise
        logger.exception("health: no ClickHouse client")
        raise ApiError(503, "clickhouse_unavailable", "no connection to ClickHouse could be set up") from None


def register_routes() -> None:
    if set(ENDPOINTS) | {"getOpenApi"} != {r.operation_id for r in ROUTES}:
        raise RuntimeError("endpoints.ENDPOINTS and routes.ROUTES disagree on the operations")
    for route in ROUTES:
        if route.body_schema is not None:
            check_body_schema(route.body_schema)
        app.route(resolver_rule(route.path), method=route.method)(view_for(route, ENDPOINTS.get(route.operation_id)))


register_routes()


# ---- errors ---------------------------------------------------------------------------------------------


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(exc)


@app.not_found
def _not_found(_: NotFoundError) -> Response:
    event = app.current_event
    method, path = event.http_method, event.path
    allowed = sorted({route.method for pattern, route in PATH_PATTERNS if pattern.match(path)})
    if allowed:
        return error_response(errors.method_not_allowed(method, path, allowed))
    return error_response(errors.route_not_found(method, path))


@app.exception_handler(Exception)
def _internal(exc: Exception) -> Response:
    from clickhouse_connect.driver.exceptions import OperationalError  # noqa: PLC0415 - error path only

    logger.exception("request failed", extra={"path": app.current_event.path, "method": app.current_event.http_method})
    if isinstance(exc, OperationalError | ConnectionError | TimeoutError):
        # The connection broke: rebuild the client (and re-read the mTLS bundle) on the next request.
        built = _slot.current()
        if built is not None:
            built.clickhouse.invalidate()
        return error_response(errors.upstream_unavailable())
    return error_response(errors.internal_error())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
# capture_response=False: an OHLCV answer can be ~2 MB, far beyond what an X-Ray segment may hold.
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
