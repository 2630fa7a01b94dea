"""The API Gateway stand-in: REST proxy events as API Gateway builds them, responses as it writes them."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from components.api import GATEWAY_ERROR_RESPONSES_BY_TYPE
from lambdas.api.routes import ROUTES, Param, Route
from local.api_gateway import (
    MAX_REQUEST_BODY_BYTES,
    ApiGatewayStandIn,
    GatewayResponse,
    HttpRequest,
    HttpResponse,
    LocalApiGateway,
    ResourceTable,
    build_event,
    chart_page,
    configured_gateway_responses,
    fixture_stack,
    proxy_result_to_http,
    serving,
)
from local.dataplane import REPO_ROOT, DataPlane
from tests.local.test_dataplane import _children, _running

# The handler's Metrics warns on every invocation that publishes no metric; its business, not these tests'.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
USDC = f"USDC:{ISSUER}"
ASSET = Param("asset", "string", "asset")


class Recorder:
    """A trivial handler: records each event and answers with it as JSON."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.contexts.append(context)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


def request(
    url: str, method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes, list[tuple[str, str]]]:
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw_headers = resp.getheaders()
        return resp.status, dict(raw_headers), resp.read(), raw_headers
    finally:
        conn.close()


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def gateway(recorder: Recorder) -> Iterator[LocalApiGateway]:
    stand_in = ApiGatewayStandIn(recorder, stage="test", binary_media_types=("application/octet-stream",))
    with serving(stand_in) as running:
        yield running


def last_event(recorder: Recorder, status: int, body: bytes) -> dict[str, Any]:
    assert status == 200, body
    event: dict[str, Any] = json.loads(body)
    assert event == recorder.events[-1]
    return event


def example_path(route: Route) -> str:
    path = route.path
    for param in route.path_params:
        path = path.replace("{" + param.name + "}", USDC)
    return path


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
def test_every_route_in_the_table_selects_its_own_resource(route: Route) -> None:
    match = ResourceTable(ROUTES).match(example_path(route))
    assert match is not None
    assert match.resource == route.path
    assert match.methods[route.method] is route
    assert match.path_parameters == {p.name: USDC for p in route.path_params}


def test_a_literal_segment_beats_a_parameter_and_a_parameter_needs_a_segment() -> None:
    table = ResourceTable(
        [
            Route("GET", "/v1/assets/{asset}", "getAsset", "one", path_params=(ASSET,)),
            Route("GET", "/v1/assets/top", "top", "top"),
            Route("GET", "/v1/assets/{asset}/price", "price", "price", path_params=(ASSET,)),
        ]
    )
    top = table.match("/v1/assets/top")
    assert top is not None and (top.resource, top.path_parameters) == ("/v1/assets/top", {})
    one = table.match("/v1/assets/native")
    assert one is not None and (one.resource, one.path_parameters) == ("/v1/assets/{asset}", {"asset": "native"})
    price = table.match("/v1/assets/top/price")
    assert price is not None and price.path_parameters == {"asset": "top"}
    assert table.match("/v1/assets//price") is None
    assert table.match("/v1/assets") is None
    assert table.match("/v1/assets/native/ohlcv") is None
    assert table.match("v1/assets/native") is None
    with pytest.raises(ValueError, match="duplicate route GET /v1/assets/top"):
        ResourceTable([Route("GET", "/v1/assets/top", "a", "a"), Route("GET", "/v1/assets/top", "b", "b")])


