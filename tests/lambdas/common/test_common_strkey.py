import os
import subprocess
import sys
from pathlib import Path

import pytest
from stellar_sdk import StrKey

from lambdas.common import strkey

REPO_ROOT = Path(__file__).resolve().parents[3]
ACCOUNT_KEY = "GARDNV3Q7YGT4AKSDF25LT32YSCCW4EV22Y2TV3I2PU2MMXJTEDL5T55"  # yXLM's issuer (mainnet)


@pytest.mark.parametrize(
    ("version", "length", "sdk_encode"),
    [
        (strkey.ACCOUNT, 32, StrKey.encode_ed25519_public_key),
        (strkey.CONTRACT, 32, StrKey.encode_contract),
        (strkey.MUXED_ACCOUNT, 40, StrKey.encode_med25519_public_key),
        (strkey.LIQUIDITY_POOL, 32, StrKey.encode_liquidity_pool),
        (strkey.CLAIMABLE_BALANCE, 33, StrKey.encode_claimable_balance),
    ],
    ids=["G", "C", "M", "L", "B"],
)
def test_encode_and_decode_agree_with_stellar_sdk(version: int, length: int, sdk_encode: object) -> None:
    assert callable(sdk_encode)
    for seed in range(20):
        payload = bytes((seed * 7 + i * 13) % 256 for i in range(length))
        text = strkey.encode(version, payload)
        assert text == sdk_encode(payload)
        assert strkey.decode(version, text, length) == payload


def test_decode_an_account_as_the_sdk_does() -> None:
    assert strkey.decode(strkey.ACCOUNT, ACCOUNT_KEY) == StrKey.decode_ed25519_public_key(ACCOUNT_KEY)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (ACCOUNT_KEY[:-1] + ("A" if ACCOUNT_KEY[-1] != "A" else "B"), "checksum mismatch"),
        (ACCOUNT_KEY[:-4], "not a G… key"),
        (ACCOUNT_KEY.lower(), "not base32"),
        (strkey.encode(strkey.CONTRACT, bytes(32)), "not a G… key"),
    ],
    ids=["corrupted", "truncated", "lowercase", "contract"],
)
def test_a_bad_account_key_is_refused_naming_it(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as caught:
        strkey.decode(strkey.ACCOUNT, text)
    assert repr(text) in str(caught.value)


def test_the_ledger_processor_lambda_imports_without_stellar_sdk() -> None:
    # stellar_sdk loads ~1000 modules: the handler's cold start must not pay for it.
    code = (
        "import sys, lambdas.ledger_processor.handler; print([m for m in sys.modules if m.startswith('stellar_sdk')])"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "[]"
