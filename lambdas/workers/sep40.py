"""SEP-40 (oracle price feed) values as Soroban SCVals, and how they map to our asset ids.

The SEP-40 interface (as Reflector implements it)::

    enum Asset { Stellar(Address), Other(Symbol) }      // contracttype enum: vec[symbol tag, value]
    struct PriceData { price: i128, timestamp: u64 }    // contracttype struct: map{symbol -> value}
    base() -> Asset; assets() -> Vec<Asset>; decimals() -> u32; resolution() -> u32 (seconds)
    lastprice(asset: Asset) -> Option<PriceData>        // None: no price in the latest round

Prices are fixed-point integers with ``decimals()`` decimals, quoted in ``base()``. Timestamps are Unix
seconds; Reflector's first contract generation reported milliseconds, which :func:`timestamp_seconds`
recognises by size (a seconds value reaches 10**11 only in the year 5138).

Asset ids (the ingestion's naming, docs/ledger-processing.md): ``native`` | ``CODE:ISSUER`` | ``C…``. A
``Stellar(C…)`` asset that is the Stellar Asset Contract of a classic asset is stored under the classic id,
as the ingestion collapses SAC legs; ``Other("XLM")`` is ``native``; other ``Other`` symbols (BTC, EUR, …)
have no Stellar identity and are not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from stellar_sdk import scval
from stellar_sdk import xdr as stellar_xdr

from lambdas.ledger_processor.values import NATIVE, is_classic_identity, sac_contract_id

AssetKind = Literal["Stellar", "Other"]
MILLISECONDS_THRESHOLD = 10**11
MAX_DECIMALS = 38

# Symbols of Other(…) assets that name a Stellar asset without ambiguity.
OTHER_SYMBOL_ASSET_IDS = {"XLM": NATIVE}
# Bases whose quotes are USD: Other("USD"), or Circle's USDC (pubnet, testnet) as a classic asset or its SAC.
USD_SYMBOLS = frozenset({"USD"})
USD_CLASSIC_ASSETS = frozenset(
    {
        "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
        "USDC:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5",
    }
)


class Sep40ValueError(ValueError):
    """A contract returned a value that is not what SEP-40 specifies."""


@dataclass(frozen=True)
class Sep40Asset:
    kind: AssetKind
    value: str  # a strkey for Stellar, the symbol for Other

    def __str__(self) -> str:
        return f"{self.kind}({self.value})"

    def to_scval(self) -> stellar_xdr.SCVal:
        inner = scval.to_address(self.value) if self.kind == "Stellar" else scval.to_symbol(self.value)
        return scval.to_enum(self.kind, inner)

    @classmethod
    def from_scval(cls, value: stellar_xdr.SCVal) -> Sep40Asset:
        if value.type != stellar_xdr.SCValType.SCV_VEC or value.vec is None or len(value.vec.sc_vec) != 2:
            raise Sep40ValueError(f"an Asset is vec[symbol, value], got {_show(value)}")
        tag, inner = value.vec.sc_vec
        if tag.type != stellar_xdr.SCValType.SCV_SYMBOL or tag.sym is None:
            raise Sep40ValueError(f"Asset tag must be a symbol, got {_show(tag)}")
        kind = tag.sym.sc_symbol.decode()
        if kind == "Stellar":
            if inner.type != stellar_xdr.SCValType.SCV_ADDRESS:
                raise Sep40ValueError(f"Stellar(…) must hold an address, got {_show(inner)}")
            return cls("Stellar", scval.from_address(inner).address)
        if kind == "Other":
            if inner.type != stellar_xdr.SCValType.SCV_SYMBOL or inner.sym is None:
                raise Sep40ValueError(f"Other(…) must hold a symbol, got {_show(inner)}")
            return cls("Other", inner.sym.sc_symbol.decode())
        raise Sep40ValueError(f"unknown Asset variant {kind!r}")


@dataclass(frozen=True)
class PriceData:
    price: int
    timestamp: int  # Unix seconds


def decode_assets(value: stellar_xdr.SCVal) -> list[Sep40Asset]:
    if value.type != stellar_xdr.SCValType.SCV_VEC or value.vec is None:
        raise Sep40ValueError(f"assets() must return a vec, got {_show(value)}")
    return [Sep40Asset.from_scval(item) for item in value.vec.sc_vec]


def decode_u32(function: str, value: stellar_xdr.SCVal) -> int:
    if value.type != stellar_xdr.SCValType.SCV_U32 or value.u32 is None:
        raise Sep40ValueError(f"{function}() must return a u32, got {_show(value)}")
    return int(value.u32.uint32)


def decode_decimals(value: stellar_xdr.SCVal) -> int:
    decimals = decode_u32("decimals", value)
    if decimals > MAX_DECIMALS:
        raise Sep40ValueError(f"decimals() = {decimals} is more than an i128 price can carry")
    return decimals


def decode_price_data(value: stellar_xdr.SCVal) -> PriceData | None:
    """``Option<PriceData>``: SCV_VOID is None, else a map with exactly ``price`` (i128) and ``timestamp`` (u64)."""
    if value.type == stellar_xdr.SCValType.SCV_VOID:
        return None
    if value.type != stellar_xdr.SCValType.SCV_MAP or value.map is None:
        raise Sep40ValueError(f"lastprice() must return PriceData or void, got {_show(value)}")
    fields: dict[str, stellar_xdr.SCVal] = {}
    for entry in value.map.sc_map:
        if entry.key.type != stellar_xdr.SCValType.SCV_SYMBOL or entry.key.sym is None:
            raise Sep40ValueError(f"PriceData keys must be symbols, got {_show(entry.key)}")
        fields[entry.key.sym.sc_symbol.decode()] = entry.val
    if set(fields) != {"price", "timestamp"}:
        raise Sep40ValueError(f"PriceData must have exactly price and timestamp, got {sorted(fields)}")
    price, stamp = fields["price"], fields["timestamp"]
    if price.type != stellar_xdr.SCValType.SCV_I128:
        raise Sep40ValueError(f"PriceData.price must be an i128, got {_show(price)}")
    if stamp.type != stellar_xdr.SCValType.SCV_U64:
        raise Sep40ValueError(f"PriceData.timestamp must be a u64, got {_show(stamp)}")
    return PriceData(price=scval.from_int128(price), timestamp=scval.from_uint64(stamp))


def timestamp_seconds(raw: int) -> int:
    return raw // 1000 if raw >= MILLISECONDS_THRESHOLD else raw


def price_usd(price: int, decimals: int) -> float:
    """The fixed-point price as a float, through Decimal so the scaling itself adds no rounding."""
    if price <= 0:
        raise Sep40ValueError(f"price {price} is not positive")
    return float(Decimal(price).scaleb(-decimals))


def observed_at(data: PriceData) -> datetime:
    return datetime.fromtimestamp(timestamp_seconds(data.timestamp), UTC)


def classic_identity_of_token(contract_id: str, token_name: str | None, passphrase: str) -> str | None:
    """The classic identity a token contract is the Stellar Asset Contract of, or None.

    ``token_name`` is the contract's ``name()`` (a SAC answers ``native`` or ``CODE:ISSUER``). It is only
    believed after re-deriving the SAC address from it: a custom token may call itself anything.
    """
    if token_name is None or not is_classic_identity(token_name):
        return None
    return token_name if sac_contract_id(token_name, passphrase) == contract_id else None


def _show(value: stellar_xdr.SCVal) -> str:
    try:
        text = value.to_json()
    except Exception:
        text = value.to_xdr()
    return text if len(text) <= 160 else text[:157] + "..."
