"""Error answers: every 4xx/5xx is the {code, message} envelope with the right status, 400s name the
parameter, unrouted requests get 404/405 in the same envelope, bad input never yields a 5xx, internals
never leak; and the unknown-parameter policy (ignored: the answer is the one without it)."""

from __future__ import annotations

from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import OperationalError

from lambdas.api import handler
from lambdas.api.routes import ROUTES
from lambdas.common.edge_clickhouse import FixedClickHouse
from tests.lambdas.api.conftest import USDC, Call, Engine
from tests.lambdas.api.events import FakeContext, answer, rest_event

pytestmark = [pytest.mark.engine, pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")]

BAD_CHECKSUM = USDC[:-1] + "M"


@pytest.mark.parametrize(
    ("path", "query", "code", "starts"),
    [
        ("/v1/assets", {"limit": "0"}, "invalid_parameter", "parameter 'limit'"),
        ("/v1/assets", {"limit": "201"}, "invalid_parameter", "parameter 'limit'"),
        ("/v1/assets", {"sort": "volume"}, "invalid_parameter", "parameter 'sort'"),
        ("/v1/assets", {"order": "up"}, "invalid_parameter", "parameter 'order'"),
        ("/v1/assets", {"type": "CLASSIC"}, "invalid_parameter", "parameter 'type'"),
        ("/v1/assets", {"include_inactive": "1"}, "invalid_parameter", "parameter 'include_inactive'"),
        ("/v1/assets", {"cursor": "eyJzIjoicHJpY2UifQ"}, "invalid_parameter", "parameter 'cursor'"),
        ("/v1/assets/XLM:", None, "invalid_asset", "parameter 'asset'"),
        (f"/v1/assets/{BAD_CHECKSUM}", None, "invalid_asset", "parameter 'asset'"),
        (f"/v1/assets/{BAD_CHECKSUM}/price", None, "invalid_asset", "parameter 'asset'"),
        (f"/v1/oracles/{BAD_CHECKSUM}", None, "invalid_asset", "parameter 'asset'"),
        ("/v1/assets/native/price", {"min_volume_usd": "-5"}, "invalid_parameter", "parameter 'min_volume_usd'"),
        ("/v1/assets/native/ohlcv", {"granularity": "2h"}, "invalid_parameter", "parameter 'granularity'"),
        ("/v1/assets/native/ohlcv", {"granularity": "1mo"}, "invalid_parameter", "parameter 'granularity'"),
        ("/v1/assets/native/ohlcv", {"timeframe": "2d"}, "invalid_parameter", "parameter 'timeframe'"),
        ("/v1/assets/native/ohlcv", {"base_currency": "EUR"}, "invalid_parameter", "parameter 'base_currency'"),
        ("/v1/assets/native/ohlcv", {"start": "last week"}, "invalid_parameter", "parameter 'start'"),
        ("/v1/assets/native/ohlcv", {"end": "2026-02-30T00:00:00Z"}, "invalid_parameter", "parameter 'end'"),
        (
            "/v1/assets/native/ohlcv",
            {"start": "2026-06-19T00:00:00Z", "end": "2026-06-18T00:00:00Z"},
            "invalid_parameter",
            "parameter 'end'",
        ),
        (
            "/v1/assets/native/ohlcv",
            {"timeframe": "1y", "granularity": "15m"},
            "invalid_parameter",
            "parameter 'granularity'",
        ),
    ],
)
def test_bad_inputs_are_400_envelopes_naming_the_parameter(
    call: Call, path: str, query: dict[str, str] | None, code: str, starts: str
) -> None:
    result = call("GET", path, query)
    assert result.status == 400, result.body
    assert set(result.body) == {"code", "message"} and result.body["code"] == code
    assert result.body["message"].startswith(starts), result.body["message"]
    assert result.headers["Cache-Control"] == "no-store" and result.headers["Access-Control-Allow-Origin"] == "*"


def test_unknown_routes_are_404_and_wrong_methods_405_in_the_same_envelope(call: Call) -> None:
    for path in ("/v2/assets", "/v1/asset", "/v1/assets/native/volume", "/", "/v1/prices"):
        result = call("GET", path)
        assert (result.status, result.body["code"]) == (404, "route_not_found"), path
        assert set(result.body) == {"code", "message"}
    for method, path, allowed in (
        ("POST", "/v1/assets", "GET"),
        ("DELETE", "/v1/assets/native", "GET"),
        ("PUT", "/v1/assets/native/price", "GET"),
        ("GET", "/v1/prices/batch", "POST"),
        ("OPTIONS", "/health", "GET"),
    ):
        result = call(method, path)
        assert (result.status, result.body["code"]) == (405, "method_not_allowed"), (method, path)
        assert result.headers["Allow"] == allowed and allowed in result.body["message"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"raw_body": "{not json"}, "not valid JSON"),
        ({"raw_body": ""}, "a JSON object is required"),
        ({"raw_body": "[1, 2]"}, "expected a JSON object"),
        ({"body": {}}, "'assets' is required"),
        ({"body": {"assets": []}}, "at least 1"),
        ({"body": {"assets": ["native"] * 101}}, "at most 100"),
        ({"body": {"assets": [["native"]]}}, "assets[0]: expected a JSON string"),
        ({"body": {"assets": ["native"], "extra": 1}}, "unknown field 'extra'"),
        ({"raw_body": "!!!not-base64!!!", "base64_body": True}, "base64"),
        ({"raw_body": "[" * 50_000}, "request body"),
    ],
)
def test_bad_batch_bodies_are_400_envelopes(call: Call, kwargs: dict[str, Any], fragment: str) -> None:
    result = call("POST", "/v1/prices/batch", **kwargs)
    assert (result.status, result.body["code"]) == (400, "invalid_body"), result.body
    assert fragment in result.body["message"]


