"""A small Soroban RPC client: JSON-RPC 2.0 over HTTPS with ``requests``, read-only contract calls.

Only what the oracle worker needs: ``getNetwork`` (to refuse an RPC of another network) and
``simulateTransaction`` of a one-operation ``InvokeHostFunction`` transaction. Simulation executes the
call on the RPC's current ledger state without submitting anything, so no key, fee or sequence number is
involved: the source is the all-zero account, as the JS SDK's contract client does for read calls.

Responses are validated with stellar-sdk's own models of the RPC responses (``stellar_sdk.soroban_rpc``), so
a malformed answer is a clear :class:`MalformedResponse`, never a half-parsed value. Every error says which
method, contract and function it is about.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from pydantic import ValidationError
from stellar_sdk import Account, StrKey, TransactionBuilder
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.soroban_rpc import GetNetworkResponse, SimulateTransactionResponse

# The all-zero ed25519 account: a syntactically valid source for simulations, never a real signer.
SIMULATION_SOURCE = StrKey.encode_ed25519_public_key(bytes(32))
# Connect and read timeouts (s): a hung RPC must not eat the function's whole timeout.
DEFAULT_TIMEOUT = (3.05, 10.0)


class SorobanRpcError(RuntimeError):
    """Base of every failure talking to the RPC server."""


class RpcUnavailable(SorobanRpcError):
    """Transport failure, HTTP error status or a body that is not JSON."""


class RpcErrorResponse(SorobanRpcError):
    """The server answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str, data: Any) -> None:
        super().__init__(f"{method}: JSON-RPC error {code}: {message}" + (f" ({data})" if data else ""))
        self.code = code


class ContractCallFailed(SorobanRpcError):
    """The simulation ran and the contract call failed (a HostError: missing function, bad arguments, …)."""


class MalformedResponse(SorobanRpcError):
    """The response does not have the shape the RPC API documents."""


@dataclass(frozen=True)
class Simulation:
    contract_id: str
    function: str
    args_xdr: tuple[str, ...]
    result: stellar_xdr.SCVal
    result_xdr: str
    latest_ledger: int
    min_resource_fee: int | None


class SorobanRpc:
    def __init__(
        self,
        url: str,
        passphrase: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        self.passphrase = passphrase
        self._session = session or requests.Session()
        self._timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``result`` object of one JSON-RPC call."""
        request_id = next(self._ids)
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        try:
            response = self._session.post(self.url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise RpcUnavailable(f"{method}: cannot reach {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise RpcUnavailable(f"{method}: HTTP {response.status_code} from {self.url}: {response.text[:200]!r}")
        try:
            payload = response.json()
        except ValueError:
            raise MalformedResponse(f"{method}: response is not JSON: {response.text[:200]!r}") from None
        if not isinstance(payload, dict) or payload.get("jsonrpc") != "2.0":
            raise MalformedResponse(f"{method}: not a JSON-RPC 2.0 response: {str(payload)[:200]}")
        if payload.get("id") != request_id:
            raise MalformedResponse(f"{method}: response id {payload.get('id')!r} does not match request {request_id}")
        error = payload.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise MalformedResponse(f"{method}: error member is not an object: {error!r}")
            raise RpcErrorResponse(method, int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
        result = payload.get("result")
        if not isinstance(result, dict):
            raise MalformedResponse(f"{method}: response has no result object")
        return result

    def get_network(self) -> GetNetworkResponse:
        return _validated("getNetwork", GetNetworkResponse, self.call("getNetwork"))

    def invocation_xdr(self, contract_id: str, function: str, args: Sequence[stellar_xdr.SCVal]) -> str:
        """Base64 TransactionEnvelope of a one-operation invocation of ``contract_id.function(args)``."""
        builder = TransactionBuilder(Account(SIMULATION_SOURCE, 0), self.passphrase, base_fee=100)
        builder.append_invoke_contract_function_op(contract_id, function, list(args))
        return builder.set_timeout(60).build().to_xdr()

    def simulate(self, contract_id: str, function: str, args: Sequence[stellar_xdr.SCVal] = ()) -> Simulation:
        what = f"simulateTransaction {contract_id}.{function}"
        raw = self.call("simulateTransaction", {"transaction": self.invocation_xdr(contract_id, function, args)})
        sim = _validated(what, SimulateTransactionResponse, raw)
        if sim.error:
            first_line = sim.error.strip().splitlines()[0] if sim.error.strip() else "(empty error)"
            raise ContractCallFailed(f"{what}: {first_line}")
        if not sim.results or len(sim.results) != 1:
            count = 0 if not sim.results else len(sim.results)
            raise MalformedResponse(f"{what}: expected exactly one result, got {count}")
        result_xdr = sim.results[0].xdr
        try:
            result = stellar_xdr.SCVal.from_xdr(result_xdr)
        except Exception as exc:
            raise MalformedResponse(f"{what}: result is not an SCVal in base64 XDR: {exc}") from None
        return Simulation(
            contract_id=contract_id,
            function=function,
            args_xdr=tuple(a.to_xdr() for a in args),
            result=result,
            result_xdr=result_xdr,
            latest_ledger=sim.latest_ledger,
            min_resource_fee=sim.min_resource_fee,
        )


def _validated(what: str, model: type[Any], result: dict[str, Any]) -> Any:
    try:
        return model.model_validate(result)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '?'}: {e['msg']}" for e in exc.errors())
        raise MalformedResponse(f"{what}: unexpected response shape: {problems}") from None
