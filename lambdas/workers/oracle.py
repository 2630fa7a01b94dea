"""Oracle worker: Reflector (SEP-40) prices through Soroban RPC ``simulateTransaction`` into ``oracle_prices``.

Every run, for each configured contract (``ORACLE_CONTRACTS``): ``base()`` (must be USD or USDC: the rows are
``price_usd``), ``decimals()``, ``resolution()`` and ``assets()``, then ``lastprice(asset)`` per asset. The
asset list is the contract's own ``assets()`` rather than a configured list: it follows the oracle when assets
are added or retired, and a configured asset the contract does not quote would only ever fail.

Assets map to our ids (:mod:`lambdas.workers.sep40`); a ``Stellar(C…)`` asset is asked for its ``name()`` once
per container and stored under the classic id when it is that asset's Stellar Asset Contract. Each observation
is one row (``asset_id, oracle_name, timestamp, price_usd, raw_data``); ``raw_data`` keeps the call and its
result XDR, so a row can be re-decoded later. ``oracle_prices`` is a ReplacingMergeTree keyed by
``(asset_id, oracle_name, timestamp)``: re-reading the same round writes the same key.

Failure behaviour: one asset (or contract) failing is logged and counted in ``OracleAssetFailures`` and the
others are still written; the run raises — a Lambda error, so the errors alarm fires — only when not a single
price could be read, the RPC serves another network, or the insert fails.

Module-scope state, reused while the container is warm: settings, the HTTP session to the RPC, the ClickHouse
client through the mTLS edge (ingestion identity) and the SAC → classic id cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.common import metric_catalog as catalog
from lambdas.common.edge_clickhouse import ClickHouseProvider, EdgeClickHouse
from lambdas.common.runtime_slot import RuntimeSlot
from lambdas.common.settings import load_env_settings
from lambdas.workers.scaffold import utc_now, worker_powertools
from lambdas.workers.sep40 import (
    OTHER_SYMBOL_ASSET_IDS,
    USD_CLASSIC_ASSETS,
    USD_SYMBOLS,
    Sep40Asset,
    Sep40ValueError,
    classic_identity_of_token,
    decode_assets,
    decode_decimals,
    decode_price_data,
    decode_u32,
    observed_at,
    price_usd,
)
from lambdas.workers.settings import OracleContractRef, OracleSettings
from lambdas.workers.soroban_rpc import ContractCallFailed, SorobanRpc, SorobanRpcError

SETTINGS_MODEL = OracleSettings
TABLE = "prices.oracle_prices"
COLUMNS = ("asset_id", "oracle_name", "timestamp", "price_usd", "raw_data")
# An observation stamped further in the future than this is not believed (clock skew allowance).
MAX_FUTURE_SKEW = timedelta(minutes=10)

logger, metrics, tracer, publisher = worker_powertools(catalog.ORACLE_PRICES_WRITTEN)


class OracleRunError(RuntimeError):
    """The run could not produce a single oracle price (or could not store them)."""


@dataclass
class Runtime:
    settings: OracleSettings
    rpc: SorobanRpc
    clickhouse: ClickHouseProvider
    clock: Callable[[], datetime] = utc_now
    # token contract → our asset id; only successful resolutions are cached (a SAC never changes).
    token_ids: dict[str, str] = field(default_factory=dict)


def build_runtime(environ: Mapping[str, str], *, pem_dir: Path | None = None) -> Runtime:
    settings = load_env_settings(OracleSettings, environ, publisher.service)
    return Runtime(
        settings=settings,
        rpc=SorobanRpc(settings.SOROBAN_RPC_URL, settings.NETWORK_PASSPHRASE),
        clickhouse=EdgeClickHouse.from_settings(settings, pem_dir=pem_dir),
    )


_slot: RuntimeSlot[Runtime] = RuntimeSlot(build_runtime)


def runtime() -> Runtime:
    return _slot.get()


def set_runtime(value: Runtime | None) -> None:
    """Replace the module-scope runtime (tests; ``None`` rebuilds from the environment on next use)."""
    _slot.set(value)


@dataclass(frozen=True)
class OracleRow:
    asset_id: str
    oracle_name: str
    timestamp: datetime
    price_usd: float
    raw_data: str

    def values(self) -> list[Any]:
        return [self.asset_id, self.oracle_name, self.timestamp, self.price_usd, self.raw_data]


@dataclass(frozen=True)
class AssetFailure:
    oracle: str
    asset: str  # "*" when the contract itself could not be read
    error: str


@dataclass(frozen=True)
class ContractInfo:
    ref: OracleContractRef
    base: Sep40Asset
    decimals: int
    resolution: int
    assets: list[Sep40Asset]


@dataclass
class OracleRun:
    rows: list[OracleRow] = field(default_factory=list)
    failures: list[AssetFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # assets with no Stellar identity (e.g. Other(BTC))

    def summary(self) -> dict[str, Any]:
        return {
            "written": len(self.rows),
            "failed": len(self.failures),
            "failures": [f"{f.oracle}/{f.asset}: {f.error}" for f in self.failures],
            "skipped": self.skipped,
        }


def token_asset_id(rt: Runtime, contract_id: str) -> str:
    """Our id for a token contract: its classic identity when it is a SAC, else the contract address.

    A contract without a usable ``name()`` (the call fails inside the contract) is a plain Soroban token. A
    transport failure propagates: guessing would store a SAC under its contract address.
    """
    cached = rt.token_ids.get(contract_id)
    if cached is not None:
        return cached
    try:
        name_val = rt.rpc.simulate(contract_id, "name").result
        name = name_val.str.sc_string.decode() if name_val.str is not None else None
    except ContractCallFailed:
        name = None
    identity = classic_identity_of_token(contract_id, name, rt.settings.NETWORK_PASSPHRASE) or contract_id
    rt.token_ids[contract_id] = identity
    return identity


def asset_id_for(rt: Runtime, asset: Sep40Asset) -> str | None:
    if asset.kind == "Other":
        return OTHER_SYMBOL_ASSET_IDS.get(asset.value)
    if not asset.value.startswith("C"):
        return None  # an account address is not an asset
    return token_asset_id(rt, asset.value)


def is_usd_base(rt: Runtime, base: Sep40Asset) -> bool:
    if base.kind == "Other":
        return base.value in USD_SYMBOLS
    return asset_id_for(rt, base) in USD_CLASSIC_ASSETS


def read_contract(rt: Runtime, ref: OracleContractRef) -> ContractInfo:
    rpc, cid = rt.rpc, ref.contract_id
    base = Sep40Asset.from_scval(rpc.simulate(cid, "base").result)
    if not is_usd_base(rt, base):
        raise Sep40ValueError(f"base asset {base} is not USD or USDC: its prices are not price_usd")
    return ContractInfo(
        ref=ref,
        base=base,
        decimals=decode_decimals(rpc.simulate(cid, "decimals").result),
        resolution=decode_u32("resolution", rpc.simulate(cid, "resolution").result),
        assets=decode_assets(rpc.simulate(cid, "assets").result),
    )


def observe(rt: Runtime, info: ContractInfo, asset: Sep40Asset, asset_id: str) -> OracleRow | str:
    """One ``lastprice`` call → a row, or the reason there is none."""
    sim = rt.rpc.simulate(info.ref.contract_id, "lastprice", [asset.to_scval()])
    data = decode_price_data(sim.result)
    if data is None:
        return "lastprice returned None (no price in the oracle's latest round)"
    when = observed_at(data)
    if data.timestamp == 0 or when > rt.clock() + MAX_FUTURE_SKEW:
        return f"implausible timestamp {data.timestamp}"
    raw = {
        "contract_id": info.ref.contract_id,
        "function": "lastprice",
        "asset": str(asset),
        "args_xdr": list(sim.args_xdr),
        "result_xdr": sim.result_xdr,
        "price": str(data.price),
        "timestamp": data.timestamp,
        "decimals": info.decimals,
        "resolution": info.resolution,
        "base": str(info.base),
        "latest_ledger": sim.latest_ledger,
    }
    return OracleRow(
        asset_id=asset_id,
        oracle_name=info.ref.name,
        timestamp=when,
        price_usd=price_usd(data.price, info.decimals),
        raw_data=json.dumps(raw, sort_keys=True, separators=(",", ":")),
    )


def collect(rt: Runtime) -> OracleRun:
    network = rt.rpc.get_network()
    if network.passphrase != rt.settings.NETWORK_PASSPHRASE:
        raise OracleRunError(
            f"the Soroban RPC at {rt.settings.SOROBAN_RPC_URL} serves {network.passphrase!r}, "
            f"not NETWORK_PASSPHRASE {rt.settings.NETWORK_PASSPHRASE!r}"
        )
    run = OracleRun()
    seen: set[tuple[str, str, datetime]] = set()
    for ref in rt.settings.ORACLE_CONTRACTS:
        try:
            info = read_contract(rt, ref)
        except (SorobanRpcError, Sep40ValueError) as exc:
            run.failures.append(AssetFailure(ref.name, "*", str(exc)))
            continue
        for asset in info.assets:
            try:
                asset_id = asset_id_for(rt, asset)
                if asset_id is None:
                    run.skipped.append(f"{ref.name}/{asset}")
                    continue
                outcome = observe(rt, info, asset, asset_id)
            except (SorobanRpcError, Sep40ValueError) as exc:
                run.failures.append(AssetFailure(ref.name, str(asset), str(exc)))
                continue
            if isinstance(outcome, str):
                run.failures.append(AssetFailure(ref.name, str(asset), outcome))
                continue
            key = (outcome.asset_id, outcome.oracle_name, outcome.timestamp)
            if key in seen:  # e.g. Stellar(native SAC) and Other(XLM) in one contract
                run.skipped.append(f"{ref.name}/{asset} (same asset id {asset_id} as an earlier asset)")
                continue
            seen.add(key)
            run.rows.append(outcome)
    return run


def write_rows(rt: Runtime, rows: list[OracleRow]) -> None:
    try:
        rt.clickhouse.client().insert(TABLE, [r.values() for r in rows], column_names=list(COLUMNS))
    except Exception as exc:
        rt.clickhouse.invalidate()
        raise OracleRunError(f"writing {len(rows)} oracle prices failed: {exc}") from exc


def run_once(rt: Runtime) -> OracleRun:
    try:
        run = collect(rt)
    except (SorobanRpcError, OracleRunError) as exc:
        publisher.put(catalog.ORACLE_PRICES_WRITTEN, 0)
        raise OracleRunError(f"no oracle price could be read: {exc}") from exc
    publisher.put(catalog.ORACLE_ASSET_FAILURES, len(run.failures))
    for failure in run.failures:
        logger.warning(
            "oracle asset failed", extra={"oracle": failure.oracle, "asset": failure.asset, "error": failure.error}
        )
    if not run.rows:
        publisher.put(catalog.ORACLE_PRICES_WRITTEN, 0)
        raise OracleRunError(f"no oracle price could be read: {run.summary()}")
    write_rows(rt, run.rows)
    publisher.put(catalog.ORACLE_PRICES_WRITTEN, len(run.rows))
    logger.info("oracle prices written", extra=run.summary())
    return run


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_once(runtime()).summary()