def test_get_becomes_the_rest_proxy_event_api_gateway_sends(gateway: LocalApiGateway, recorder: Recorder) -> None:
    encoded = f"USDC%3A{ISSUER}"
    target = f"/v1/assets/{encoded}/ohlcv?timeframe=7d&granularity=1h&start=2024-01-01T00:00:00%2B00:00&x=1&x=2&sp=a+b"
    status, _, body, _ = request(
        gateway.url, "GET", target, headers={"Accept": "application/json", "X-Trace": "one", "User-Agent": "ua/1"}
    )
    event = last_event(recorder, status, body)
    assert event["resource"] == "/v1/assets/{asset}/ohlcv"
    assert event["httpMethod"] == "GET"
    # REST APIs hand the path and its parameters over as sent, percent-encoding included.
    assert event["path"] == f"/v1/assets/{encoded}/ohlcv"
    assert event["pathParameters"] == {"asset": encoded}
    assert event["queryStringParameters"] == {
        "timeframe": "7d",
        "granularity": "1h",
        "start": "2024-01-01T00:00:00+00:00",
        "x": "2",
        "sp": "a b",
    }
    assert event["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert event["multiValueQueryStringParameters"]["timeframe"] == ["7d"]
    assert event["headers"]["Accept"] == "application/json"
    assert event["headers"]["X-Trace"] == "one"
    assert event["multiValueHeaders"]["X-Trace"] == ["one"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert ctx["stage"] == "test"
    assert ctx["resourcePath"] == "/v1/assets/{asset}/ohlcv"
    assert ctx["httpMethod"] == "GET"
    assert ctx["path"] == event["path"]
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"] == "ua/1"
    assert ctx["identity"]["apiKey"] is None
    assert len(ctx["requestId"]) == 36
    assert isinstance(ctx["requestTimeEpoch"], int)
    assert recorder.contexts[-1].aws_request_id == ctx["requestId"]
    assert recorder.contexts[-1].get_remaining_time_in_millis() > 0


def test_repeated_headers_keep_every_value_in_multi_value_headers(gateway: LocalApiGateway, recorder: Recorder) -> None:
    parts = urlsplit(gateway.url)
    conn = HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.putrequest("GET", "/health")
        conn.putheader("X-Multi", "a")
        conn.putheader("X-Multi", "b")
        conn.endheaders()
        resp = conn.getresponse()
        event = last_event(recorder, resp.status, resp.read())
    finally:
        conn.close()
    assert event["headers"]["X-Multi"] == "b"
    assert event["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["resource"] == "/health"


def test_post_bodies_arrive_as_text_or_base64_by_media_type(gateway: LocalApiGateway, recorder: Recorder) -> None:
    payload = json.dumps({"assets": ["native", USDC]}).encode()
    status, _, body, _ = request(gateway.url, "POST", "/v1/prices/batch", payload, {"Content-Type": "application/json"})
    event = last_event(recorder, status, body)
    assert (event["body"], event["isBase64Encoded"]) == (payload.decode(), False)
    assert event["resource"] == "/v1/prices/batch"

    blob = bytes(range(256))
    headers = {"Content-Type": "application/octet-stream"}
    status, _, body, _ = request(gateway.url, "POST", "/v1/prices/batch", blob, headers)
    event = last_event(recorder, status, body)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == blob


def test_chunked_request_bodies_are_reassembled(gateway: LocalApiGateway, recorder: Recorder) -> None:
    parts = urlsplit(gateway.url)
    conn = HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/v1/prices/batch",
            body=iter([b'{"assets": ', b'["native"]}']),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        resp = conn.getresponse()
        event = last_event(recorder, resp.status, resp.read())
    finally:
        conn.close()
    assert json.loads(event["body"]) == {"assets": ["native"]}


def test_unknown_routes_and_methods_get_the_gateway_response_without_calling_the_handler(
    gateway: LocalApiGateway, recorder: Recorder
) -> None:
    before = len(recorder.events)
    expected = gateway.stand_in.responses["MISSING_AUTHENTICATION_TOKEN"]
    for method, target in (
        ("GET", "/v2/assets"),
        ("GET", "/v1/assets/native/nope"),
        ("DELETE", "/v1/assets"),
        ("GET", "/v1/prices/batch"),
        ("POST", "/v1/assets"),
        ("TRACE", "/v1/assets"),
        ("BREW", "/health"),
    ):
        status, headers, body, _ = request(gateway.url, method, target)
        assert (status, json.loads(body)) == (expected.status, dict(expected.body)), (method, target)
        assert headers["Content-Type"] == "application/json"
        assert headers["x-amzn-RequestId"]
        for name, value in expected.headers.items():
            assert headers[name] == value
    assert len(recorder.events) == before


def test_gateway_responses_are_the_ones_the_api_component_configures() -> None:
    responses = configured_gateway_responses()
    unknown = GATEWAY_ERROR_RESPONSES_BY_TYPE["MISSING_AUTHENTICATION_TOKEN"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"] == GatewayResponse(
        404, {"code": "route_not_found", "message": unknown.message}, dict(unknown.headers)
    )
    # Not configured by type: the DEFAULT_5XX family's code and headers, API Gateway's own status and message.
    family = GATEWAY_ERROR_RESPONSES_BY_TYPE["DEFAULT_5XX"]
    assert responses["INTEGRATION_FAILURE"] == GatewayResponse(
        502, {"code": "internal_error", "message": "Internal server error"}, dict(family.headers)
    )
    assert responses["REQUEST_TOO_LARGE"].status == 413
    assert responses["REQUEST_TOO_LARGE"].body["code"] == "request_too_large"


def test_a_body_over_ten_megabytes_never_reaches_the_handler() -> None:
    recorder = Recorder()
    big = b"x" * (MAX_REQUEST_BODY_BYTES + 1)
    response = ApiGatewayStandIn(recorder).respond(HttpRequest("POST", "/v1/prices/batch", [], big, "127.0.0.1"))
    assert (response.status, json.loads(response.body)["code"]) == (413, "request_too_large")
    assert recorder.events == []


def test_explicit_gateway_responses_replace_the_configured_ones() -> None:
    recorder = Recorder()
    not_found = GatewayResponse(404, {"code": "not_found", "message": "no such route"})
    stand_in = ApiGatewayStandIn(recorder, gateway_responses={"MISSING_AUTHENTICATION_TOKEN": not_found})
    response = stand_in.respond(HttpRequest("GET", "/nope", [], b"", "127.0.0.1"))
    assert (response.status, json.loads(response.body)) == (404, {"code": "not_found", "message": "no such route"})
    assert recorder.events == []


def answering(result: Any) -> ApiGatewayStandIn:
    return ApiGatewayStandIn(lambda event, context: result, error_log=lambda _: None)


def respond(stand_in: ApiGatewayStandIn, method: str = "GET", target: str = "/health") -> HttpResponse:
    return stand_in.respond(HttpRequest(method, target, [("Host", "localhost")], b"", "127.0.0.1"))


def test_proxy_results_are_written_as_api_gateway_merges_them() -> None:
    response = proxy_result_to_http(
        {
            "statusCode": 201,
            "headers": {"X-One": "h", "X-Both": "from-headers"},
            "multiValueHeaders": {"X-Both": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]},
            "body": "hello",
            "isBase64Encoded": False,
        }
    )
    assert response.status == 201
    assert sorted(response.headers) == sorted(
        [
            ("X-Both", "m1"),
            ("X-Both", "m2"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("X-One", "h"),
            ("Content-Type", "application/json"),
        ]
    )
    assert response.body == b"hello"
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    binary = proxy_result_to_http(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(png).decode(),
            "isBase64Encoded": True,
        }
    )
    assert (binary.body, binary.headers) == (png, [("Content-Type", "image/png")])
    assert proxy_result_to_http({"statusCode": "204"}).status == 204


@pytest.mark.parametrize(
    "result",
    [
        None,
        "ok",
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["X-A", "b"]},
        {"statusCode": 200, "multiValueHeaders": {"X-A": "b"}},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "extra": 1},
    ],
    ids=repr,
)
def test_a_malformed_proxy_result_is_a_502_like_the_real_gateway(result: Any) -> None:
    response = respond(answering(result))
    assert (response.status, json.loads(response.body)) == (
        502,
        {"code": "internal_error", "message": "Internal server error"},
    )


