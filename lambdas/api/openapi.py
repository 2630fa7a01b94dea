"""The OpenAPI 3.1 document, generated from the route table and the response models; served at /openapi.json.

Nothing here is written twice: paths, methods, parameters (with their JSON Schemas), request bodies, cache
TTLs and the API-key requirement come from ``routes.ROUTES``; response bodies from the pydantic models in
``responses.py`` — the same classes the handler builds its answers with. ``OPERATIONS`` says which model
answers each operation and which error statuses it can return; every 4xx/5xx is the ``ErrorBody`` envelope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from lambdas.api.responses import (
    AssetItem,
    AssetList,
    BackfillStatusOut,
    BatchOut,
    Body,
    ErrorBody,
    HealthOut,
    OhlcvOut,
    OraclesOut,
    PriceOut,
)
from lambdas.api.routes import ROUTES, Route

TITLE = "Stellar Prices API"
VERSION = "1.0.0"
API_KEY_SCHEME = "apiKey"
API_KEY_HEADER = "x-api-key"


@dataclass(frozen=True)
class Operation:
    success: type[Body] | None  # None: a free-form JSON object (the OpenAPI document itself)
    errors: tuple[int, ...]  # besides 500 and 503, which every operation can return


OPERATIONS: dict[str, Operation] = {
    "getHealth": Operation(HealthOut, ()),
    "getOpenApi": Operation(None, ()),
    "listAssets": Operation(AssetList, (400,)),
    "getAsset": Operation(AssetItem, (400, 404)),
    "getAssetPrice": Operation(PriceOut, (400, 404)),
    "getAssetOhlcv": Operation(OhlcvOut, (400, 404)),
    "getOraclePrices": Operation(OraclesOut, (400, 404)),
    "getBackfillStatus": Operation(BackfillStatusOut, ()),
    "getPricesBatch": Operation(BatchOut, (400,)),
}
# Answered by API Gateway itself on key-protected routes (missing/unknown key, usage plan exceeded).
GATEWAY_ERRORS = (403, 429)
ALWAYS = (500, 503)

STATUS_TEXT = {
    400: "Invalid parameter or body; the message names it and says why",
    403: "Missing or unknown API key (answered by API Gateway)",
    404: "Unknown asset",
    429: "Rate or quota of the API key's usage plan exceeded (answered by API Gateway)",
    500: "Internal error (details are logged, never returned)",
    503: "A dependency (ClickHouse) is unavailable",
}


def component_schemas() -> dict[str, Any]:
    """JSON Schema of every response model (and what they reference), as OpenAPI components."""
    out: dict[str, Any] = {}
    ref = "#/components/schemas/{model}"
    models: set[type[Body]] = {ErrorBody, *(op.success for op in OPERATIONS.values() if op.success is not None)}
    for model in sorted(models, key=lambda m: m.__name__):
        schema = model.model_json_schema(ref_template=ref, mode="serialization")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return dict(sorted(out.items()))


def _json(schema: dict[str, Any] | None) -> dict[str, Any]:
    return {"application/json": {"schema": schema if schema is not None else {"type": "object"}}}


def _ref(model: type[Body]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def operation(route: Route) -> dict[str, Any]:
    op = OPERATIONS[route.operation_id]
    parameters = [
        {"name": p.name, "in": "path", "required": True, "description": p.description, "schema": p.schema()}
        for p in route.path_params
    ] + [
        {"name": p.name, "in": "query", "required": False, "description": p.description, "schema": p.schema()}
        for p in route.query
    ]
    success: dict[str, Any] = {"description": "OK", "content": _json(_ref(op.success) if op.success else None)}
    if route.cache_ttl_seconds:
        success["headers"] = {
            "Cache-Control": {
                "description": f"public, max-age={route.cache_ttl_seconds} (the gateway caches it as long)",
                "schema": {"type": "string"},
            }
        }
    responses: dict[str, Any] = {"200": success}
    errors = set(op.errors) | set(ALWAYS) | (set(GATEWAY_ERRORS) if route.api_key_required else set())
    for status in sorted(errors):
        responses[str(status)] = {"description": STATUS_TEXT[status], "content": _json(_ref(ErrorBody))}
    doc: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
        "security": [{API_KEY_SCHEME: []}] if route.api_key_required else [],
    }
    if route.body_schema is not None:
        doc["requestBody"] = {"required": True, "content": _json(route.body_schema)}
    return doc


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Prices of Stellar classic and Soroban assets. Errors are {code, message}; "
            "unknown query parameters are ignored (they are not part of the cache key).",
        },
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {API_KEY_SCHEME: {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}},
        },
    }


@cache
def document_json() -> str:
    """The document serialised once per container (it only changes with a deployment)."""
    return json.dumps(build_document(), separators=(",", ":"), sort_keys=False)
