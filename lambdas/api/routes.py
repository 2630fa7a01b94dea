"""The route table: the single definition of every API route and of every input it reads.

Three things are derived from it and must never be written by hand elsewhere:

* the handler's routing and parameter parsing (`lambdas/api/handler.py`): a route reads its inputs only
  through the parameters declared here;
* the OpenAPI 3.1 document served at `/openapi.json`;
* the API Gateway resources, methods, per-route cache TTLs and **cache key parameters**
  (`components/api.py`): every path and query parameter a route declares is in its cache key, so an
  undeclared parameter can never poison the cache (reference-system.md §13.11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

ParamKind = Literal["string", "integer", "number", "boolean"]
Method = Literal["GET", "POST"]

GRANULARITIES = ("1m", "15m", "1h", "4h", "1d", "1w", "1M")
TIMEFRAMES = ("1h", "24h", "7d", "30d", "1y", "all")
ASSET_PATTERN = r"^(native|XLM|[A-Za-z0-9]{1,12}:G[A-Z2-7]{55}|C[A-Z2-7]{55})$"


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind
    description: str
    enum: tuple[str, ...] | None = None
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    format: str | None = None  # e.g. "date-time"

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this parameter's value (OpenAPI 3.1 is JSON Schema 2020-12)."""
        out: dict[str, Any] = {"type": self.kind}
        for key, value in (
            ("enum", list(self.enum) if self.enum else None),
            ("default", self.default),
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("pattern", self.pattern),
            ("format", self.format),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Route:
    method: Method
    path: str  # API Gateway / OpenAPI template, e.g. "/v1/assets/{asset}/price"
    operation_id: str
    summary: str
    query: tuple[Param, ...] = ()
    path_params: tuple[Param, ...] = ()
    # Stage cache TTL for this method; 0 = never cached (POST, health).
    cache_ttl_seconds: int = 0
    api_key_required: bool = True
    # JSON Schema of the request body (POST only).
    body_schema: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        declared = {p.name for p in self.path_params}
        in_path = set(re.findall(r"{([a-z_]+)}", self.path))
        if declared != in_path:
            raise ValueError(f"{self.method} {self.path}: path params {sorted(declared)} != {sorted(in_path)}")
        if self.method != "GET" and self.cache_ttl_seconds:
            raise ValueError(f"{self.method} {self.path}: only GET responses may be cached")

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def cache_key_parameters(self) -> list[str]:
        """API Gateway cache key parameters: every declared path and query parameter, nothing else."""
        return [f"method.request.path.{p.name}" for p in self.path_params] + [
            f"method.request.querystring.{p.name}" for p in self.query
        ]


ASSET = Param(
    "asset",
    "string",
    "`native` or `XLM` for lumens, `CODE:ISSUER` for a classic asset, or a `C…` Soroban contract id",
    pattern=ASSET_PATTERN,
)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/health",
        "getHealth",
        "Liveness, and whether ClickHouse answers",
        api_key_required=False,
    ),
    Route(
        "GET",
        "/openapi.json",
        "getOpenApi",
        "This document (OpenAPI 3.1)",
        cache_ttl_seconds=3600,
        api_key_required=False,
    ),
    Route(
        "GET",
        "/v1/assets",
        "listAssets",
        "Assets with their current price, 24 h change and volume; keyset-paginated",
        query=(
            Param(
                "type",
                "string",
                "classic (lumens and CODE:ISSUER assets), soroban (C… contract tokens) or all",
                enum=("classic", "soroban", "all"),
                default="all",
            ),
            Param("search", "string", "Asset code prefix (case-insensitive)", pattern=r"^[A-Za-z0-9]{1,12}$"),
            Param(
                "sort",
                "string",
                "Sort key",
                enum=("price", "volume_24h", "change_24h", "code"),
                default="volume_24h",
            ),
            Param("order", "string", "Sort order", enum=("asc", "desc"), default="desc"),
            Param(
                "cursor",
                "string",
                "Opaque cursor from the previous page's `cursor`",
                pattern=r"^[A-Za-z0-9_=-]{1,512}$",
            ),
            Param("limit", "integer", "Page size", default=50, minimum=1, maximum=200),
            Param(
                "include_inactive",
                "boolean",
                "Also list assets without a current price (no priced trade in 24 h) and assets marked inactive",
                default=False,
            ),
        ),
        cache_ttl_seconds=60,
    ),
    Route("GET", "/v1/assets/{asset}", "getAsset", "One asset", path_params=(ASSET,), cache_ttl_seconds=60),
    Route(
        "GET",
        "/v1/assets/{asset}/price",
        "getAssetPrice",
        "Current price (L2: cross-source 24 h VWAP with stale-source and outlier filters)",
        path_params=(ASSET,),
        query=(
            Param(
                "min_volume_usd",
                "number",
                "Only sources with at least this 24 h USD volume (strict when given)",
                minimum=0,
            ),
        ),
        cache_ttl_seconds=10,
    ),
    Route(
        "GET",
        "/v1/assets/{asset}/ohlcv",
        "getAssetOhlcv",
        "OHLCV candles",
        path_params=(ASSET,),
        query=(
            Param(
                "timeframe",
                "string",
                "Window length, ending at `end` (default now); `all` starts 2015-09-30",
                enum=TIMEFRAMES,
                default="24h",
            ),
            Param(
                "granularity",
                "string",
                "Candle size; when absent, from the window length: 1h→1m, 24h→15m, 7d→1h, 30d→4h, longer→1d",
                enum=GRANULARITIES,
            ),
            Param("start", "string", "Window start (ISO 8601), overrides timeframe", format="date-time"),
            Param("end", "string", "Window end (ISO 8601), default now", format="date-time"),
            Param("base_currency", "string", "Quote prices in", enum=("USD", "XLM"), default="USD"),
        ),
        cache_ttl_seconds=60,
    ),
    Route(
        "GET",
        "/v1/oracles/{asset}",
        "getOraclePrices",
        "Latest oracle price per oracle",
        path_params=(ASSET,),
        cache_ttl_seconds=60,
    ),
    Route("GET", "/v1/backfill/status", "getBackfillStatus", "History backfill progress", cache_ttl_seconds=60),
    Route(
        "POST",
        "/v1/prices/batch",
        "getPricesBatch",
        "Current prices of up to 100 assets; a result or an error per asset",
        body_schema={
            "type": "object",
            "required": ["assets"],
            "additionalProperties": False,
            "properties": {
                "assets": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}},
            },
        },
    ),
)

ROUTES_BY_KEY: dict[str, Route] = {route.key: route for route in ROUTES}