def test_a_handler_that_raises_is_a_502_and_its_traceback_is_logged() -> None:
    logged: list[str] = []

    def broken(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("engine on fire")

    response = respond(ApiGatewayStandIn(broken, error_log=logged.append))
    assert (response.status, json.loads(response.body)) == (
        502,
        {"code": "internal_error", "message": "Internal server error"},
    )
    assert len(logged) == 1 and "engine on fire" in logged[0] and "Traceback" in logged[0]


def test_invocations_are_serialised_like_one_warm_container() -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.01)
        with guard:
            inside -= 1
        return {"statusCode": 200, "body": "{}"}

    with serving(ApiGatewayStandIn(slow)) as running, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: request(running.url, "GET", "/health")[0], range(16)))
    assert statuses == [200] * 16
    assert most == 1


def test_keep_alive_serves_several_requests_on_one_connection(gateway: LocalApiGateway, recorder: Recorder) -> None:
    parts = urlsplit(gateway.url)
    conn = HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/v1/backfill/status")
            resp = conn.getresponse()
            assert json.loads(resp.read())["resource"] == "/v1/backfill/status"
            assert resp.status == 200
    finally:
        conn.close()


def test_a_port_in_use_is_named_in_the_error(gateway: LocalApiGateway) -> None:
    port = int(gateway.url.rsplit(":", 1)[1])
    with pytest.raises(OSError, match=rf"the API cannot listen on 127.0.0.1:{port}: .*port 0 picks a free one"):
        LocalApiGateway(ApiGatewayStandIn(Recorder()), port)


