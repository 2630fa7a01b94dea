"""A local **stand-in for API Gateway** (REST API, Lambda proxy integration) in front of the API handler.

    python -m local.api_gateway --endpoints .local/endpoints.json --port 18080

Each HTTP request becomes the REST proxy event (payload 1.0) that API Gateway would hand the Lambda:
the resource template matched from the same route table the deployed API is built from
(`lambdas.api.routes.ROUTES`), `pathParameters` (percent-encoded as sent, like REST APIs deliver them),
`queryStringParameters` / `multiValueQueryStringParameters` (decoded, last value wins in the single-value
map), `headers` / `multiValueHeaders`, `body` + `isBase64Encoded`, and a `requestContext` with stage,
resourcePath, httpMethod, requestId and identity.sourceIp. The handler's proxy result (statusCode,
headers, multiValueHeaders, body, isBase64Encoded) is written back the way API Gateway merges it; a
handler that raises or returns a malformed result gives API Gateway's 502 "Internal server error".

Responses API Gateway sends itself are the ones `components/api.py` configures, in the same `{code,
message}` envelope: a path or method that matches no route never reaches the handler and gets its 404
`route_not_found`, a failed integration the 502 `internal_error`, a body over 10 MB the 413.

What it does **not** simulate: API keys and usage plans (`x-api-key` is neither required nor checked),
throttling, the stage cache (every request reaches the handler), request validators, WAF, custom domains
and TLS, the 29 s integration timeout. Invocations are serialised: one warm Lambda container handles one
event at a time (powertools' resolver keeps the current event on the app object), where the real service
would start more containers; `--reuse-port` lets several of these processes share one port, one container
each (the API benchmark's load uses that). A trailing slash is not matched to the route without it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import json
import secrets
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from lambdas.api.routes import ROUTES, Route

if TYPE_CHECKING:
    from local.dataplane import DataPlane

LOOPBACK = "127.0.0.1"
DEFAULT_STAGE = "local"
# API Gateway's payload quota; larger requests never reach the integration.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024

ProxyEvent = dict[str, Any]
Handler = Callable[[ProxyEvent, Any], Any]
LocalRoute = Callable[[Mapping[str, str]], "HttpResponse"]


@dataclass(frozen=True)
class GatewayResponse:
    """A response API Gateway itself sends (no integration call): status, JSON body, extra headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


