"""STAND-IN for a Soroban RPC server, for tests and local runs only — never deployed, never a real node.

It speaks the JSON-RPC 2.0 API of Stellar RPC for three methods, with responses of the documented shape and
real XDR (built with stellar-sdk):

* ``getNetwork`` → ``{passphrase, protocolVersion}`` (+ ``friendbotUrl`` off pubnet);
* ``getLatestLedger`` → ``{id, protocolVersion, sequence, closeTime, headerXdr, metadataXdr}``;
* ``simulateTransaction`` → on success ``{transactionData, minResourceFee, events, results: [{auth, xdr}],
  cost, latestLedger}``; when the contract call fails ``{error: "HostError: …", events, latestLedger}``.

``simulateTransaction`` decodes the submitted ``TransactionEnvelope`` and executes the ONE
``InvokeHostFunction`` operation against in-memory contracts, so a wrong call fails as it would on a real
node: an unknown contract is ``Error(Storage, MissingValue)``, an unknown function ``Error(WasmVm,
MissingValue)``, a wrong argument count ``Error(WasmVm, InvalidAction)``, an argument of the wrong shape
``Error(Value, UnexpectedType)``; an undecodable envelope is the JSON-RPC error -32602.

Contracts it can hold:

* :class:`OracleContract` — Reflector-shaped SEP-40 price feed: ``base``, ``assets``, ``decimals``,
  ``resolution``, ``last_timestamp``, ``lastprice(Asset) -> Option<PriceData>``;
* :class:`TokenContract` — enough of a token (a Stellar Asset Contract) to answer ``name``, ``symbol``,
  ``decimals``.

Faults can be injected per (contract, function[, asset]) to exercise a client's error handling:
``rpc_error`` (JSON-RPC error object), ``http_500``, ``host_error`` (the simulation fails),
``malformed_xdr`` (the result is not XDR) and ``no_results`` (a success without ``results``).

Run it by hand: ``python -m local.soroban_rpc_standin --config standin.json`` (see :func:`state_from_json`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from stellar_sdk import Address, SorobanDataBuilder, StrKey, scval
from stellar_sdk import xdr as stellar_xdr
from xdrlib3 import Unpacker

SERVER_NAME = "soroban-rpc-standin (stand-in for a Soroban RPC server)"
PUBNET = "Public Global Stellar Network ; September 2015"

AssetKey = tuple[str, str]  # ("Stellar", "C…") | ("Other", "BTC")
Fault = Literal["rpc_error", "http_500", "host_error", "malformed_xdr", "no_results"]


@dataclass
class OracleContract:
    base: AssetKey = ("Other", "USD")
    decimals: int = 14
    resolution: int = 300
    assets: list[AssetKey] = field(default_factory=list)
    # asset → (price as the fixed-point integer, timestamp in seconds); an asset without one answers None.
    prices: dict[AssetKey, tuple[int, int]] = field(default_factory=dict)


@dataclass
class TokenContract:
    name: str
    symbol: str = ""
    decimals: int = 7


@dataclass
class StandInState:
    passphrase: str = PUBNET
    protocol_version: int = 23
    latest_ledger: int = 60_000_000
    close_time: int = 1_760_000_000
    contracts: dict[str, OracleContract | TokenContract] = field(default_factory=dict)
    # (contract id, function, asset key or None) → fault
    faults: dict[tuple[str, str, AssetKey | None], Fault] = field(default_factory=dict)
    # every simulated invocation: (contract id, function, args as XDR-JSON)
    calls: list[tuple[str, str, list[Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class HostError(Exception):
    """A failed contract call, rendered as the RPC renders a HostError: ``Error(<type>, <code>)``."""

    def __init__(self, error: stellar_xdr.SCError, message: str, contract_id: str | None, detail: Any = None) -> None:
        super().__init__(f"HostError: Error({_error_text(error)})")
        self.error = error
        self.message = message
        self.contract_id = contract_id
        self.detail = detail


def _sc_error(kind: str, code: str) -> stellar_xdr.SCError:
    return stellar_xdr.SCError(stellar_xdr.SCErrorType[kind], code=stellar_xdr.SCErrorCode[code])


def _error_text(error: stellar_xdr.SCError) -> str:
    """``WasmVm, MissingValue`` / ``Contract, #1``: the host's Debug rendering of an SCError."""
    kind = "".join(p.capitalize() for p in error.type.name.removeprefix("SCE_").split("_"))
    if error.type == stellar_xdr.SCErrorType.SCE_CONTRACT:
        return f"{kind}, #{error.contract_code.uint32 if error.contract_code else 0}"
    assert error.code is not None
    return f"{kind}, " + "".join(p.capitalize() for p in error.code.name.removeprefix("SCEC_").split("_"))