def test_head_returns_headers_without_a_body(gateway: LocalApiGateway) -> None:
    status, headers, body, _ = request(gateway.url, "HEAD", "/health")
    # No route declares HEAD, so the gateway answers it as an unknown method.
    assert (status, body) == (gateway.stand_in.responses["MISSING_AUTHENTICATION_TOKEN"].status, b"")
    assert int(headers["Content-Length"]) > 0


def test_local_only_pages_are_served_beside_the_api_but_never_shadow_it() -> None:
    page = HttpResponse(200, [("Content-Type", "text/html")], b"<html>chart</html>")
    seen: list[dict[str, str]] = []

    def chart(query: Any) -> HttpResponse:
        seen.append(dict(query))
        return page

    recorder = Recorder()
    stand_in = ApiGatewayStandIn(recorder, local_routes={"/chart": chart})
    with serving(stand_in) as running:
        status, headers, body, _ = request(running.url, "GET", "/chart?asset=native")
    assert (status, headers["Content-Type"], body) == (200, "text/html", b"<html>chart</html>")
    assert seen == [{"asset": "native"}] and recorder.events == []
    with pytest.raises(ValueError, match=r"'/v1/assets/x' collides with an API route"):
        ApiGatewayStandIn(recorder, local_routes={"/v1/assets/x": chart})
    with pytest.raises(ValueError, match=r"'/health' collides"):
        stand_in.add_local_route("/health", chart)


def test_the_chart_page_answers_502_when_it_cannot_reach_the_api() -> None:
    with serving(ApiGatewayStandIn(Recorder())) as running:
        dead_url = running.url
    page = chart_page(dead_url)({"asset": "native"})
    assert page.status == 502 and page.headers == [("Content-Type", "text/plain; charset=utf-8")]
    assert f"could not read the API at {dead_url}" in page.body.decode()


def test_a_real_powertools_rest_resolver_routes_the_events() -> None:
    app = APIGatewayRestResolver()

    @app.get("/v1/assets/<asset>/price")
    def price(asset: str) -> dict[str, Any]:
        return {"asset": asset, "min_volume_usd": app.current_event.get_query_string_value("min_volume_usd")}

    @app.post("/v1/prices/batch")
    def batch() -> dict[str, Any]:
        return {"n": len(app.current_event.json_body["assets"])}

    with serving(ApiGatewayStandIn(app.resolve)) as running:
        status, headers, body, _ = request(running.url, "GET", "/v1/assets/native/price?min_volume_usd=100")
        assert (status, json.loads(body)) == (200, {"asset": "native", "min_volume_usd": "100"})
        assert headers["Content-Type"] == "application/json"
        status, _, body, _ = request(
            running.url,
            "POST",
            "/v1/prices/batch",
            b'{"assets": ["native", "XLM"]}',
            {"Content-Type": "application/json"},
        )
        assert (status, json.loads(body)) == (200, {"n": 2})


def test_build_event_is_deterministic_given_id_and_time() -> None:
    match = ResourceTable(ROUTES).match("/v1/assets/native")
    assert match is not None
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    req = HttpRequest("GET", "/v1/assets/native", [("Host", "api.local:8080")], b"", "10.0.0.1")
    rid = "0b5c5f6e-7c48-4d6b-9d2c-6e1a2b3c4d5e"
    event = build_event(req, match, request_id=rid, now=when)
    assert event["requestContext"]["requestTime"] == "02/Jan/2026:03:04:05 +0000"
    assert event["requestContext"]["requestTimeEpoch"] == int(when.timestamp() * 1000)
    assert event["requestContext"]["domainName"] == "api.local"
    assert event["requestContext"]["stage"] == "local"
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1"


