"""One real engine for the handler tests (tests/lambdas/api/test_handler_*.py), started once per session.

The mainnet fixtures are written through the ingestion code (``prepare_ledger`` + ``write_ledger`` as
prices_writer) and the whole refresh chain runs (parts → 1m → … → 1M → current prices); then every
refreshable view is STOPPED, because ``mv_current_prices`` replaces its whole table each minute and would
wipe the rows seeded below while tests run. Seeded on top, as the writer:

* ``prices.assets``: every asset of the fixtures except two: a priced one (listed through its current price
  alone) and one with old candles only (known through them); plus registry-only assets — an inactive one,
  an active one without trades, a Soroban token with a code, three ``TIE*`` assets with identical numbers —
  and USDC's SAC contract;
* ``prices.current_prices``: rows for the synthetic assets (ties, a token without a 24 h change);
* ``prices.oracle_prices`` for lumens (two oracles, several observations each);
* ``prices.backfill_progress``: the one-pass ``history`` task with a stored earliest date that claims more
  than the data shows, and a dedicated ``sdex_archive`` task.

The handler reads as prices_reader (readonly=1 is enforced by the engine behind the stand-in).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clickhouse_connect
import jsonschema
import pytest
from stellar_sdk import StrKey

from lambdas.api import handler as h
from lambdas.api.openapi import build_document
from lambdas.api.routes import ROUTES
from lambdas.backfill.progress_table import ProgressRow, write_progress
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.ledger_processor.writer import write_ledger
from schema.rollups import all_refresh_views_in_order
from tests.chfront_fixture import PASSWORDS, Front, running_front
from tests.lambdas.api.events import Answer, FakeContext, answer, rest_event
from tests.lambdas.ledger_processor.test_candles_engine import (
    admin_client,
    fixture_paths,
    fresh_prices,
    prepare,
    refresh_chain,
    writer_client,
)

USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
USDC_SAC = "CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75"


def account(n: int) -> str:
    return StrKey.encode_ed25519_public_key(bytes([n]) * 32)


def contract(n: int) -> str:
    return StrKey.encode_contract(bytes([n]) * 32)


TIES = (f"TIEA:{account(11)}", f"TIEB:{account(12)}", f"TIEC:{account(13)}")
TOKEN = contract(21)  # a Soroban token with a registered code
TOKEN_CODE = "TKNZ"
INACTIVE = f"OLDX:{account(31)}"
UNTRADED = f"NOPX:{account(32)}"
NEVER_SEEN = f"NONE:{account(33)}"  # valid id, in no table at all
SNAPSHOT_AT = datetime(2026, 6, 19, 0, 23, tzinfo=UTC)


@dataclass
class Engine:
    front: Front
    admin: Any
    reader: Any
    fixture_assets: set[str]
    priced: set[str]  # assets with a current_prices row (fixtures + synthetic)
    unregistered: str  # priced fixture asset left out of prices.assets
    unregistered_old: str  # fixture asset with old candles only, left out of prices.assets
    tip_ledger: int
    tip_closed_at: datetime
    registry: dict[str, dict[str, Any]] = field(default_factory=dict)


def reader_client(front: Front) -> Any:
    return clickhouse_connect.get_client(
        host=front.host,
        port=front.port,
        username="prices_reader",
        password=PASSWORDS["prices_reader"],
        autogenerate_session_id=False,
    )


def _asset_type(asset_id: str) -> str:
    return "native" if asset_id == "native" else ("classic" if ":" in asset_id else "soroban")


def _seed(
    admin: Any, writer: Any, fixture_assets: set[str], priced_fixture: list[str]
) -> tuple[str, str, dict[str, dict[str, Any]]]:
    unregistered = next(a for a in priced_fixture if a not in ("native", USDC) and ":" in a)
    # A fixture asset only traded (as base) in the 2024/2025 ledgers: daily candles, no current price.
    old = admin.query(
        "SELECT DISTINCT asset_id FROM prices.price_ohlcv_1d WHERE asset_id NOT IN {priced:Array(String)} "
        "AND position(asset_id, ':') > 0 ORDER BY asset_id LIMIT 1",
        parameters={"priced": priced_fixture},
    ).result_rows
    assert old, "the older fixtures trade assets that have no price in the newest 24 h"
    unregistered_old = str(old[0][0])
    registry: dict[str, dict[str, Any]] = {}
    for asset_id in sorted(fixture_assets - {unregistered, unregistered_old}):
        code = "XLM" if asset_id == "native" else (asset_id.split(":")[0] if ":" in asset_id else "")
        registry[asset_id] = {"code": code, "sac": USDC_SAC if asset_id == USDC else "", "active": True}
    for asset_id in TIES:
        registry[asset_id] = {"code": asset_id.split(":")[0], "sac": "", "active": True}
    registry[TOKEN] = {"code": TOKEN_CODE, "sac": "", "active": True}
    registry[INACTIVE] = {"code": "OLDX", "sac": "", "active": False}
    registry[UNTRADED] = {"code": "NOPX", "sac": "", "active": True}
    writer.insert(
        "prices.assets",
        [
            [
                a,
                r["code"],
                a.split(":")[1] if ":" in a else "",
                a if _asset_type(a) == "soroban" else "",
                _asset_type(a),
                r["sac"],
                r["active"],
            ]
            for a, r in registry.items()
        ],
        column_names=["asset_id", "asset_code", "issuer", "contract_id", "asset_type", "sac_contract_id", "is_active"],
    )
    source = json.dumps(
        {"sdex": {"price": 2.5, "vwap": 2.5, "volume_24h": 1000.0, "last_trade_at": "2026-06-19T00:20:00Z"}}
    )
    price_rows = [[a, 2.5, 10.0, 2.5, 1000.0, 1.0, -2.0, source, "vwap_24h", SNAPSHOT_AT] for a in TIES]
    token_source = json.dumps(
        {"soroswap": {"price": 0.5, "vwap": 0.5, "volume_24h": 10.0, "last_trade_at": "2026-06-19T00:21:00Z"}}
    )
    price_rows.append([TOKEN, 0.5, 2.0, 0.5, 10.0, None, None, token_source, "vwap_24h", SNAPSHOT_AT])
    writer.insert(
        "prices.current_prices",
        price_rows,
        column_names=[
            "asset_id",
            "price_usd",
            "price_xlm",
            "vwap_24h",
            "volume_24h_usd",
            "change_24h_pct",
            "change_7d_pct",
            "sources",
            "method",
            "updated_at",
        ],
    )
    t0 = datetime(2026, 6, 18, 23, 0, tzinfo=UTC)
    writer.insert(
        "prices.oracle_prices",
        [
            ["native", "reflector", t0, 0.25, "{}"],
            ["native", "reflector", t0 + timedelta(minutes=5), 0.26, "{}"],
            ["native", "reflector", t0 + timedelta(minutes=10), 0.27, "{}"],
            ["native", "redstone", t0 + timedelta(minutes=2), 0.3, "{}"],
            ["native", "redstone", t0 - timedelta(days=40), 0.1, "{}"],
            [USDC, "reflector", t0, 1.0, "{}"],
        ],
        column_names=["asset_id", "oracle_name", "timestamp", "price_usd", "raw_data"],
    )
    started = datetime(2026, 6, 1, tzinfo=UTC)
    # Claims history back to 2020, but the candles begin in 2024: the answer must not believe it.
    write_progress(
        writer,
        ProgressRow(
            task_name="history",
            start_ledger=50_000_000,
            target_ledger=63_000_000,
            current_ledger=57_000_000,
            status="running",
            last_push_at=datetime(2026, 6, 18, 12, tzinfo=UTC),
            earliest_data_available=datetime(2020, 1, 1, tzinfo=UTC),
            newest_data_available=None,
            started_at=started,
            completed_at=None,
        ),
    )
    # Claims less than the data shows (2025): that stricter claim wins.
    write_progress(
        writer,
        ProgressRow(
            task_name="sdex_archive",
            start_ledger=1,
            target_ledger=63_000_000,
            current_ledger=1,
            status="completed",
            last_push_at=datetime(2026, 6, 17, tzinfo=UTC),
            earliest_data_available=datetime(2025, 1, 1, tzinfo=UTC),
            newest_data_available=None,
            started_at=started,
            completed_at=datetime(2026, 6, 17, tzinfo=UTC),
        ),
    )
    return unregistered, unregistered_old, registry


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with running_front(Path(tmp_path_factory.mktemp("chfront-api"))) as front:
        admin, writer = admin_client(front), writer_client(front)
        fresh_prices(admin)
        fixture_assets: set[str] = set()
        for path in fixture_paths():
            prepared = prepare(path)
            write_ledger(writer, prepared)
            for part in prepared.parts.parts:
                fixture_assets.update((part.asset_id, part.quote_asset_id))
        refresh_chain(admin)
        admin.command("SYSTEM STOP VIEWS")
        for view in all_refresh_views_in_order():
            admin.command(f"SYSTEM WAIT VIEW {view}")  # a scheduled refresh already under way must land first
        statuses = admin.query("SELECT DISTINCT status FROM system.view_refreshes WHERE database = 'prices'")
        assert [r[0] for r in statuses.result_rows] == ["Disabled"]
        priced_fixture = [
            r[0] for r in admin.query("SELECT asset_id FROM prices.current_prices FINAL ORDER BY asset_id").result_rows
        ]
        assert len(priced_fixture) >= 10, "the L2 snapshot of the fixtures should price a few dozen assets"
        unregistered, unregistered_old, registry = _seed(admin, writer, fixture_assets, priced_fixture)
        tip = admin.query("SELECT max(ledger), argMax(close_time, ledger) FROM prices.ingested_ledgers").result_rows[0]
        yield Engine(
            front=front,
            admin=admin,
            reader=reader_client(front),
            fixture_assets=fixture_assets,
            priced=set(priced_fixture) | set(TIES) | {TOKEN},
            unregistered=unregistered,
            unregistered_old=unregistered_old,
            tip_ledger=int(tip[0]),
            tip_closed_at=tip[1].replace(tzinfo=UTC),
            registry=registry,
        )


# ---- calling the handler ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def openapi_doc() -> dict[str, Any]:
    return build_document()


def response_schema(doc: Mapping[str, Any], method: str, path_template: str | None, status: int) -> dict[str, Any]:
    """The schema the OpenAPI document declares for this answer (error envelope for unrouted requests)."""
    if path_template is None:
        return {"$ref": "#/components/schemas/ErrorBody", "components": doc["components"]}
    responses = doc["paths"][path_template][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path_template} answered {status}, which the document does not declare"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def template_of(method: str, event: Mapping[str, Any]) -> str | None:
    resource = event["resource"]
    return resource if any(r.path == resource and r.method == method for r in ROUTES) else None


Call = Callable[..., Answer]


@pytest.fixture
def call(engine: Engine, openapi_doc: dict[str, Any]) -> Iterator[Call]:
    """Invoke the handler like API Gateway would, with the reader's client; every answer is checked against
    the OpenAPI document (status declared, body valid for that status)."""
    h.set_runtime(h.Runtime(FixedClickHouse(engine.reader)))

    def invoke(method: str, path: str, query: Any = None, **kw: Any) -> Answer:
        event = rest_event(method, path, query, **kw)
        result = answer(h.handler(event, FakeContext()))
        schema = response_schema(openapi_doc, method, template_of(method, event), result.status)
        jsonschema.Draft202012Validator(schema).validate(result.body)
        return result

    yield invoke
    h.set_runtime(None)
