"""Asset identifiers in request paths and batch bodies → the ids the ingestion writes.

``native`` / ``XLM`` → ``native``; ``CODE:ISSUER`` (1–12 alphanumerics, a ``G…`` account) and ``C…``
contract ids are kept as given once their StrKey checksum is proven. A malformed id or a bad checksum is
the client's error (400 naming it); only a well-formed id can be "not found" (404).

The StrKey check is ``lambdas.common.strkey`` (the algorithm of ``stellar_sdk.StrKey`` without importing
stellar_sdk, which costs ~0.4 s of cold start, more than the whole init budget); this module adds the
length and alphabet messages a client needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lambdas.api.errors import ApiError, echo
from lambdas.common import strkey

NATIVE = "native"
NATIVE_ALIASES = frozenset({"native", "XLM"})

# Version bytes (first decoded byte) of the two StrKey kinds an asset id can hold.
VERSION_ACCOUNT = strkey.ACCOUNT  # "G…" ed25519 public key
VERSION_CONTRACT = strkey.CONTRACT  # "C…" contract
STRKEY_LENGTH = 56  # 1 version byte + 32 bytes + 2 checksum bytes = 35 bytes = 56 base32 characters

_CODE = re.compile(r"^[A-Za-z0-9]{1,12}$")
_BASE32 = re.compile(r"^[A-Z2-7]{56}$")

AssetKind = Literal["native", "classic", "contract"]


@dataclass(frozen=True)
class AssetRef:
    asset_id: str  # what the ingestion writes: "native", "CODE:ISSUER" or "C…"
    kind: AssetKind
    given: str  # as the client spelled it (error messages quote this)


def strkey_problem(value: str, version: int) -> str | None:
    """Why `value` is not a StrKey of `version`, or None when it is one."""
    letter = chr(ord("A") + (version >> 3))
    if len(value) != STRKEY_LENGTH:
        return f"a {letter}… key has {STRKEY_LENGTH} characters, this one {len(value)}"
    if not _BASE32.match(value):
        return "a key holds only the base32 characters A-Z and 2-7"
    return strkey.problem(version, value)


def parse_asset(text: str, *, label: str = "parameter 'asset'") -> AssetRef:
    """The asset a client named, or a 400 ApiError naming where it came from (`label`) and what is wrong."""
    if text in NATIVE_ALIASES:
        return AssetRef(NATIVE, "native", text)
    if text.startswith("C") and ":" not in text:
        problem = strkey_problem(text, VERSION_CONTRACT)
        if problem:
            raise _bad(label, text, f"not a valid contract id: {problem}")
        return AssetRef(text, "contract", text)
    code, sep, issuer = text.partition(":")
    if not sep:
        raise _bad(label, text, "expected 'native', 'XLM', 'CODE:ISSUER' or a C… contract id")
    if not _CODE.match(code):
        raise _bad(label, text, "the asset code must be 1 to 12 letters or digits")
    problem = strkey_problem(issuer, VERSION_ACCOUNT)
    if problem:
        raise _bad(label, text, f"the issuer is not a valid G… account: {problem}")
    return AssetRef(text, "classic", text)


def _bad(label: str, text: str, why: str) -> ApiError:
    return ApiError(400, "invalid_asset", f"{label}: {echo(text)}: {why}")