# ---- the real handler on the real engine, mainnet fixtures ingested ----------------------------------------

YXLM = "yXLM:GARDNV3Q7YGT4AKSDF25LT32YSCCW4EV22Y2TV3I2PU2MMXJTEDL5T55"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DataPlane, LocalApiGateway]]:
    with fixture_stack(tmp_path_factory.mktemp("api-stack")) as running:
        yield running


@pytest.mark.edge
def test_the_real_handler_answers_through_the_stand_in_and_publishes_api_url(
    stack: tuple[DataPlane, LocalApiGateway],
) -> None:
    plane, api = stack
    assert json.loads(plane.endpoints_file.read_text())["api_url"] == api.url
    status, headers, body, _ = request(api.url, "GET", "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok", "clickhouse": "up"})
    assert headers["Content-Type"] == "application/json" and headers["x-amzn-RequestId"]
    status, _, body, _ = request(api.url, "GET", "/v1/assets/native/ohlcv?timeframe=all&granularity=1d")
    candles = json.loads(body)["candles"]
    assert status == 200 and len(candles) >= 3
    assert sum(c["trade_count"] for c in candles) > 0
    status, _, body, _ = request(api.url, "GET", "/v1/assets/native/price")
    assert status == 200 and json.loads(body)["price_usd"] > 0
    status, _, body, _ = request(api.url, "GET", "/v2/nothing")
    assert (status, json.loads(body)["code"]) == (404, "route_not_found")


@pytest.mark.edge
def test_a_percent_encoded_colon_names_the_same_asset_as_a_literal_one(
    stack: tuple[DataPlane, LocalApiGateway],
) -> None:
    # REST APIs hand pathParameters over still percent-encoded (`USDC%3AG…`); clients that encode the
    # colon, as URL libraries may, must get the same answer as those that do not.
    _, api = stack
    target = "/v1/assets/{}/ohlcv?timeframe=all&granularity=1M"
    literal = request(api.url, "GET", target.format(YXLM))
    encoded = request(api.url, "GET", target.format(YXLM.replace(":", "%3A")))
    assert literal[0] == 200, literal[2]
    assert encoded[0] == 200, encoded[2]
    assert json.loads(encoded[2])["candles"] == json.loads(literal[2])["candles"]


@pytest.mark.edge
@pytest.mark.slow
def test_make_run_serves_the_api_and_the_chart_and_stops_cleanly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.dataplane", "--workdir", str(tmp_path), "--api-port", "0"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: list[int] = []
    try:
        endpoints = tmp_path / "endpoints.json"
        deadline = time.monotonic() + 90
        while not (endpoints.exists() and "api_url" in json.loads(endpoints.read_text() or "{}")):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "make run did not publish api_url"
            time.sleep(0.2)
        api_url = json.loads(endpoints.read_text())["api_url"]
        assert request(api_url, "GET", "/health")[0] == 200
        status, headers, page, _ = request(api_url, "GET", "/chart")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert page.count(b'<g class="candle ') >= 3
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob("chart-*.html")):
            assert time.monotonic() < deadline, "no chart file written"
            time.sleep(0.2)
        children = _children(process.pid)
        assert len(children) == 2, children  # the ClickHouse stand-in and Caddy; the API is a thread
        process.send_signal(signal.SIGTERM)
        # As generous as test_dataplane's: the children's own shutdown is slow on a loaded 2-core runner.
        output, _ = process.communicate(timeout=90)
        assert process.returncode == 0, output
        assert f"curl -s {api_url}/health" in output
        assert f"candle chart: {api_url}/chart (also written to {tmp_path}/chart-" in output
        assert "stopped Caddy edge" in output and "stopped ClickHouse stand-in" in output
        assert not any(_running(p) for p in children)
        with pytest.raises(OSError):
            request(api_url, "GET", "/health")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
