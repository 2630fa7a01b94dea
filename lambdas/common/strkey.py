"""Stellar StrKey (``G…``, ``C…``, ``M…``, ``L…``, ``B…``) encode/decode without importing stellar_sdk.

The algorithm of ``stellar_sdk.StrKey``: version byte ‖ payload ‖ CRC16-XModem of both (little-endian),
base32 without padding. Written out because ``import stellar_sdk`` loads ~1000 modules (~0.4 s of Lambda
cold start) and the ledger processor's fast path needs nothing else from it; a test proves both agree.
"""

from __future__ import annotations

import base64
import binascii

# Version bytes: the kind letter's index in the base32 alphabet, shifted into the top five bits.
ACCOUNT = 6 << 3  # G… ed25519 public key
CONTRACT = 2 << 3  # C…
MUXED_ACCOUNT = 12 << 3  # M… ed25519 public key ‖ 8-byte id
LIQUIDITY_POOL = 11 << 3  # L…
CLAIMABLE_BALANCE = 1 << 3  # B… (1 type byte ‖ 32-byte hash)


def encode(version: int, payload: bytes) -> str:
    body = bytes((version,)) + payload
    checksum = binascii.crc_hqx(body, 0).to_bytes(2, "little")
    return base64.b32encode(body + checksum).decode("ascii").rstrip("=")


def problem(version: int, text: str, length: int = 32) -> str | None:
    """Why ``text`` is not a StrKey of ``version`` with a ``length``-byte payload, or None when it is one."""
    letter = chr(ord("A") + (version >> 3))
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as exc:
        return f"not base32 ({exc})"
    if len(raw) != 1 + length + 2 or raw[0] != version:
        return f"not a {letter}… key"
    if binascii.crc_hqx(raw[:-2], 0).to_bytes(2, "little") != raw[-2:]:
        return "checksum mismatch (a character is wrong)"
    if encode(version, raw[1:-2]) != text:  # unused trailing bits set: another spelling of the same bytes
        return f"not the canonical spelling of its {letter}… key"
    return None


def decode(version: int, text: str, length: int = 32) -> bytes:
    """The ``length``-byte payload of ``text``, or ValueError naming ``text`` and what is wrong with it."""
    why = problem(version, text, length)
    if why is not None:
        raise ValueError(f"{text!r} is not a valid StrKey: {why}")
    return base64.b32decode(text + "=" * (-len(text) % 8))[1:-2]
