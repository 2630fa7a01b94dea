"""The handler's pure parts, no engine: asset ids and StrKey, parameter parsing, cursor, OHLCV window, body
validation, the OpenAPI document, settings and wiring."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate
from stellar_sdk import StrKey

from lambdas.api import endpoints, handler, openapi
from lambdas.api.asset_ids import VERSION_ACCOUNT, VERSION_CONTRACT, parse_asset, strkey_problem
from lambdas.api.cursor import Cursor, decode_cursor, encode_cursor
from lambdas.api.errors import ApiError
from lambdas.api.params import (
    Inputs,
    UndeclaredParameterError,
    check_body_schema,
    parse_inputs,
    parse_json_body,
    recording_reads,
    validate_body,
)
from lambdas.api.routes import ASSET_PATTERN, ROUTES, ROUTES_BY_KEY
from lambdas.api.settings import load_api_settings
from lambdas.common.settings import SettingsError

pytestmark = pytest.mark.unit

USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
LIST = ROUTES_BY_KEY["GET /v1/assets"]
OHLCV = ROUTES_BY_KEY["GET /v1/assets/{asset}/ohlcv"]
PRICE = ROUTES_BY_KEY["GET /v1/assets/{asset}/price"]
BATCH = ROUTES_BY_KEY["POST /v1/prices/batch"]


def raises_400(fn: Any, *args: Any, **kw: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args, **kw)
    assert info.value.status == 400, info.value.message
    return info.value


# ---- StrKey and asset ids ------------------------------------------------------------------------------


def _sdk_valid(value: str, version: int) -> bool:
    if version == VERSION_ACCOUNT:
        return bool(StrKey.is_valid_ed25519_public_key(value))
    return bool(StrKey.is_valid_contract(value))


def test_strkey_check_agrees_with_stellar_sdk_on_valid_corrupted_truncated_and_foreign_keys() -> None:
    rng = random.Random(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    checked = 0
    for _ in range(40):
        raw = rng.randbytes(32)
        for version, key in (
            (VERSION_ACCOUNT, StrKey.encode_ed25519_public_key(raw)),
            (VERSION_CONTRACT, StrKey.encode_contract(raw)),
        ):
            variants = [key, key[:-1], key + "A", key.lower()]
            position = rng.randrange(56)
            variants.append(key[:position] + rng.choice(alphabet.replace(key[position], "")) + key[position + 1 :])
            # The other kind's key with a valid checksum of its own.
            other = StrKey.encode_contract(raw) if version == VERSION_ACCOUNT else StrKey.encode_ed25519_public_key(raw)
            variants.append(other)
            for value in variants:
                assert (strkey_problem(value, version) is None) == _sdk_valid(value, version), value
                checked += 1
    assert checked == 40 * 2 * 6


def test_every_single_character_change_of_an_issuer_is_caught_as_a_checksum_or_format_error() -> None:
    issuer = USDC.split(":")[1]
    for position in range(1, 56):
        for letter in "A2Z7":
            if issuer[position] == letter:
                continue
            changed = issuer[:position] + letter + issuer[position + 1 :]
            if _sdk_valid(changed, VERSION_ACCOUNT):  # pragma: no cover - CRC16 catches every single change
                pytest.fail(f"stellar_sdk accepts {changed}")
            assert strkey_problem(changed, VERSION_ACCOUNT) is not None


def test_asset_ids_map_lumens_and_keep_classic_and_contract_ids() -> None:
    assert parse_asset("native").asset_id == "native"
    assert parse_asset("XLM").asset_id == "native" and parse_asset("XLM").given == "XLM"
    assert parse_asset(USDC).asset_id == USDC and parse_asset(USDC).kind == "classic"
    contract = StrKey.encode_contract(bytes(range(32)))
    assert parse_asset(contract).kind == "contract"
    # A 12-character code and a 1-character code.
    assert parse_asset("ABCDEFGHIJKL:" + USDC.split(":")[1]).kind == "classic"
    assert parse_asset("X:" + USDC.split(":")[1]).kind == "classic"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVM", "checksum"),
        ("CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI74", "checksum"),
        ("XLM:", "56 characters"),
        ("USDC", "expected 'native'"),
        ("xlm", "expected 'native'"),
        ("ABCDEFGHIJKLM:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", "1 to 12"),
        ("US-D:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", "1 to 12"),
        (":GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", "1 to 12"),
        ("USDC:CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75", "not a G… key"),
        ("GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", "expected 'native'"),
        ("C" + "a" * 55, "base32"),
    ],
)
def test_bad_asset_ids_are_400s_naming_the_parameter_and_the_reason(text: str, why: str) -> None:
    error = raises_400(parse_asset, text)
    assert error.code == "invalid_asset"
    assert error.message.startswith("parameter 'asset'") and why in error.message


def test_the_route_pattern_and_the_parser_accept_the_same_well_formed_ids() -> None:
    rng = random.Random(3)
    for _ in range(50):
        raw = rng.randbytes(32)
        for text in (f"AB{rng.randrange(99)}:{StrKey.encode_ed25519_public_key(raw)}", StrKey.encode_contract(raw)):
            assert re.match(ASSET_PATTERN, text)
            parse_asset(text)
    for text in ("native", "XLM"):
        assert re.match(ASSET_PATTERN, text)
        parse_asset(text)
    # Pattern-valid but checksum-invalid: the parser is stricter, never looser.
    assert re.match(ASSET_PATTERN, "C" + "A" * 55)
    raises_400(parse_asset, "C" + "A" * 55)


# ---- parameters ----------------------------------------------------------------------------------------


def test_declared_parameters_are_parsed_with_defaults_and_undeclared_ones_are_ignored() -> None:
    inputs = parse_inputs(LIST, {}, {"limit": "7", "include_inactive": "true", "utm_source": "x", "LIMIT": "9"})
    assert inputs.get("limit") == 7 and inputs.get("include_inactive") is True
    assert inputs.get("sort") == "volume_24h" and inputs.get("order") == "desc" and inputs.get("type") == "all"
    assert inputs.get("search") is None and inputs.get("cursor") is None


def test_a_handler_cannot_read_an_undeclared_parameter_and_reads_are_recorded() -> None:
    inputs = parse_inputs(PRICE, {"asset": "native"}, {"min_volume_usd": "5", "limit": "3"})
    with recording_reads() as reads:
        assert inputs.get("min_volume_usd") == 5.0
        assert inputs.get("asset").asset_id == "native"
        with pytest.raises(UndeclaredParameterError, match="limit"):
            inputs.get("limit")
    assert [(r.location, r.name) for r in reads] == [("query", "min_volume_usd"), ("path", "asset")]
    assert all(r.route == PRICE.key for r in reads)
    # Outside the block nothing is recorded.
    inputs.get("asset")
    assert len(reads) == 2


@pytest.mark.parametrize(
    ("query", "name", "why"),
    [
        ({"limit": "0"}, "limit", "below the minimum 1"),
        ({"limit": "201"}, "limit", "above the maximum 200"),
        ({"limit": "ten"}, "limit", "not an integer"),
        ({"limit": "1_0"}, "limit", "not an integer"),
        ({"limit": " 5"}, "limit", "not an integer"),
        ({"limit": ""}, "limit", "not an integer"),
        ({"sort": "price_usd"}, "sort", "not one of price, volume_24h, change_24h, code"),
        ({"order": "DESC"}, "order", "not one of asc, desc"),
        ({"type": "token"}, "type", "not one of"),
        ({"include_inactive": "yes"}, "include_inactive", "not 'true' or 'false'"),
        ({"search": "US D"}, "search", "does not match"),
        ({"search": "A" * 13}, "search", "does not match"),
        ({"cursor": "not a cursor!"}, "cursor", "does not match"),
        ({"limit": "9" * 600}, "limit", "longer than 512"),
    ],
)
def test_bad_query_values_are_400s_naming_the_parameter(query: dict[str, str], name: str, why: str) -> None:
    error = raises_400(parse_inputs, LIST, {}, query)
    assert error.code == "invalid_parameter"
    assert error.message.startswith(f"parameter '{name}'") and why in error.message, error.message


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0", True),
        ("100", True),
        ("12.5", True),
        ("1e3", True),
        ("-1", False),
        ("nan", False),
        ("inf", False),
        ("1e999", False),
        ("0x10", False),
    ],
)
def test_min_volume_usd_takes_finite_non_negative_decimals(value: str, ok: bool) -> None:
    if ok:
        assert parse_inputs(PRICE, {"asset": "native"}, {"min_volume_usd": value}).get("min_volume_usd") == float(value)
    else:
        assert (
            "min_volume_usd" in raises_400(parse_inputs, PRICE, {"asset": "native"}, {"min_volume_usd": value}).message
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-19T00:00:00Z", datetime(2026, 6, 19, tzinfo=UTC)),
        ("2026-06-19T02:00:00+02:00", datetime(2026, 6, 19, tzinfo=UTC)),
        ("2026-06-19T00:00:00", datetime(2026, 6, 19, tzinfo=UTC)),
        ("2026-06-19", datetime(2026, 6, 19, tzinfo=UTC)),
        ("2026-06-19T00:00:00.250Z", datetime(2026, 6, 19, 0, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_dates_are_iso_8601_and_become_utc(value: str, expected: datetime) -> None:
    assert parse_inputs(OHLCV, {"asset": "native"}, {"start": value}).get("start") == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-01T00:00:00Z", "1969-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "2026-06-19T25:00"]
)
def test_bad_dates_are_400s_naming_the_parameter(value: str) -> None:
    error = raises_400(parse_inputs, OHLCV, {"asset": "native"}, {"end": value})
    assert error.message.startswith("parameter 'end'")


# ---- cursor --------------------------------------------------------------------------------------------


def test_cursor_round_trips_exact_floats_strings_and_nulls() -> None:
    for value in (0.1 + 0.2, 1e-300, 123456789.123456789, None):
        cursor = Cursor("price", "desc", value, USDC)
        text = encode_cursor(cursor)
        assert re.match(LIST.query[4].pattern or "", text)
        assert decode_cursor(text, sort="price", order="desc", numeric=True) == cursor
    cursor = Cursor("code", "asc", "usdc", USDC)
    assert decode_cursor(encode_cursor(cursor), sort="code", order="asc", numeric=False) == cursor


def test_a_cursor_of_another_sort_or_a_forged_one_is_a_400_naming_cursor() -> None:
    text = encode_cursor(Cursor("price", "desc", 1.5, USDC))
    assert (
        "issued for sort=price order=desc"
        in raises_400(decode_cursor, text, sort="price", order="asc", numeric=True).message
    )
    raises_400(decode_cursor, text, sort="code", order="desc", numeric=False)
    forged = encode_cursor(Cursor("price", "desc", "1.5", USDC))  # a string where a number belongs
    raises_400(decode_cursor, forged, sort="price", order="desc", numeric=True)
    for junk in ("AAAA", "e30", "bnVsbA", "W10", "x" * 30):
        error = raises_400(decode_cursor, junk, sort="price", order="desc", numeric=True)
        assert error.message.startswith("parameter 'cursor'")


# ---- OHLCV window ---------------------------------------------------------------------------------------

NOW = datetime(2026, 6, 19, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timeframe", "granularity", "span"),
    [
        ("1h", "1m", timedelta(hours=1)),
        ("24h", "15m", timedelta(hours=24)),
        ("7d", "1h", timedelta(days=7)),
        ("30d", "4h", timedelta(days=30)),
        ("1y", "1d", timedelta(days=365)),
        ("all", "1d", NOW - endpoints.HISTORY_START),
    ],
)
def test_granularity_follows_the_timeframe_when_absent(timeframe: str, granularity: str, span: timedelta) -> None:
    assert endpoints.ohlcv_window(timeframe, None, None, None, NOW) == (granularity, NOW - span, NOW)


def test_start_and_end_override_the_timeframe_and_pick_the_granularity_by_length() -> None:
    start = NOW - timedelta(days=3)
    assert endpoints.ohlcv_window("1h", None, start, None, NOW) == ("1h", start, NOW)
    end = NOW - timedelta(days=10)
    assert endpoints.ohlcv_window("24h", None, None, end, NOW) == ("15m", end - timedelta(hours=24), end)
    assert endpoints.ohlcv_window("24h", "1w", start, end + timedelta(days=20), NOW)[0] == "1w"


def test_windows_ending_before_they_start_or_holding_too_many_candles_are_400s() -> None:
    error = raises_400(endpoints.ohlcv_window, "24h", None, NOW, NOW - timedelta(hours=1), NOW)
    assert error.message.startswith("parameter 'end'")
    error = raises_400(endpoints.ohlcv_window, "30d", "1m", None, None, NOW)
    assert error.message.startswith("parameter 'granularity'") and str(endpoints.MAX_CANDLES) in error.message
    error = raises_400(endpoints.ohlcv_window, "24h", None, datetime(1990, 1, 1, tzinfo=UTC), None, NOW)
    assert error.message.startswith("parameter 'start'")
    # The last window that fits.
    limit = timedelta(minutes=endpoints.MAX_CANDLES)
    assert endpoints.ohlcv_window("24h", "1m", NOW - limit, NOW, NOW)[0] == "1m"
    raises_400(endpoints.ohlcv_window, "24h", "1m", NOW - limit - timedelta(minutes=1), NOW, NOW)


# ---- request bodies --------------------------------------------------------------------------------------


def test_the_batch_body_schema_is_enforced_with_json_paths_in_the_messages() -> None:
    assert BATCH.body_schema is not None
    schema = BATCH.body_schema
    validate_body(schema, {"assets": ["native"]})
    cases = [
        ([], "request body: expected a JSON object"),
        ({}, "'assets' is required"),
        ({"assets": []}, "request body.assets: needs at least 1"),
        ({"assets": ["native"] * 101}, "has 101 items, at most 100"),
        ({"assets": ["native", 7]}, "request body.assets[1]: expected a JSON string"),
        ({"assets": ["native"], "min_volume_usd": 5}, "unknown field 'min_volume_usd'"),
        ({"assets": "native"}, "expected a JSON array"),
    ]
    for body, message in cases:
        error = raises_400(validate_body, schema, body)
        assert error.code == "invalid_body" and message in error.message, error.message


def test_malformed_json_bodies_are_400s() -> None:
    for text in (None, "", "  ", "{", '{"assets": [}', "[" * 100_000):
        assert raises_400(parse_json_body, text).code == "invalid_body"


def test_a_body_schema_outside_the_supported_keywords_is_refused() -> None:
    with pytest.raises(ValueError, match="pattern"):
        check_body_schema({"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}})
    for route in ROUTES:
        if route.body_schema:
            check_body_schema(route.body_schema)


# ---- OpenAPI, wiring, settings ----------------------------------------------------------------------------


def test_the_openapi_document_is_valid_3_1_and_generated_from_every_route() -> None:
    doc = openapi.build_document()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    operations = {(m.upper(), p): op for p, item in doc["paths"].items() for m, op in item.items()}
    assert set(operations) == {(r.method, r.path) for r in ROUTES}
    for route in ROUTES:
        op = operations[(route.method, route.path)]
        assert op["operationId"] == route.operation_id
        declared = [(p.name, "path") for p in route.path_params] + [(p.name, "query") for p in route.query]
        assert [(p["name"], p["in"]) for p in op["parameters"]] == declared
        assert all(
            p["schema"] == param.schema()
            for p, param in zip(op["parameters"], (*route.path_params, *route.query), strict=True)
        )
        assert op["security"] == ([{"apiKey": []}] if route.api_key_required else [])
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
        if route.api_key_required:
            assert {"403", "429"} <= set(op["responses"])
        assert ("requestBody" in op) == (route.body_schema is not None)
    assert doc["components"]["securitySchemes"]["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert doc["components"]["schemas"]["ErrorBody"]["required"] == ["code", "message"]


def test_every_route_has_exactly_one_endpoint_and_rules_keep_the_templates() -> None:
    assert set(endpoints.ENDPOINTS) | {"getOpenApi"} == {r.operation_id for r in ROUTES}
    assert set(openapi.OPERATIONS) == {r.operation_id for r in ROUTES}
    assert handler.resolver_rule("/v1/assets/{asset}/ohlcv") == "/v1/assets/<asset>/ohlcv"
    for route in ROUTES:
        sample = route.path.replace("{asset}", "native")
        assert handler.path_regex(route.path).match(sample)
        assert not handler.path_regex(route.path).match(sample + "/x")


def test_settings_come_from_the_deployed_variables_and_name_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"CLICKHOUSE_URL": "https://ch.example.org", "MTLS_SECRET_NAME": "prices/dev/clickhouse-mtls-prices-api-dev"}
    settings = load_api_settings(
        {**env, "POWERTOOLS_SERVICE_NAME": "api", "POWERTOOLS_METRICS_NAMESPACE": "Prices/Api"}
    )
    assert settings.clickhouse_host == "ch.example.org" and settings.MTLS_MAX_AGE_SECONDS == 300
    with pytest.raises(SettingsError, match="MTLS_SECRET_NAME is not set"):
        load_api_settings({"CLICKHOUSE_URL": env["CLICKHOUSE_URL"]})
    with pytest.raises(SettingsError, match="CLICKHOUSE_URL"):
        load_api_settings({**env, "CLICKHOUSE_URL": "http://ch.example.org"})
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    runtime = handler.build_runtime({**env, "CLICKHOUSE_SERVER_CA": "bundle"})
    assert runtime.settings is not None and runtime.settings.CLICKHOUSE_SERVER_CA == "bundle"
    assert type(runtime.clickhouse).__name__ == "EdgeClickHouse"


def test_endpoints_receive_only_inputs_and_a_client() -> None:
    # Endpoints never see the event (so nothing outside the declared parameters): their signatures say so.
    for name, fn in endpoints.ENDPOINTS.items():
        assert fn.__annotations__ == {"inputs": "Inputs", "client": "Any", "return": "Reply"}, name
    assert isinstance(parse_inputs(LIST, {}, None), Inputs)
