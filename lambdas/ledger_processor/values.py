"""Plain-Python model of the Soroban values and identities both decoders produce.

The fast walker and the stellar-sdk path must yield *equal* facts, so both map XDR onto these few
types instead of passing library objects around:

- ``Address``: a strkey (``G…``, ``C…``, ``M…``, ``B…``, ``L…``) from an ``SCV_ADDRESS``
- ``Text``: an ``SCV_STRING`` (plain ``str`` is an ``SCV_SYMBOL``); both compare equal to ``str``
  because contracts emit the same names either way (``"SoroswapPair"`` is a String, ``"swap"`` a Symbol)
- ``int`` for every integer width, ``bool``, ``None`` (void), ``bytes`` (SCV_BYTES)
- ``tuple`` for vectors, ``ScMap`` (tuple of key/value pairs, order kept) for maps
- ``RawVal(type, xdr)`` for anything a trade never needs (errors, instances, nonces, …)
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, NamedTuple

from lambdas.common import strkey

PUBNET_PASSPHRASE = "Public Global Stellar Network ; September 2015"  # noqa: S105 - network id, not a secret
NATIVE = "native"


class Address(str):
    """An SCAddress rendered as a strkey."""

    __slots__ = ()


class Text(str):
    """An SCV_STRING (distinguished from a symbol only for the record; equality is by text)."""

    __slots__ = ()


class RawVal(NamedTuple):
    type: int
    xdr: bytes


class ScMap(tuple):  # type: ignore[type-arg]
    """An SCMap as ordered (key, value) pairs; keys may be unhashable, so it is not a dict."""

    __slots__ = ()

    def get(self, key: Any, default: Any = None) -> Any:
        for k, v in self:
            if k == key:
                return v
        return default


@lru_cache(maxsize=65536)
def account_strkey(ed25519: bytes) -> str:
    return strkey.encode(strkey.ACCOUNT, ed25519)


@lru_cache(maxsize=65536)
def contract_strkey(contract_hash: bytes) -> str:
    return strkey.encode(strkey.CONTRACT, contract_hash)


def asset_identity(code: bytes | None, issuer: bytes | None) -> str:
    """``native`` or ``CODE:ISSUER`` (code without its NUL padding) for a classic asset."""
    if code is None or issuer is None:
        return NATIVE
    name = code.rstrip(b"\0").decode("ascii", "replace")
    return f"{name}:{account_strkey(issuer)}"


def _asset_xdr(identity: str) -> bytes:
    if identity == NATIVE:
        return b"\0\0\0\0"
    code, issuer = identity.split(":")
    raw = code.encode("ascii")
    kind, width = (1, 4) if len(raw) <= 4 else (2, 12)
    return kind.to_bytes(4, "big") + raw.ljust(width, b"\0") + b"\0\0\0\0" + strkey.decode(strkey.ACCOUNT, issuer)


@lru_cache(maxsize=65536)
def sac_contract_id(identity: str, passphrase: str = PUBNET_PASSPHRASE) -> str:
    """Stellar Asset Contract address of a classic asset.

    sha256(HashIDPreimage ENVELOPE_TYPE_CONTRACT_ID{networkID, ContractIDPreimage FROM_ASSET(asset)});
    a test checks this against stellar-sdk's ``Asset.contract_id``.
    """
    network_id = hashlib.sha256(passphrase.encode()).digest()
    preimage = (8).to_bytes(4, "big") + network_id + (1).to_bytes(4, "big") + _asset_xdr(identity)
    return contract_strkey(hashlib.sha256(preimage).digest())


def is_classic_identity(identity: str) -> bool:
    if identity == NATIVE:
        return True
    code, sep, issuer = identity.partition(":")
    return bool(sep) and 1 <= len(code) <= 12 and issuer.startswith("G") and len(issuer) == 56