# API Gateway's own status and message for the responses this stand-in can produce (used where the
# configured response keeps them), and the family each falls back to when it is not configured itself.
AWS_DEFAULTS: dict[str, tuple[int, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "INTEGRATION_FAILURE": (502, "Internal server error"),
}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query as sent, still percent-encoded
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class ResourceMatch:
    """The API Gateway resource a request path selected and its path parameters (still percent-encoded)."""

    resource: str
    path_parameters: dict[str, str]
    methods: dict[str, Route]


class ResourceTable:
    """API Gateway's resource tree built from the route table: one resource per distinct path template.

    A literal segment beats a `{param}` segment at the same depth (API Gateway prefers the most specific
    resource); a `{param}` matches exactly one non-empty segment.
    """

    def __init__(self, routes: Sequence[Route]) -> None:
        self._resources: dict[tuple[str, ...], dict[str, Route]] = {}
        for route in routes:
            segments = tuple(route.path.strip("/").split("/"))
            methods = self._resources.setdefault(segments, {})
            if route.method in methods:
                raise ValueError(f"duplicate route {route.key}")
            methods[route.method] = route

    def match(self, raw_path: str) -> ResourceMatch | None:
        if not raw_path.startswith("/"):
            return None
        requested = raw_path[1:].split("/")
        best: tuple[tuple[int, ...], tuple[str, ...]] | None = None
        for template in self._resources:
            if len(template) != len(requested):
                continue
            rank: list[int] = []
            for want, got in zip(template, requested, strict=True):
                if _is_param(want):
                    if not got:
                        break
                    rank.append(1)
                elif want == got:
                    rank.append(0)
                else:
                    break
            else:
                # Lexicographic: the first variable segment loses to a literal one at the same depth.
                if best is None or tuple(rank) < best[0]:
                    best = (tuple(rank), template)
        if best is None:
            return None
        template = best[1]
        params = {want[1:-1]: got for want, got in zip(template, requested, strict=True) if _is_param(want)}
        return ResourceMatch("/" + "/".join(template), params, self._resources[template])


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def _split_multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's single-value map keeps the last value of a repeated name; the multi-value map all."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def build_event(
    request: HttpRequest,
    match: ResourceMatch,
    *,
    stage: str = DEFAULT_STAGE,
    binary_media_types: Sequence[str] = (),
    request_id: str | None = None,
    now: datetime | None = None,
) -> ProxyEvent:
    """The REST proxy event (payload 1.0) API Gateway builds for `request` on the matched resource."""
    method, body, source_ip = request.method, request.body, request.source_ip
    split = urlsplit(request.target)
    raw_path = split.path
    request_id = request_id or str(uuid.uuid4())
    now = now or datetime.now(UTC)
    header_pairs = list(request.headers)
    lower = {name.lower(): value for name, value in header_pairs}
    # API Gateway appends the caller to X-Forwarded-For and adds its own trace id, as a Lambda sees them.
    forwarded_for = ", ".join(filter(None, [lower.get("x-forwarded-for"), source_ip]))
    header_pairs = [(n, v) for n, v in header_pairs if n.lower() not in {"x-forwarded-for", "x-amzn-trace-id"}]
    header_pairs += [
        ("X-Amzn-Trace-Id", _trace_id()),
        ("X-Forwarded-For", forwarded_for),
        ("X-Forwarded-Port", str(lower.get("x-forwarded-port", "80"))),
        ("X-Forwarded-Proto", "http"),
    ]
    single_headers, multi_headers = _split_multi(header_pairs)
    query = parse_qsl(split.query, keep_blank_values=True)
    single_query, multi_query = _split_multi(query)

    content_type = lower.get("content-type", "").split(";")[0].strip().lower()
    body_text: str | None
    is_base64 = False
    if not body:
        body_text = None
    elif _is_binary(content_type, binary_media_types):
        body_text, is_base64 = base64.b64encode(body).decode("ascii"), True
    else:
        try:
            body_text = body.decode("utf-8")
        except UnicodeDecodeError:
            # Deviation: API Gateway would mangle a non-UTF-8 text body; passing it losslessly is kinder.
            body_text, is_base64 = base64.b64encode(body).decode("ascii"), True

    resource_id = hashlib.sha256(match.resource.encode()).hexdigest()[:6]
    return {
        "resource": match.resource,
        "path": raw_path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": resource_id,
            "resourcePath": match.resource,
            "httpMethod": method,
            "extendedRequestId": base64.b32encode(uuid.UUID(request_id).bytes[:10]).decode().rstrip("="),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": raw_path,
            "accountId": "000000000000",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": (lower.get("host") or LOOPBACK).split(":")[0].split(".")[0],
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                # No keys locally: the stand-in neither requires nor resolves x-api-key.
                "apiKey": None,
                "apiKeyId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": lower.get("user-agent"),
                "user": None,
            },
            "domainName": (lower.get("host") or LOOPBACK).split(":")[0],
            "apiId": "local",
        },
        "body": body_text,
        "isBase64Encoded": is_base64,
    }


def _is_binary(content_type: str, binary_media_types: Sequence[str]) -> bool:
    for pattern in binary_media_types:
        if pattern in {"*/*", content_type}:
            return True
        if pattern.endswith("/*") and content_type.startswith(pattern[:-1]):
            return True
    return False


class MalformedProxyResult(ValueError):
    """The handler's result is not a valid Lambda proxy response (API Gateway answers 502)."""


