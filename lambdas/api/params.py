"""Request inputs, parsed from the route table's ``Param`` declarations and from nothing else.

A route handler sees its request only through ``Inputs``: ``inputs.get(name)`` returns the parsed value
of a parameter the route DECLARES (path or query) and raises ``UndeclaredParameterError`` for any other
name. Since API Gateway's cache key is derived from the same declarations
(``Route.cache_key_parameters()``), nothing a handler can read is missing from its cache key; the reads
can be recorded (``recording_reads``) so a test proves it for every route.

Policy for what is not declared (docs/api.md): an unknown query parameter is IGNORED, never rejected.
API Gateway caches error responses like any other, under a key that does not contain the unknown
parameter, so a 400 for ``?x=1`` would be served to every later caller of the same URL without it (a
cache-poisoning denial of service). Ignoring it keeps each response a function of its cache key alone.
A parameter given twice counts with its last value, which is the one API Gateway puts both in
``queryStringParameters`` and in the cache key (``method.request.querystring.<name>``).

Every declared parameter present in the request is validated before the handler runs, whether the
handler reads it or not: a bad value is a 400 naming the parameter and why.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from lambdas.api.asset_ids import parse_asset
from lambdas.api.errors import bad_body, bad_parameter, echo
from lambdas.api.routes import Param, Route

MAX_STRING = 512
_INTEGER = re.compile(r"^-?[0-9]{1,18}$")
_NUMBER = re.compile(r"^-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?$")
# ClickHouse DateTime covers [1970-01-01, 2106-02-07); a date outside it must be a 400, not a server error.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2106, 1, 1, tzinfo=UTC)

Location = Literal["path", "query"]


class UndeclaredParameterError(LookupError):
    """A handler asked for a parameter its route does not declare: a programming error (500), by design
    loud, because that parameter would be missing from the route's cache key."""


@dataclass(frozen=True)
class ParamRead:
    route: str  # Route.key, e.g. "GET /v1/assets/{asset}/price"
    location: Location
    name: str


_reads: ContextVar[list[ParamRead] | None] = ContextVar("api_param_reads", default=None)


@contextmanager
def recording_reads() -> Iterator[list[ParamRead]]:
    """Collect every parameter read made through ``Inputs.get`` while the block runs."""
    reads: list[ParamRead] = []
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


class Inputs:
    """The parsed, validated inputs of one request to `route`."""

    __slots__ = ("_locations", "_values", "body", "route")

    def __init__(self, route: Route, values: Mapping[str, Any], body: Any = None) -> None:
        self.route = route
        self._values = dict(values)
        self._locations: dict[str, Location] = {p.name: "path" for p in route.path_params}
        self._locations.update({p.name: "query" for p in route.query})
        self.body = body

    def get(self, name: str) -> Any:
        """The value of declared parameter `name`: parsed, or its declared default, or None when absent."""
        location = self._locations.get(name)
        if location is None:
            raise UndeclaredParameterError(f"{self.route.key} does not declare a parameter {name!r}")
        reads = _reads.get()
        if reads is not None:
            reads.append(ParamRead(self.route.key, location, name))
        return self._values.get(name)


def parse_inputs(
    route: Route, path_values: Mapping[str, str], query: Mapping[str, str] | None, body: Any = None
) -> Inputs:
    values: dict[str, Any] = {}
    for param in route.path_params:
        raw = path_values.get(param.name)
        if raw is None or raw == "":
            raise bad_parameter(param.name, "is required")
        values[param.name] = parse_value(param, raw)
    given = query or {}
    for param in route.query:
        raw = given.get(param.name)
        values[param.name] = param.default if raw is None else parse_value(param, raw)
    return Inputs(route, values, body)


def parse_value(param: Param, raw: str) -> Any:
    """`raw` (a path or query string) as `param` declares it, or a 400 naming the parameter."""
    if len(raw) > MAX_STRING:
        raise bad_parameter(param.name, f"longer than {MAX_STRING} characters")
    special = SPECIAL_PARSERS.get(param.name)
    if special is not None:
        return special(raw)
    if param.enum is not None:
        if raw not in param.enum:
            raise bad_parameter(param.name, f"{echo(raw)} is not one of {', '.join(param.enum)}")
        return raw
    value = _parse_scalar(param, raw)
    if param.minimum is not None and value < param.minimum:
        raise bad_parameter(param.name, f"{raw} is below the minimum {_plain(param.minimum)}")
    if param.maximum is not None and value > param.maximum:
        raise bad_parameter(param.name, f"{raw} is above the maximum {_plain(param.maximum)}")
    return value


