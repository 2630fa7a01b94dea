"""Oracle worker: SEP-40 values, the Soroban RPC client and the stand-in RPC, and the handler writing
``prices.oracle_prices`` on the real engine (handler called directly with a scheduled event)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from stellar_sdk import Account, Keypair, SorobanServer, StrKey, TransactionBuilder, scval
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.exceptions import SorobanRpcErrorResponse

from lambdas.common import metric_catalog as catalog
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.common.settings import SettingsError, load_env_settings
from lambdas.ledger_processor.values import sac_contract_id
from lambdas.workers import oracle
from lambdas.workers.sep40 import (
    PriceData,
    Sep40Asset,
    Sep40ValueError,
    classic_identity_of_token,
    decode_assets,
    decode_price_data,
    observed_at,
    price_usd,
)
from lambdas.workers.settings import OracleSettings
from lambdas.workers.soroban_rpc import (
    ContractCallFailed,
    MalformedResponse,
    RpcErrorResponse,
    RpcUnavailable,
    SorobanRpc,
)
from local.soroban_rpc_standin import (
    PUBNET,
    OracleContract,
    StandInState,
    TokenContract,
    running_standin,
    state_from_json,
)
from tests.chfront_fixture import Front
from tests.lambdas.workers.helpers import (
    FakeContext,
    admin_client,
    assert_catalog_metrics,
    emf_metrics,
    scheduled_event,
    writer_client,
)

pytestmark = pytest.mark.engine

DEX = "CALI2BYU2JE6WVRUFYTS6MSBNEHGJ35P4AVCZYF3B6QOE3QKOB2PLE6M"
CEX = "CAFJZQWSED6YAWZU3GWRTOCNPPCGBN32L7QV43XX5LZLFTK6JLN34DLN"
USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
AQUA = f"AQUA:{Keypair.from_raw_ed25519_seed(bytes(range(32))).public_key}"
XLM_SAC, USDC_SAC, AQUA_SAC = (sac_contract_id(a) for a in ("native", USDC, AQUA))
# A Soroban token that CLAIMS to be USDC in name(): not the SAC, so it must keep its own id.
IMPOSTOR = StrKey.encode_contract(hashlib.sha256(b"impostor token").digest())
UNDEPLOYED = StrKey.encode_contract(bytes(32))
ROUND = 1_760_000_100  # a Reflector round (Unix seconds)
NOW = datetime(2025, 10, 9, 9, 0, tzinfo=UTC)


def contracts_env(url: str, **overrides: str) -> dict[str, str]:
    return {
        "CLICKHOUSE_URL": "https://clickhouse.example.org",
        "MTLS_SECRET_NAME": "prices/test/clickhouse-mtls-prices-ingestion-test",
        "SOROBAN_RPC_URL": url,
        "NETWORK_PASSPHRASE": PUBNET,
        "ORACLE_CONTRACTS": json.dumps(
            [{"name": "reflector-dex", "contract_id": DEX}, {"name": "reflector-cex", "contract_id": CEX}]
        ),
        **overrides,
    }


def reflector_state() -> StandInState:
    """Reflector-shaped oracles as on mainnet: the DEX feed quotes SACs in USDC, the CEX feed symbols in USD."""
    state = StandInState()
    state.contracts.update(
        {
            XLM_SAC: TokenContract(name="native", symbol="native"),
            USDC_SAC: TokenContract(name=USDC, symbol="USDC"),
            AQUA_SAC: TokenContract(name=AQUA, symbol="AQUA"),
            IMPOSTOR: TokenContract(name=USDC, symbol="USDC"),
            DEX: OracleContract(
                base=("Stellar", USDC_SAC),
                decimals=14,
                assets=[("Stellar", XLM_SAC), ("Stellar", AQUA_SAC), ("Stellar", IMPOSTOR)],
                prices={
                    ("Stellar", XLM_SAC): (12_345_678_900_000, ROUND),
                    ("Stellar", AQUA_SAC): (123_456_789, ROUND),
                    ("Stellar", IMPOSTOR): (99_000_000_000_000, ROUND),
                },
            ),
            CEX: OracleContract(
                base=("Other", "USD"),
                decimals=14,
                assets=[("Other", "XLM"), ("Other", "BTC")],
                prices={("Other", "XLM"): (12_300_000_000_000, ROUND - 300), ("Other", "BTC"): (10**19, ROUND)},
            ),
        }
    )
    return state


@pytest.fixture
def rpc_state() -> Iterator[tuple[StandInState, str]]:
    state = reflector_state()
    with running_standin(state) as url:
        yield state, url


@pytest.fixture(autouse=True)
def _reset_runtime() -> Iterator[None]:
    yield
    oracle.set_runtime(None)


def install_runtime(url: str, front: Front, **env: str) -> oracle.Runtime:
    settings = load_env_settings(oracle.SETTINGS_MODEL, contracts_env(url, **env), "oracle")
    rt = oracle.Runtime(
        settings=settings,
        rpc=SorobanRpc(settings.SOROBAN_RPC_URL, settings.NETWORK_PASSPHRASE),
        clickhouse=FixedClickHouse(writer_client(front)),
        clock=lambda: NOW,
    )
    oracle.set_runtime(rt)
    return rt


def stored(front: Front) -> dict[tuple[str, str], tuple[datetime, float, str]]:
    rows = (
        admin_client(front)
        .query(
            "SELECT asset_id, oracle_name, toUnixTimestamp(timestamp), price_usd, raw_data "
            "FROM prices.oracle_prices FINAL ORDER BY asset_id, oracle_name"
        )
        .result_rows
    )
    return {(a, o): (datetime.fromtimestamp(t, UTC), p, raw) for a, o, t, p, raw in rows}


@pytest.fixture
def empty_oracle_table(front: Front) -> Front:
    admin_client(front).command("TRUNCATE TABLE prices.oracle_prices")
    return front


# ---- settings and SEP-40 values ---------------------------------------------------------------------------------


def test_settings_parse_the_contract_list_and_name_every_bad_variable() -> None:
    settings = load_env_settings(OracleSettings, contracts_env("https://rpc.example.org"), "oracle")
    assert [(c.name, c.contract_id) for c in settings.ORACLE_CONTRACTS] == [
        ("reflector-dex", DEX),
        ("reflector-cex", CEX),
    ]
    assert load_env_settings(OracleSettings, contracts_env("http://127.0.0.1:8000"), "oracle").SOROBAN_RPC_URL
    bad = {
        "SOROBAN_RPC_URL": ("http://rpc.example.org", "plain http only on loopback"),
        "ORACLE_CONTRACTS": ("[{'name': 'x'}", "is not valid JSON"),
        "NETWORK_PASSPHRASE": ("", "NETWORK_PASSPHRASE"),
    }
    for variable, (value, message) in bad.items():
        with pytest.raises(SettingsError, match=variable) as info:
            load_env_settings(OracleSettings, contracts_env("https://rpc.example.org", **{variable: value}), "oracle")
        assert message in str(info.value)
    for contracts, message in [
        ([{"name": "reflector-dex", "contract_id": DEX[:-1] + "A"}], "valid checksum"),
        ([{"name": "Reflector", "contract_id": DEX}], "ORACLE_CONTRACTS.0.name"),
        ([{"name": "a-b", "contract_id": DEX}, {"name": "a-b", "contract_id": CEX}], "share the name 'a-b'"),
        ([], "at least 1"),
    ]:
        env = contracts_env("https://rpc.example.org", ORACLE_CONTRACTS=json.dumps(contracts))
        with pytest.raises(SettingsError, match="ORACLE_CONTRACTS") as info:
            load_env_settings(OracleSettings, env, "oracle")
        assert message in str(info.value)


def test_sep40_values_round_trip_and_malformed_ones_are_named() -> None:
    for asset in (Sep40Asset("Stellar", XLM_SAC), Sep40Asset("Other", "BTC")):
        assert Sep40Asset.from_scval(stellar_xdr.SCVal.from_xdr(asset.to_scval().to_xdr())) == asset
    data = scval.to_struct({"price": scval.to_int128(12_345_678_900_000), "timestamp": scval.to_uint64(ROUND)})
    assert decode_price_data(data) == PriceData(12_345_678_900_000, ROUND)
    assert decode_price_data(scval.to_void()) is None
    # Exact decimal scaling: 12345678900000 at 14 decimals is 0.123456789, not 0.12345678900000001.
    assert price_usd(12_345_678_900_000, 14) == 0.123456789
    assert price_usd(10**21, 14) == 10_000_000.0
    # Reflector's first generation stamped milliseconds.
    assert (
        observed_at(PriceData(1, ROUND * 1000))
        == observed_at(PriceData(1, ROUND))
        == datetime.fromtimestamp(ROUND, UTC)
    )
    malformed = [
        (scval.to_struct({"price": scval.to_int128(1)}), "exactly price and timestamp"),
        (scval.to_struct({"price": scval.to_uint64(1), "timestamp": scval.to_uint64(1)}), "price must be an i128"),
        (scval.to_uint32(5), "PriceData or void"),
    ]
    for value, message in malformed:
        with pytest.raises(Sep40ValueError, match=message):
            decode_price_data(value)
    with pytest.raises(Sep40ValueError, match="unknown Asset variant 'Fiat'"):
        Sep40Asset.from_scval(scval.to_enum("Fiat", scval.to_symbol("EUR")))
    with pytest.raises(Sep40ValueError, match="not positive"):
        price_usd(0, 14)


def test_a_token_is_stored_as_its_classic_asset_only_when_it_is_that_assets_sac() -> None:
    assert classic_identity_of_token(XLM_SAC, "native", PUBNET) == "native"
    assert classic_identity_of_token(AQUA_SAC, AQUA, PUBNET) == AQUA
    assert classic_identity_of_token(IMPOSTOR, USDC, PUBNET) is None  # claims USDC, is not its SAC
    assert classic_identity_of_token(AQUA_SAC, AQUA, "Test SDF Network ; September 2015") is None
    assert classic_identity_of_token(XLM_SAC, "Stellar Lumens", PUBNET) is None


# ---- the stand-in speaks the RPC's shapes; the client reads them --------------------------------------------------


def test_the_stand_in_answers_in_shapes_stellar_sdks_own_rpc_client_parses(rpc_state: tuple[StandInState, str]) -> None:
    state, url = rpc_state
    server = SorobanServer(url)
    assert server.get_network().passphrase == PUBNET
    latest = server.get_latest_ledger()
    header = stellar_xdr.LedgerHeader.from_xdr(latest.header_xdr)
    assert (latest.sequence, header.ledger_seq.uint32) == (state.latest_ledger, state.latest_ledger)
    assert stellar_xdr.LedgerCloseMeta.from_xdr(latest.metadata_xdr).v0 is not None
    tx = (
        TransactionBuilder(Account(Keypair.random().public_key, 1), PUBNET, base_fee=100)
        .append_invoke_contract_function_op(CEX, "lastprice", [scval.to_enum("Other", scval.to_symbol("XLM"))])
        .set_timeout(30)
        .build()
    )
    sim = server.simulate_transaction(tx)
    assert sim.error is None and sim.results is not None and sim.latest_ledger == state.latest_ledger
    assert scval.to_native(sim.results[0].xdr) == {"price": 12_300_000_000_000, "timestamp": ROUND - 300}
    data = stellar_xdr.SorobanTransactionData.from_xdr(sim.transaction_data or "")
    assert len(data.resources.footprint.read_only) == 2 and data.resource_fee.int64 == sim.min_resource_fee
    events = [stellar_xdr.DiagnosticEvent.from_xdr(e) for e in sim.events or []]
    assert [scval.to_native(e.event.body.v0.topics[0]) for e in events if e.event.body.v0] == ["fn_call", "fn_return"]
    assert state.calls[-1] == (CEX, "lastprice", [json.loads(scval.to_enum("Other", scval.to_symbol("XLM")).to_json())])


def test_the_stand_in_fails_wrong_calls_as_a_real_rpc_does(rpc_state: tuple[StandInState, str]) -> None:
    _, url = rpc_state
    rpc = SorobanRpc(url, PUBNET)
    cases = [
        (CEX, "lastprices", [], "Error(WasmVm, MissingValue)"),
        (CEX, "lastprice", [], "Error(WasmVm, InvalidAction)"),
        (CEX, "lastprice", [scval.to_symbol("XLM")], "Error(Value, UnexpectedType)"),
        (CEX, "decimals", [scval.to_uint32(1)], "Error(WasmVm, InvalidAction)"),
        (UNDEPLOYED, "decimals", [], "Error(Storage, MissingValue)"),
    ]
    for contract, function, args, error in cases:
        with pytest.raises(ContractCallFailed, match=re.escape(f"{contract}.{function}: HostError: {error}")):
            rpc.simulate(contract, function, args)
    # An asset the oracle does not quote is Option::None, as Reflector answers.
    assert (
        rpc.simulate(CEX, "lastprice", [Sep40Asset("Other", "DOGE").to_scval()]).result.type
        == stellar_xdr.SCValType.SCV_VOID
    )
    with pytest.raises(RpcErrorResponse, match="JSON-RPC error -32602: invalid parameters") as info:
        rpc.call("simulateTransaction", {"transaction": "AAAA not an envelope"})
    assert info.value.code == -32602
    two_ops = (
        TransactionBuilder(Account(Keypair.random().public_key, 1), PUBNET, base_fee=100)
        .append_invoke_contract_function_op(CEX, "decimals", [])
        .append_invoke_contract_function_op(CEX, "resolution", [])
        .set_timeout(30)
        .build()
    )
    with pytest.raises(SorobanRpcErrorResponse) as sdk_error:
        SorobanServer(url).simulate_transaction(two_ops)
    assert sdk_error.value.code == -32602 and "more than one operation" in str(sdk_error.value.data)


def test_the_stand_in_config_file_builds_contracts_that_answer_and_bad_entries_are_named() -> None:
    state = state_from_json(
        {
            "latestLedger": 61_000_000,
            "contracts": {
                CEX: {"oracle": {"base": "Other:USD", "decimals": 7, "prices": {"Other:XLM": [1_230_000, ROUND]}}},
                XLM_SAC: {"token": {"name": "native", "symbol": "native"}},
            },
        }
    )
    with running_standin(state) as url:
        rpc = SorobanRpc(url, PUBNET)
        # Without an "assets" list the oracle quotes exactly the assets it has prices for.
        assert decode_assets(rpc.simulate(CEX, "assets").result) == [Sep40Asset("Other", "XLM")]
        price = rpc.simulate(CEX, "lastprice", [Sep40Asset("Other", "XLM").to_scval()])
        assert (decode_price_data(price.result), price.latest_ledger) == (PriceData(1_230_000, ROUND), 61_000_000)
        assert scval.to_native(rpc.simulate(XLM_SAC, "name").result) == "native"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"contracts": {"GABC": {"token": {"name": "x"}}}}, "'GABC' is not a contract address"),
        ({"contracts": {CEX: {"pool": {}}}}, "expected an 'oracle' or 'token' object"),
        ({"contracts": {CEX: {"oracle": {"base": "USD"}}}}, "asset 'USD' must be 'Stellar:C…' or 'Other:SYMBOL'"),
    ]
    for doc, message in bad:
        with pytest.raises(ValueError, match=message):
            state_from_json(doc)


@responses.activate
def test_malformed_rpc_answers_are_clear_errors() -> None:
    url = "https://rpc.example.org"
    rpc = SorobanRpc(url, PUBNET)

    def answer(body: Any, status: int = 200) -> None:
        responses.reset()
        responses.add(responses.POST, url, json=body, status=status)

    answer({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": 23}})
    with pytest.raises(MalformedResponse, match="getNetwork: unexpected response shape: passphrase: Field required"):
        rpc.get_network()
    answer({"jsonrpc": "2.0", "id": 2, "result": {"results": [{"xdr": "AAAAAwAAAA4="}]}})
    with pytest.raises(
        MalformedResponse, match=rf"simulateTransaction {CEX}\.decimals: unexpected response shape: latestLedger"
    ):
        rpc.simulate(CEX, "decimals")
    answer({"jsonrpc": "2.0", "id": 99, "result": {"passphrase": PUBNET, "protocolVersion": 23}})
    with pytest.raises(MalformedResponse, match="response id 99 does not match request 3"):
        rpc.get_network()
    answer({"jsonrpc": "2.0", "id": 4, "result": {"latestLedger": 5, "results": [{"xdr": "not xdr"}]}})
    with pytest.raises(MalformedResponse, match="result is not an SCVal in base64 XDR"):
        rpc.simulate(CEX, "decimals")
    answer({"message": "upstream down"}, status=502)
    with pytest.raises(RpcUnavailable, match="HTTP 502"):
        rpc.get_network()


# ---- the handler on the engine --------------------------------------------------------------------------------


def test_handler_writes_each_reflector_price_under_our_asset_id_with_its_round_timestamp(
    rpc_state: tuple[StandInState, str], empty_oracle_table: Front, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = rpc_state
    install_runtime(url, empty_oracle_table)
    summary = oracle.handler(scheduled_event(), FakeContext())
    assert summary["written"] == 4 and summary["failed"] == 0
    assert summary["skipped"] == ["reflector-cex/Other(BTC)"]
    rows = stored(empty_oracle_table)
    at = datetime.fromtimestamp(ROUND, UTC)
    assert {k: v[:2] for k, v in rows.items()} == {
        ("native", "reflector-dex"): (at, 0.123456789),
        ("native", "reflector-cex"): (datetime.fromtimestamp(ROUND - 300, UTC), 0.123),
        (AQUA, "reflector-dex"): (at, 0.00000123456789),
        (IMPOSTOR, "reflector-dex"): (at, 0.99),
    }
    raw = json.loads(rows[("native", "reflector-dex")][2])
    assert scval.to_native(raw["result_xdr"]) == {"price": 12_345_678_900_000, "timestamp": ROUND}
    assert (raw["contract_id"], raw["decimals"], raw["base"]) == (DEX, 14, f"Stellar({USDC_SAC})")
    assert stellar_xdr.SCVal.from_xdr(raw["args_xdr"][0]) == Sep40Asset("Stellar", XLM_SAC).to_scval()
    metrics = {m.name: m.value for m in emf_metrics(capsys.readouterr().out)}
    assert metrics == {"OraclePricesWritten": 4.0, "OracleAssetFailures": 0.0}

    # A second run re-reads the same round: same keys, so FINAL still shows one row each; name() is cached.
    names_before = sum(1 for _, fn, _ in state.calls if fn == "name")
    oracle.handler(scheduled_event(), FakeContext())
    assert sum(1 for _, fn, _ in state.calls if fn == "name") == names_before
    assert len(stored(empty_oracle_table)) == 4


def test_one_asset_failing_still_writes_the_others_and_is_counted(
    rpc_state: tuple[StandInState, str], empty_oracle_table: Front, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = rpc_state
    state.faults[(CEX, "lastprice", ("Other", "XLM"))] = "rpc_error"
    state.faults[(DEX, "lastprice", ("Stellar", AQUA_SAC))] = "host_error"
    state.faults[(DEX, "lastprice", ("Stellar", IMPOSTOR))] = "malformed_xdr"
    install_runtime(url, empty_oracle_table)
    summary = oracle.handler(scheduled_event(), FakeContext())
    assert summary["written"] == 1 and summary["failed"] == 3
    assert set(stored(empty_oracle_table)) == {("native", "reflector-dex")}
    failures = "\n".join(summary["failures"])
    assert "reflector-cex/Other(XLM): simulateTransaction: JSON-RPC error -32603" in failures
    assert (
        f"reflector-dex/Stellar({AQUA_SAC}): simulateTransaction {DEX}.lastprice: HostError: Error(Contract, #1)"
        in failures
    )
    assert f"reflector-dex/Stellar({IMPOSTOR}): simulateTransaction {DEX}.lastprice: result is not an SCVal" in failures
    metrics = {m.name: m.value for m in emf_metrics(capsys.readouterr().out)}
    assert metrics == {"OraclePricesWritten": 1.0, "OracleAssetFailures": 3.0}


def test_a_contract_whose_metadata_fails_costs_only_that_contract(
    rpc_state: tuple[StandInState, str], empty_oracle_table: Front
) -> None:
    state, url = rpc_state
    state.faults[(DEX, "assets", None)] = "no_results"
    install_runtime(url, empty_oracle_table)
    summary = oracle.handler(scheduled_event(), FakeContext())
    assert summary["failures"] == [
        f"reflector-dex/*: simulateTransaction {DEX}.assets: expected exactly one result, got 0"
    ]
    assert set(stored(empty_oracle_table)) == {("native", "reflector-cex")}
    # A feed quoted in something other than USD is refused, not stored as price_usd.
    contract = state.contracts[CEX]
    assert isinstance(contract, OracleContract)
    contract.base = ("Other", "EUR")
    state.faults.clear()
    summary = oracle.handler(scheduled_event(), FakeContext())
    assert summary["failures"] == [
        "reflector-cex/*: base asset Other(EUR) is not USD or USDC: its prices are not price_usd"
    ]


def test_nothing_readable_fails_the_run_and_writes_nothing(
    rpc_state: tuple[StandInState, str], empty_oracle_table: Front, capsys: pytest.CaptureFixture[str]
) -> None:
    state, url = rpc_state
    for contract in (DEX, CEX):
        state.faults[(contract, "lastprice", None)] = "http_500"
    install_runtime(url, empty_oracle_table)
    with pytest.raises(oracle.OracleRunError, match="no oracle price could be read") as info:
        oracle.handler(scheduled_event(), FakeContext())
    assert "HTTP 500" in str(info.value)
    assert stored(empty_oracle_table) == {}
    metrics = {m.name: m.value for m in emf_metrics(capsys.readouterr().out)}
    assert metrics == {"OraclePricesWritten": 0.0, "OracleAssetFailures": 4.0}


def test_an_rpc_of_another_network_fails_the_run(empty_oracle_table: Front) -> None:
    state = reflector_state()
    state.passphrase = "Test SDF Network ; September 2015"
    with running_standin(state) as url:
        install_runtime(url, empty_oracle_table)
        with pytest.raises(
            oracle.OracleRunError, match="serves 'Test SDF Network ; September 2015', not NETWORK_PASSPHRASE"
        ):
            oracle.handler(scheduled_event(), FakeContext())
    assert stored(empty_oracle_table) == {}


def test_published_metrics_are_exactly_the_catalog_entries(
    rpc_state: tuple[StandInState, str], empty_oracle_table: Front, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = rpc_state
    install_runtime(url, empty_oracle_table)
    oracle.handler(scheduled_event(), FakeContext())
    published = emf_metrics(capsys.readouterr().out)
    assert_catalog_metrics(published, (catalog.ORACLE_PRICES_WRITTEN, catalog.ORACLE_ASSET_FAILURES))
    assert sorted(m.name for m in published) == ["OracleAssetFailures", "OraclePricesWritten"]
    assert {m.namespace for m in published} == {"Prices/Oracle"}
