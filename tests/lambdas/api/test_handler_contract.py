"""The handler's contracts with API Gateway and ClickHouse:

* THE CACHE-KEY TEST: serving varied requests to every route, each parameter the handler actually reads
  is in that route's ``cache_key_parameters()`` (what the Api component configures), so no input can
  vary a cached answer outside its key (reference-system.md §13.11);
* no SQL text the handler sends contains a request value: request values reach ClickHouse only as bound
  parameters;
* /openapi.json serves the generated document.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from typing import Any

import pytest

from lambdas.api import handler
from lambdas.api.openapi import build_document
from lambdas.api.params import recording_reads
from lambdas.api.routes import ROUTES, ROUTES_BY_KEY
from lambdas.common.edge_clickhouse import FixedClickHouse
from tests.lambdas.api.conftest import NEVER_SEEN, TIES, TOKEN, UNTRADED, USDC, USDC_SAC, Call, Engine

pytestmark = [pytest.mark.engine, pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")]

WINDOW = {"start": "2026-06-18T12:00:00Z", "end": "2026-06-19T12:00:00Z"}

# Varied requests per route: defaults, every parameter, edge values, errors, unknown parameters.
REQUESTS: dict[str, list[tuple[str, Any, dict[str, Any]]]] = {
    "GET /health": [("/health", None, {})],
    "GET /openapi.json": [("/openapi.json", {"x": "1"}, {})],
    "GET /v1/assets": [
        ("/v1/assets", None, {}),
        ("/v1/assets", {"type": "soroban", "search": "tk", "include_inactive": "true"}, {}),
        ("/v1/assets", {"sort": "code", "order": "asc", "limit": "3", "unknown": "1"}, {}),
        ("/v1/assets", {"sort": "price", "limit": "2"}, {"follow_cursor": True}),
        ("/v1/assets", {"limit": "0"}, {}),
    ],
    "GET /v1/assets/{asset}": [
        ("/v1/assets/XLM", None, {}),
        (f"/v1/assets/{USDC_SAC}", {"min_volume_usd": "5"}, {}),
        (f"/v1/assets/{NEVER_SEEN}", None, {}),
    ],
    "GET /v1/assets/{asset}/price": [
        ("/v1/assets/native/price", {"min_volume_usd": "10"}, {}),
        (f"/v1/assets/{TOKEN}/price", None, {}),
        (f"/v1/assets/{UNTRADED}/price", {"limit": "5"}, {}),
    ],
    "GET /v1/assets/{asset}/ohlcv": [
        ("/v1/assets/native/ohlcv", None, {}),
        ("/v1/assets/native/ohlcv", {**WINDOW, "granularity": "1h", "base_currency": "XLM"}, {}),
        ("/v1/assets/native/ohlcv", {"timeframe": "7d", "end": WINDOW["end"]}, {}),
        (f"/v1/assets/{NEVER_SEEN}/ohlcv", {"timeframe": "1h"}, {}),
    ],
    "GET /v1/oracles/{asset}": [("/v1/oracles/native", None, {}), (f"/v1/oracles/{USDC}", {"timeframe": "1h"}, {})],
    "GET /v1/backfill/status": [("/v1/backfill/status", {"task": "history"}, {})],
    "POST /v1/prices/batch": [
        ("/v1/prices/batch", {"min_volume_usd": "1"}, {"body": {"assets": ["XLM", TIES[0], "bad"]}})
    ],
}


def test_every_parameter_a_route_reads_is_in_its_cache_key(call: Call) -> None:
    assert set(REQUESTS) == {r.key for r in ROUTES}
    read: dict[str, set[str]] = defaultdict(set)
    for key, requests in REQUESTS.items():
        route = ROUTES_BY_KEY[key]
        for path, query, options in requests:
            with recording_reads() as reads:
                result = call(route.method, path, query, **{k: v for k, v in options.items() if k == "body"})
                if options.get("follow_cursor"):
                    assert result.body["cursor"]
                    call(route.method, path, {**query, "cursor": result.body["cursor"]})
            assert result.status < 500, (path, result.body)
            for r in reads:
                assert r.route == key
                location = "path" if r.location == "path" else "querystring"
                read[key].add(f"method.request.{location}.{r.name}")
    for route in ROUTES:
        key_params = set(route.cache_key_parameters())
        assert read[route.key] <= key_params, (route.key, read[route.key] - key_params)
        # Nothing declared is dead weight in the key either: every declared parameter is read.
        assert read[route.key] == key_params, (route.key, key_params - read[route.key])


class RecordingClient:
    """Passes queries to the real client and keeps their SQL text and bound parameters."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.queries: list[tuple[str, dict[str, Any]]] = []

    def query(self, sql: str, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:
        self.queries.append((sql, dict(parameters or {})))
        return self.inner.query(sql, parameters=parameters, **kw)

    def ping(self, **kw: Any) -> bool:
        return bool(self.inner.ping(**kw))


def test_no_sql_text_contains_a_request_value(call: Call, engine: Engine) -> None:
    recorder = RecordingClient(engine.reader)
    handler.set_runtime(handler.Runtime(FixedClickHouse(recorder)))
    ohlcv_window = {"start": "2026-06-18T13:37:00Z", "end": "2026-06-19T11:11:00Z"}
    requests: list[tuple[str, str, Any, dict[str, Any]]] = [
        ("GET", "/v1/assets", {"search": "tiE", "limit": "137", "include_inactive": "true"}, {}),
        ("GET", "/v1/assets", {"search": "Qz9", "type": "classic"}, {}),
        ("GET", f"/v1/assets/{USDC_SAC}", None, {}),
        ("GET", f"/v1/assets/{NEVER_SEEN}/price", {"min_volume_usd": "4242.5"}, {}),
        ("GET", f"/v1/assets/{USDC}/ohlcv", {**ohlcv_window, "granularity": "15m", "base_currency": "XLM"}, {}),
        ("GET", f"/v1/oracles/{UNTRADED}", None, {}),
        ("POST", "/v1/prices/batch", None, {"body": {"assets": [TIES[1], TOKEN, NEVER_SEEN]}}),
    ]
    first = call("GET", "/v1/assets", {"sort": "price", "limit": "5", "include_inactive": "true"})
    cursor = json.loads(base64.urlsafe_b64decode(first.body["cursor"] + "==="))
    requests.append(
        (
            "GET",
            "/v1/assets",
            {"sort": "price", "limit": "5", "include_inactive": "true", "cursor": first.body["cursor"]},
            {},
        )
    )
    for method, path, query, options in requests:
        assert call(method, path, query, **options).status < 500, path
    values = [
        "tie", "qz9", "137", "138", USDC_SAC, NEVER_SEEN, "4242", USDC, UNTRADED, TIES[1], TOKEN,
        "2026-06-18", "2026-06-19", "13:37", "11:11", cursor["id"], repr(cursor["v"]),
    ]  # fmt: skip
    assert recorder.queries
    for sql, _ in recorder.queries:
        for value in values:
            assert value.lower() not in sql.lower(), (value, sql[:200])
    bound = json.dumps([p for _, p in recorder.queries], default=str).lower()
    for value in (
        "tie",
        "qz9",
        "138",
        USDC_SAC,
        NEVER_SEEN,
        USDC,
        UNTRADED,
        TIES[1],
        TOKEN,
        "2026-06-18 13:37",
        cursor["id"],
    ):
        assert value.lower() in bound, f"{value} should reach ClickHouse as a bound parameter"
    assert "4242" not in bound  # min_volume_usd filters stored per-source values after the read


def test_openapi_json_is_the_generated_document(call: Call) -> None:
    result = call("GET", "/openapi.json")
    assert result.status == 200 and result.body == json.loads(json.dumps(build_document()))
    assert result.headers["Cache-Control"] == "public, max-age=3600"