def _parse_scalar(param: Param, raw: str) -> Any:
    if param.kind == "integer":
        if not _INTEGER.match(raw):
            raise bad_parameter(param.name, f"{echo(raw)} is not an integer")
        return int(raw)
    if param.kind == "number":
        if not _NUMBER.match(raw) or not math.isfinite(float(raw)):
            raise bad_parameter(param.name, f"{echo(raw)} is not a decimal number")
        return float(raw)
    if param.kind == "boolean":
        if raw not in ("true", "false"):
            raise bad_parameter(param.name, f"{echo(raw)} is not 'true' or 'false'")
        return raw == "true"
    if param.pattern is not None and not re.match(param.pattern, raw):
        raise bad_parameter(param.name, f"{echo(raw)} does not match {param.pattern}")
    return parse_datetime(param.name, raw) if param.format == "date-time" else raw


def parse_datetime(name: str, raw: str) -> datetime:
    """An ISO 8601 date-time (``Z`` or an offset; without one it is taken as UTC), as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_parameter(name, f"{echo(raw)} is not an ISO 8601 date-time such as 2024-05-01T12:00:00Z") from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise bad_parameter(name, f"{echo(raw)} is outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}")
    return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


SPECIAL_PARSERS: dict[str, Callable[[str], Any]] = {"asset": parse_asset}


# ---- request bodies --------------------------------------------------------------------------------------

# The JSON Schema keywords `validate_body` implements; a route body schema using any other is refused at
# import, so the table cannot outgrow the validator silently.
BODY_KEYWORDS = frozenset({"type", "required", "additionalProperties", "properties", "minItems", "maxItems", "items"})
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def check_body_schema(schema: Mapping[str, Any], where: str = "") -> None:
    unknown = set(schema) - BODY_KEYWORDS
    if unknown:
        raise ValueError(f"body schema{where} uses unsupported keywords {sorted(unknown)}")
    if schema.get("type") not in _JSON_TYPES:
        raise ValueError(f"body schema{where} needs a type among {sorted(_JSON_TYPES)}")
    for name, sub in schema.get("properties", {}).items():
        check_body_schema(sub, f"{where}.{name}")
    if "items" in schema:
        check_body_schema(schema["items"], f"{where}[]")


def validate_body(schema: Mapping[str, Any], value: Any, where: str = "") -> None:
    """Raise a 400 naming the JSON path (e.g. ``.assets[3]``) of the first violation of `schema`."""
    kind = schema["type"]
    if not _JSON_TYPES[kind](value):
        raise bad_body(where, f"expected a JSON {kind}")
    if kind == "object":
        _validate_object(schema, value, where)
    elif kind == "array":
        _validate_array(schema, value, where)


def _validate_object(schema: Mapping[str, Any], value: dict[str, Any], where: str) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            raise bad_body(where, f"'{name}' is required")
    if schema.get("additionalProperties") is False:
        extra = sorted(set(value) - set(properties))
        if extra:
            raise bad_body(where, f"unknown field {echo(extra[0])}; allowed: {', '.join(properties)}")
    for name, sub in properties.items():
        if name in value:
            validate_body(sub, value[name], f"{where}.{name}")


def _validate_array(schema: Mapping[str, Any], value: list[Any], where: str) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        raise bad_body(where, f"needs at least {schema['minItems']} item(s)")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise bad_body(where, f"has {len(value)} items, at most {schema['maxItems']} are allowed")
    if "items" in schema:
        for index, item in enumerate(value):
            validate_body(schema["items"], item, f"{where}[{index}]")


def parse_json_body(text: str | None) -> Any:
    if text is None or not text.strip():
        raise bad_body("", "a JSON object is required")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad_body("", f"not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise bad_body("", "nested too deeply") from None