def proxy_result_to_http(result: Any) -> HttpResponse:
    """Write a Lambda proxy result as API Gateway does: multiValueHeaders win over headers of the same name,
    a base64 body is decoded, Content-Type defaults to application/json."""
    if not isinstance(result, Mapping):
        raise MalformedProxyResult(f"result is {type(result).__name__}, not an object")
    unknown = set(result) - {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
    if unknown:
        raise MalformedProxyResult(f"unknown keys {sorted(unknown)}")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResult(f"statusCode {status!r} is not an HTTP status")
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedProxyResult("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResult(f"multiValueHeaders[{name!r}] is not a list")
        headers += [(str(name), str(v)) for v in values]
    headers += [(str(name), str(value)) for name, value in single.items() if name not in multi]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResult(f"body is {type(body).__name__}, not a string")
    payload = (body or "").encode("utf-8")
    if result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedProxyResult(f"isBase64Encoded but the body is not base64: {exc}") from exc
    if not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, payload)


def gateway_response(response: GatewayResponse) -> HttpResponse:
    # Compact, like the `{"code":…,"message":…}` template API Gateway renders.
    body = json.dumps(response.body, separators=(",", ":")).encode("utf-8")
    headers = [("Content-Type", "application/json"), *response.headers.items()]
    return HttpResponse(response.status, headers, body)


@dataclass
class LocalLambdaContext:
    """What the Lambda runtime passes as `context` (the attributes powertools reads)."""

    aws_request_id: str
    function_name: str = "prices-local-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    timeout_ms: int = 15_000
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))