MISSING_VALUE_STORAGE = ("SCE_STORAGE", "SCEC_MISSING_VALUE")
MISSING_FUNCTION = ("SCE_WASM_VM", "SCEC_MISSING_VALUE")
WRONG_ARG_COUNT = ("SCE_WASM_VM", "SCEC_INVALID_ACTION")
UNEXPECTED_TYPE = ("SCE_VALUE", "SCEC_UNEXPECTED_TYPE")


class BadRequest(Exception):
    """The request itself is invalid: a JSON-RPC error, not a simulation result."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class InjectedHttpError(Exception):
    pass


# -- XDR helpers -------------------------------------------------------------------------------------------------


def _asset_scval(asset: AssetKey) -> stellar_xdr.SCVal:
    kind, value = asset
    inner = scval.to_address(value) if kind == "Stellar" else scval.to_symbol(value)
    return scval.to_enum(kind, inner)


def _asset_key(value: stellar_xdr.SCVal) -> AssetKey:
    """Decode a contracttype ``Asset`` argument the way the host would, or fail with UnexpectedType."""
    items = value.vec.sc_vec if value.type == stellar_xdr.SCValType.SCV_VEC and value.vec is not None else None
    if items is None or len(items) != 2 or items[0].type != stellar_xdr.SCValType.SCV_SYMBOL:
        raise HostError(_sc_error(*UNEXPECTED_TYPE), "failed to convert ScVal to Asset", None)
    tag = items[0].sym.sc_symbol.decode() if items[0].sym is not None else ""
    inner = items[1]
    if tag == "Stellar" and inner.type == stellar_xdr.SCValType.SCV_ADDRESS:
        return ("Stellar", Address.from_xdr_sc_address(inner.address).address)  # type: ignore[arg-type]
    if tag == "Other" and inner.type == stellar_xdr.SCValType.SCV_SYMBOL and inner.sym is not None:
        return ("Other", inner.sym.sc_symbol.decode())
    raise HostError(_sc_error(*UNEXPECTED_TYPE), "failed to convert ScVal to Asset", None)


def _contract_hash(contract_id: str) -> stellar_xdr.Hash:
    return stellar_xdr.Hash(StrKey.decode_contract(contract_id))


def _diagnostic(contract_id: str | None, topics: list[stellar_xdr.SCVal], data: stellar_xdr.SCVal) -> str:
    event = stellar_xdr.ContractEvent(
        ext=stellar_xdr.ExtensionPoint(0),
        contract_id=stellar_xdr.ContractID(_contract_hash(contract_id)) if contract_id else None,
        type=stellar_xdr.ContractEventType.DIAGNOSTIC,
        body=stellar_xdr.ContractEventBody(0, stellar_xdr.ContractEventV0(topics=topics, data=data)),
    )
    return stellar_xdr.DiagnosticEvent(in_successful_contract_call=True, event=event).to_xdr()


def _transaction_data(contract_id: str, instructions: int) -> str:
    address = Address(contract_id).to_xdr_sc_address()
    instance = stellar_xdr.LedgerKey(
        stellar_xdr.LedgerEntryType.CONTRACT_DATA,
        contract_data=stellar_xdr.LedgerKeyContractData(
            contract=address,
            key=stellar_xdr.SCVal(stellar_xdr.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE),
            durability=stellar_xdr.ContractDataDurability.PERSISTENT,
        ),
    )
    code = stellar_xdr.LedgerKey(
        stellar_xdr.LedgerEntryType.CONTRACT_CODE,
        contract_code=stellar_xdr.LedgerKeyContractCode(
            hash=stellar_xdr.Hash(hashlib.sha256(b"stand-in wasm " + contract_id.encode()).digest())
        ),
    )
    data = (
        SorobanDataBuilder()
        .set_read_only([instance, code])
        .set_resources(instructions, 8_000, 0)
        .set_resource_fee(40_000 + instructions // 100)
        .build()
    )
    return str(data.to_xdr())


def _ledger_header(state: StandInState) -> stellar_xdr.LedgerHeader:
    header = stellar_xdr.LedgerHeader.unpack(Unpacker(b"\0" * 4096))
    header.ledger_seq = stellar_xdr.Uint32(state.latest_ledger)
    header.ledger_version = stellar_xdr.Uint32(state.protocol_version)
    header.scp_value.close_time = stellar_xdr.TimePoint(stellar_xdr.Uint64(state.close_time))
    return header


# -- contract execution ------------------------------------------------------------------------------------------


def _expect_args(contract_id: str, function: str, args: list[stellar_xdr.SCVal], count: int) -> None:
    if len(args) != count:
        raise HostError(
            _sc_error(*WRONG_ARG_COUNT),
            "invoking function with wrong number of arguments",
            contract_id,
            f"{function}: expected {count}, got {len(args)}",
        )


def _execute(state: StandInState, contract_id: str, function: str, args: list[stellar_xdr.SCVal]) -> stellar_xdr.SCVal:
    contract = state.contracts.get(contract_id)
    if contract is None:
        raise HostError(
            _sc_error(*MISSING_VALUE_STORAGE), "trying to get non-existing value for contract instance", contract_id
        )
    missing = HostError(
        _sc_error(*MISSING_FUNCTION), "trying to invoke non-existent contract function", contract_id, function
    )
    if isinstance(contract, TokenContract):
        answers = {
            "name": scval.to_string(contract.name),
            "symbol": scval.to_string(contract.symbol),
            "decimals": scval.to_uint32(contract.decimals),
        }
        if function not in answers:
            raise missing
        _expect_args(contract_id, function, args, 0)
        return answers[function]
    if function == "lastprice":
        _expect_args(contract_id, function, args, 1)
        asset = _asset_key(args[0])
        quote = contract.prices.get(asset) if asset in contract.assets else None
        if quote is None:
            return scval.to_void()
        price, stamp = quote
        return scval.to_struct({"price": scval.to_int128(price), "timestamp": scval.to_uint64(stamp)})
    simple = {
        "base": lambda: _asset_scval(contract.base),
        "assets": lambda: scval.to_vec([_asset_scval(a) for a in contract.assets]),
        "decimals": lambda: scval.to_uint32(contract.decimals),
        "resolution": lambda: scval.to_uint32(contract.resolution),
        "last_timestamp": lambda: scval.to_uint64(max((t for _, t in contract.prices.values()), default=0)),
    }
    if function not in simple:
        raise missing
    _expect_args(contract_id, function, args, 0)
    return simple[function]()


def _decode_invocation(tx_b64: Any) -> tuple[str, str, list[stellar_xdr.SCVal]]:
    if not isinstance(tx_b64, str):
        raise BadRequest(-32602, "invalid parameters", "transaction must be a base64 TransactionEnvelope")
    try:
        envelope = stellar_xdr.TransactionEnvelope.from_xdr(tx_b64)
    except Exception as exc:
        raise BadRequest(-32602, "invalid parameters", f"could not unmarshal transaction: {exc}") from None
    if envelope.type != stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX or envelope.v1 is None:
        raise BadRequest(-32602, "invalid parameters", "only v1 transaction envelopes can be simulated")
    operations = envelope.v1.tx.operations
    if len(operations) != 1:
        raise BadRequest(-32602, "invalid parameters", "transaction contains more than one operation")
    body = operations[0].body
    if body.type != stellar_xdr.OperationType.INVOKE_HOST_FUNCTION or body.invoke_host_function_op is None:
        raise BadRequest(-32602, "invalid parameters", "the operation is not InvokeHostFunction")
    host_function = body.invoke_host_function_op.host_function
    invoke = host_function.invoke_contract
    if host_function.type != stellar_xdr.HostFunctionType.HOST_FUNCTION_TYPE_INVOKE_CONTRACT or invoke is None:
        raise BadRequest(-32602, "invalid parameters", "only contract invocations are supported by this stand-in")
    contract_id = Address.from_xdr_sc_address(invoke.contract_address).address
    return contract_id, invoke.function_name.sc_symbol.decode(), list(invoke.args)


def simulate(state: StandInState, tx_b64: Any) -> dict[str, Any]:
    contract_id, function, args = _decode_invocation(tx_b64)
    asset: AssetKey | None = None
    if function == "lastprice" and len(args) == 1:
        try:
            asset = _asset_key(args[0])
        except HostError:
            asset = None
    state.calls.append((contract_id, function, [json.loads(a.to_json()) for a in args]))
    fault = state.faults.get((contract_id, function, asset)) or state.faults.get((contract_id, function, None))
    if fault == "rpc_error":
        raise BadRequest(-32603, "internal error", "stand-in injected fault")
    if fault == "http_500":
        raise InjectedHttpError()
    fn_call = _diagnostic(
        None,
        [scval.to_symbol("fn_call"), scval.to_bytes(StrKey.decode_contract(contract_id)), scval.to_symbol(function)],
        scval.to_vec(args),
    )
    try:
        if fault == "host_error":
            injected = stellar_xdr.SCError(stellar_xdr.SCErrorType.SCE_CONTRACT, contract_code=stellar_xdr.Uint32(1))
            raise HostError(injected, "stand-in injected contract error", contract_id)
        result = _execute(state, contract_id, function, args)
    except HostError as err:
        error_event = _diagnostic(
            err.contract_id,
            [scval.to_symbol("error"), stellar_xdr.SCVal(stellar_xdr.SCValType.SCV_ERROR, error=err.error)],
            scval.to_vec([scval.to_string(err.message)] + ([scval.to_string(str(err.detail))] if err.detail else [])),
        )
        code = _error_text(err.error)
        detail = f", {err.detail}" if err.detail else ""
        text = (
            f"HostError: Error({code})\n\nEvent log (newest first):\n"
            f"   0: [Diagnostic Event] contract:{err.contract_id}, topics:[error, Error({code})], "
            f'data:["{err.message}"{detail}]\n'
        )
        return {"error": text, "events": [error_event, fn_call], "latestLedger": state.latest_ledger}
    fn_return = _diagnostic(contract_id, [scval.to_symbol("fn_return"), scval.to_symbol(function)], result)
    instructions = 1_000_000 + 50_000 * len(args)
    response: dict[str, Any] = {
        "transactionData": _transaction_data(contract_id, instructions),
        "minResourceFee": str(40_000 + instructions // 100),
        "events": [fn_call, fn_return],
        "results": [{"auth": [], "xdr": result.to_xdr()}],
        "cost": {"cpuInsns": str(instructions), "memBytes": str(600_000)},
        "latestLedger": state.latest_ledger,
    }
    if fault == "malformed_xdr":
        response["results"] = [{"auth": [], "xdr": "this is !! not XDR"}]
    if fault == "no_results":
        del response["results"]
    return response


def get_network(state: StandInState) -> dict[str, Any]:
    out: dict[str, Any] = {"passphrase": state.passphrase, "protocolVersion": state.protocol_version}
    if state.passphrase != PUBNET:
        out["friendbotUrl"] = "https://friendbot.stellar.org/"
    return out


def get_latest_ledger(state: StandInState) -> dict[str, Any]:
    header = _ledger_header(state)
    meta = stellar_xdr.LedgerCloseMeta.unpack(Unpacker(b"\0" * 8192))
    assert meta.v0 is not None
    meta.v0.ledger_header.header = header
    return {
        "id": hashlib.sha256(header.to_xdr_bytes()).hexdigest(),
        "protocolVersion": state.protocol_version,
        "sequence": state.latest_ledger,
        "closeTime": str(state.close_time),
        "headerXdr": header.to_xdr(),
        "metadataXdr": meta.to_xdr(),
    }


def dispatch(state: StandInState, request: Any) -> dict[str, Any]:
    """One JSON-RPC request object → its response object."""
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "method" not in request:
        return _error(None, -32600, "invalid request")
    request_id = request.get("id")
    method, params = request["method"], request.get("params") or {}
    try:
        with state.lock:
            if method == "getNetwork":
                result = get_network(state)
            elif method == "getLatestLedger":
                result = get_latest_ledger(state)
            elif method == "simulateTransaction":
                if not isinstance(params, dict):
                    raise BadRequest(-32602, "invalid parameters", "params must be an object")
                result = simulate(state, params.get("transaction"))
            else:
                return _error(request_id, -32601, "method not found", str(method))
    except BadRequest as bad:
        return _error(request_id, bad.code, bad.message, bad.data)
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _error(request_id: Any, code: int, message: str, data: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


# -- HTTP --------------------------------------------------------------------------------------------------------


def _handler_class(state: StandInState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "soroban-rpc-standin"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                request = json.loads(raw)
            except ValueError:
                self._send(200, json.dumps(_error(None, -32700, "parse error")).encode())
                return
            try:
                response = dispatch(state, request)
            except InjectedHttpError:
                self._send(500, b'{"message": "stand-in injected HTTP 500"}')
                return
            self._send(200, json.dumps(response).encode())

    return Handler


@contextmanager
def running_standin(state: StandInState, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``state`` on loopback in a background thread; yields the URL."""
    server = ThreadingHTTPServer((host, port), _handler_class(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _asset_from_json(text: str) -> AssetKey:
    kind, sep, value = text.partition(":")
    if not sep or kind not in ("Stellar", "Other"):
        raise ValueError(f"asset {text!r} must be 'Stellar:C…' or 'Other:SYMBOL'")
    return (kind, value)


def state_from_json(doc: dict[str, Any]) -> StandInState:
    """``{"passphrase": …, "latestLedger": …, "closeTime": …, "contracts": {"C…": {"oracle": {"base": "Other:USD",
    "decimals": 14, "resolution": 300, "prices": {"Other:XLM": [price, timestamp], …}}} | {"token": {"name": …}}}}``.
    """
    state = StandInState(
        passphrase=doc.get("passphrase", PUBNET),
        latest_ledger=int(doc.get("latestLedger", 60_000_000)),
        close_time=int(doc.get("closeTime", 1_760_000_000)),
    )
    for contract_id, spec in doc.get("contracts", {}).items():
        if not StrKey.is_valid_contract(contract_id):
            raise ValueError(f"{contract_id!r} is not a contract address")
        if "oracle" in spec:
            o = spec["oracle"]
            prices = {_asset_from_json(k): (int(v[0]), int(v[1])) for k, v in o.get("prices", {}).items()}
            state.contracts[contract_id] = OracleContract(
                base=_asset_from_json(o.get("base", "Other:USD")),
                decimals=int(o.get("decimals", 14)),
                resolution=int(o.get("resolution", 300)),
                assets=[_asset_from_json(a) for a in o.get("assets", [])] or list(prices),
                prices=prices,
            )
        elif "token" in spec:
            state.contracts[contract_id] = TokenContract(**spec["token"])
        else:
            raise ValueError(f"contract {contract_id}: expected an 'oracle' or 'token' object")
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"{SERVER_NAME}: getNetwork, getLatestLedger, simulateTransaction")
    parser.add_argument("--config", type=Path, required=True, help="JSON state (see state_from_json)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    state = state_from_json(json.loads(args.config.read_text(encoding="utf-8")))
    server = ThreadingHTTPServer((args.host, args.port), _handler_class(state))
    print(f"READY http://{args.host}:{server.server_address[1]} ({SERVER_NAME})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