def test_an_unknown_query_parameter_changes_nothing(call: Call) -> None:
    for path, query in (
        ("/v1/assets", {"limit": "5", "sort": "price"}),
        ("/v1/assets/native/price", {}),
        ("/v1/assets/native/ohlcv", {"start": "2026-06-18T12:00:00Z", "end": "2026-06-19T12:00:00Z"}),
        ("/v1/backfill/status", {}),
        ("/v1/assets", {"limit": "0"}),  # a 400 is the same 400 with or without it
    ):
        plain = call("GET", path, query)
        for extra in (
            {"utm_source": "x"},
            {"Limit": "1"},
            {"min_volume_usd": "1e9"} if "price" not in path else {"foo": ""},
        ):
            noisy = call("GET", path, {**query, **extra})
            assert (noisy.status, noisy.text) == (plain.status, plain.text), (path, extra)


def test_a_repeated_parameter_counts_with_its_last_value(call: Call) -> None:
    result = call("GET", "/v1/assets", [("limit", "0"), ("limit", "3")])
    assert result.status == 200 and len(result.body["assets"]) == 3
    result = call("GET", "/v1/assets", [("limit", "3"), ("limit", "0")])
    assert result.status == 400


NASTY = [
    "",
    " ",
    "\x00",
    "%00",
    "'; DROP TABLE prices.assets --",
    "{x:String}",
    "💥" * 20,
    "-1",
    "1e400",
    "NaN",
    "9" * 40,
    "a" * 2000,
]


def test_no_input_yields_a_5xx(call: Call) -> None:
    seen = 0
    for route in ROUTES:
        if route.method != "GET":
            continue
        base = route.path.replace("{asset}", "native")
        for param in route.query:
            for value in NASTY:
                result = call("GET", base, {param.name: value})
                assert result.status < 500, (route.path, param.name, value, result.body)
                seen += 1
        if route.path_params:
            for value in NASTY[1:]:
                result = call("GET", route.path.replace("{asset}", value.replace("/", "")))
                assert result.status < 500, (route.path, value, result.body)
                seen += 1
    for value in NASTY:
        result = call("POST", "/v1/prices/batch", body={"assets": [value]})
        assert result.status == 200 and result.body["results"][0]["error"]["code"] in (
            "invalid_asset",
            "asset_not_found",
        )
        seen += 1
    assert seen > 150


def test_percent_encoded_and_decoded_paths_reach_the_same_asset(engine: Engine) -> None:
    handler.set_runtime(handler.Runtime(FixedClickHouse(engine.reader)))
    try:
        event = rest_event("GET", f"/v1/assets/{USDC}/price")
        event["path"] = event["path"].replace(":", "%3A")  # as a client may send it; pathParameters stay decoded
        encoded = answer(handler.handler(event, FakeContext()))
        without_parameters = {**event, "pathParameters": None}  # an adapter that does not fill them
        fallback = answer(handler.handler(without_parameters, FakeContext()))
        still_encoded = {**event, "pathParameters": {"asset": USDC.replace(":", "%3A")}}
        assert answer(handler.handler(still_encoded, FakeContext())).body == fallback.body
        plain = answer(handler.handler(rest_event("GET", f"/v1/assets/{USDC}/price"), FakeContext()))
        assert encoded.status == fallback.status == plain.status == 200
        assert encoded.body == fallback.body == plain.body and plain.body["asset"] == USDC
    finally:
        handler.set_runtime(None)


class CountingProvider(FixedClickHouse):
    """A fixed client that counts the handler's requests to rebuild it."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.invalidations = 0

    def invalidate(self) -> None:
        self.invalidations += 1


class FailingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def query(self, *_: Any, **__: Any) -> Any:
        raise self.error

    def ping(self, **_: Any) -> bool:
        return True


def test_an_internal_failure_is_a_500_without_internals_and_is_logged(
    call: Call, caplog: pytest.LogCaptureFixture
) -> None:
    provider = CountingProvider(
        FailingClient(RuntimeError("Code: 47. Unknown identifier p_secret_column in /srv/prices"))
    )
    handler.set_runtime(handler.Runtime(provider))
    result = call("GET", "/v1/assets/native/price")
    assert (result.status, result.body["code"]) == (500, "internal_error")
    assert "p_secret_column" not in result.text and "/srv" not in result.text and "Code: 47" not in result.text
    assert result.headers["Cache-Control"] == "no-store"
    assert "p_secret_column" in caplog.text
    assert provider.invalidations == 0


def test_a_broken_connection_is_a_503_and_the_client_is_rebuilt(call: Call) -> None:
    provider = CountingProvider(FailingClient(OperationalError("HTTPSConnectionPool: Max retries exceeded, 10.0.0.7")))
    handler.set_runtime(handler.Runtime(provider))
    result = call("GET", "/v1/assets")
    assert (result.status, result.body["code"]) == (503, "upstream_unavailable")
    assert "10.0.0.7" not in result.text
    assert provider.invalidations == 1


def test_success_headers_follow_the_route_table(call: Call) -> None:
    for route in ROUTES:
        if route.method != "GET" or route.path == "/health":
            continue
        result = call("GET", route.path.replace("{asset}", "native"))
        assert result.status == 200, route.path
        assert result.headers["Cache-Control"] == f"public, max-age={route.cache_ttl_seconds}"
        assert result.headers["Access-Control-Allow-Origin"] == "*"
        assert result.headers["Content-Type"] == "application/json"