class ApiGatewayStandIn:
    """Turns one HTTP request into one handler invocation; the HTTP server below only moves bytes."""

    def __init__(
        self,
        handler: Handler,
        *,
        routes: Sequence[Route] = ROUTES,
        stage: str = DEFAULT_STAGE,
        gateway_responses: Mapping[str, GatewayResponse] | None = None,
        binary_media_types: Sequence[str] = (),
        local_routes: Mapping[str, LocalRoute] | None = None,
        error_log: Callable[[str], None] | None = None,
    ) -> None:
        self.handler = handler
        self.table = ResourceTable(routes)
        self.stage = stage
        self.responses = {**configured_gateway_responses(), **(gateway_responses or {})}
        self.binary_media_types = tuple(binary_media_types)
        self.local_routes: dict[str, LocalRoute] = {}
        for path, route in (local_routes or {}).items():
            self.add_local_route(path, route)
        self._error_log = error_log or (lambda text: print(text, file=sys.stderr, flush=True))
        # One warm container: Lambda never runs two events at once in one runtime process.
        self._container = threading.Lock()

    def add_local_route(self, path: str, route: LocalRoute) -> None:
        """A local-only GET page beside the API (e.g. /chart); it may never shadow an API route."""
        if self.table.match(path) is not None:
            raise ValueError(f"local-only path {path!r} collides with an API route")
        self.local_routes[path] = route

    def respond(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        response = self._respond(request, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _respond(self, request: HttpRequest, request_id: str) -> HttpResponse:
        split = urlsplit(request.target)
        if request.method == "GET" and split.path in self.local_routes:
            return self.local_routes[split.path](dict(parse_qsl(split.query)))
        if len(request.body) > MAX_REQUEST_BODY_BYTES:
            return gateway_response(self.responses["REQUEST_TOO_LARGE"])
        match = self.table.match(split.path)
        if match is None or request.method not in match.methods:
            # REST APIs answer an unknown resource or method with MISSING_AUTHENTICATION_TOKEN.
            return gateway_response(self.responses["MISSING_AUTHENTICATION_TOKEN"])
        event = build_event(
            request, match, stage=self.stage, binary_media_types=self.binary_media_types, request_id=request_id
        )
        try:
            with self._container:
                result = self.handler(event, LocalLambdaContext(aws_request_id=request_id))
            return proxy_result_to_http(result)
        except MalformedProxyResult as exc:
            self._error_log(f"[api-gateway] {request_id} malformed Lambda proxy response: {exc}")
        except Exception:
            self._error_log(f"[api-gateway] {request_id} handler raised:\n{traceback.format_exc()}")
        return gateway_response(self.responses["INTEGRATION_FAILURE"])


def configured_gateway_responses() -> dict[str, GatewayResponse]:
    """The gateway responses the deployed API configures (`components.api.GATEWAY_ERROR_RESPONSES`), resolved
    as API Gateway does: the type's own response, else its DEFAULT_4XX/DEFAULT_5XX family; a status or
    message left unset keeps API Gateway's own. So an unknown route answers here as it will there."""
    # Imported here: it pulls in pulumi (~0.25 s), which nothing else in the local serving path needs.
    from components.api import GATEWAY_ERROR_RESPONSES_BY_TYPE  # noqa: PLC0415

    resolved: dict[str, GatewayResponse] = {}
    for response_type, (aws_status, aws_message) in AWS_DEFAULTS.items():
        family = "DEFAULT_4XX" if aws_status < 500 else "DEFAULT_5XX"
        configured = GATEWAY_ERROR_RESPONSES_BY_TYPE.get(response_type) or GATEWAY_ERROR_RESPONSES_BY_TYPE.get(family)
        if configured is None:
            resolved[response_type] = GatewayResponse(aws_status, {"message": aws_message})
            continue
        resolved[response_type] = GatewayResponse(
            configured.status or aws_status,
            {"code": configured.code, "message": configured.message or aws_message},
            dict(configured.headers),
        )
    return resolved


class _RequestHandler(BaseHTTPRequestHandler):
    # Keep-alive: the load benchmark reuses connections, as API clients do.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the second waits for the client's delayed ACK
    # (~40 ms on Linux loopback) on every kept-alive response.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self.send_error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        request = HttpRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        response = self.server.stand_in.respond(request)
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ValueError(f"bad chunk size {size_line!r}") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def __getattr__(self, name: str) -> Any:
        # Every method, TRACE and made-up ones included, reaches the route table: a method no route has
        # gets the gateway's unknown-route response there, never this server's own 501 page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.access_log is not None:
            self.server.access_log(f"[api-gateway] {self.address_string()} {format % args}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A burst of connections from the load benchmark must not be refused by a short listen backlog.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        stand_in: ApiGatewayStandIn,
        access_log: Callable[[str], None] | None,
        reuse_port: bool,
    ) -> None:
        self.stand_in = stand_in
        self.access_log = access_log
        self.allow_reuse_port = reuse_port  # read by server_bind, inside the base constructor
        super().__init__(address, _RequestHandler)


class LocalApiGateway:
    """The stand-in on a loopback port, served from a background thread of this process."""

    def __init__(
        self,
        stand_in: ApiGatewayStandIn,
        port: int = 0,
        host: str = LOOPBACK,
        access_log: Callable[[str], None] | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.stand_in = stand_in
        try:
            self._server = _Server((host, port), stand_in, access_log, reuse_port)
        except OSError as exc:
            raise OSError(
                exc.errno, f"the API cannot listen on {host}:{port}: {exc.strerror} (port 0 picks a free one)"
            ) from exc
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LocalApiGateway:
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()


@contextlib.contextmanager
def serving(stand_in: ApiGatewayStandIn, port: int = 0, **kwargs: Any) -> Iterator[LocalApiGateway]:
    gateway = LocalApiGateway(stand_in, port, **kwargs).start()
    try:
        yield gateway
    finally:
        gateway.stop()


def local_api_handler(endpoints: Mapping[str, Any] | str | Path) -> Handler:
    """The real API handler, reading ClickHouse through the mTLS edge as the `api` identity (prices_reader).

    Its module-scope runtime is replaced by one around a client built from the local endpoints.json,
    where the deployed function builds its own from the Secrets Manager bundle."""
    from lambdas.api import handler as api  # noqa: PLC0415 - the stand-in itself must not need the handler
    from lambdas.common.clickhouse_client import edge_client  # noqa: PLC0415
    from lambdas.common.edge_clickhouse import FixedClickHouse  # noqa: PLC0415

    api.set_runtime(api.Runtime(FixedClickHouse(edge_client(endpoints, "api"))))
    return api.handler  # type: ignore[no-any-return]


def chart_page(api_url: str) -> LocalRoute:
    """`GET /chart[?asset=&granularity=&timeframe=]`: the candle chart page, made from the API at `api_url`."""
    import requests  # noqa: PLC0415

    from local.chart import ChartError, busiest_asset, fetch_chart, render_html  # noqa: PLC0415

    def page(query: Mapping[str, str]) -> HttpResponse:
        try:
            asset = query.get("asset") or busiest_asset(api_url)[0]
            chart = fetch_chart(
                api_url, asset, timeframe=query.get("timeframe", "all"), granularity=query.get("granularity", "1d")
            )
        except ChartError as exc:
            return _text(exc.status, str(exc))
        except requests.RequestException as exc:
            # The API the page reads is this very server: a failure to reach it is a bad gateway, not a hang-up.
            return _text(502, f"the chart could not read the API at {api_url}: {exc}")
        return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], render_html(chart).encode())

    return page


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8")], message.encode())


@contextlib.contextmanager
def serve_local_api(
    endpoints: Path,
    port: int = 0,
    *,
    publish: Callable[[Mapping[str, Any]], None] | None = None,
    access_log: Callable[[str], None] | None = None,
    reuse_port: bool = False,
) -> Iterator[LocalApiGateway]:
    """The real handler behind the stand-in on a loopback port, reading through the edge named in
    `endpoints`; `publish` receives `{"api_url": ...}` once it listens (DataPlane.add_endpoints)."""
    stand_in = ApiGatewayStandIn(local_api_handler(endpoints))
    gateway = LocalApiGateway(stand_in, port, access_log=access_log, reuse_port=reuse_port)
    stand_in.add_local_route("/chart", chart_page(gateway.url))
    gateway.start()
    try:
        if publish is not None:
            publish({"api_url": gateway.url})
        yield gateway
    finally:
        gateway.stop()


@contextlib.contextmanager
def fixture_stack(
    workdir: Path, *, api_port: int = 0, progress: Callable[[str], None] = lambda _: None
) -> Iterator[tuple[DataPlane, LocalApiGateway]]:
    """What `make run` serves, in a with-block (tests, benchmarks): the data plane, the mainnet fixtures
    ingested through the edge, current prices computed, the API at `api_url`."""
    # Imported here: local.dataplane imports this module to serve the API in `make run`.
    from lambdas.ledger_processor.ingest_files import ingest_files  # noqa: PLC0415
    from local.dataplane import MAINNET_FIXTURES, ledger_files_in, refresh_current_prices, start_dataplane  # noqa: PLC0415

    with start_dataplane(workdir, progress=progress) as plane:
        report = ingest_files(ledger_files_in([MAINNET_FIXTURES]), plane.endpoints_file, progress=progress)
        if not report.ok:
            raise RuntimeError(f"ingesting the mainnet fixtures from {MAINNET_FIXTURES} failed")
        refresh_current_prices(plane)
        with serve_local_api(plane.endpoints_file, api_port, publish=plane.add_endpoints) as api:
            yield plane, api


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the API on its own against a data plane that is already up (the API benchmark's load processes)."""
    parser = argparse.ArgumentParser(prog="python -m local.api_gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=Path, default=Path(".local/endpoints.json"))
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument(
        "--reuse-port",
        action="store_true",
        help="SO_REUSEPORT: several of these processes (one warm container each) share --port, and the kernel "
        "spreads connections across them, as Lambda runs concurrent invocations in several containers",
    )
    args = parser.parse_args(argv)
    if not args.endpoints.is_file():
        parser.error(f"--endpoints {args.endpoints}: no such file; start the data plane first (make run)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with serve_local_api(args.endpoints, args.port, reuse_port=args.reuse_port) as gateway:
        print(f"READY {gateway.url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
