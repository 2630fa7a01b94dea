"""CLI output shape: JSON lines with the documented keys, decimal strings, one line per trade."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal

from lambdas.ledger_processor.cli import main
from lambdas.ledger_processor.extract import extract_file
from tests.lambdas.ledger_processor.helpers import FIXTURES, MAINNET, REPO

KEYS = {
    "ledger",
    "close_time",
    "tx_hash",
    "op_index",
    "fill_index",
    "source",
    "kind",
    "base_asset",
    "quote_asset",
    "base_amount",
    "quote_amount",
    "price",
}


def test_extract_json_lines() -> None:
    paths = [str(FIXTURES / MAINNET[s]) for s in (63092990, 53312000)]
    out = io.StringIO()
    assert main(["extract", *paths, "--json"], out=out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = sum(len(lt.trades) for p in paths for lt in extract_file(p))
    assert len(rows) == expected > 0
    assert {r["ledger"] for r in rows} == {63092990, 53312000}
    for r in rows:
        assert r.keys() >= KEYS
        base, quote, price = (Decimal(r[k]) for k in ("base_amount", "quote_amount", "price"))
        assert isinstance(r["base_amount"], str) and base > 0 and quote > 0
        assert abs(price - quote / base) <= price * Decimal("1e-20")
        assert len(r["tx_hash"]) == 64 and r["kind"] in ("orderbook", "pool", "amm")


def test_module_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lambdas.ledger_processor", "extract", str(FIXTURES / MAINNET[57500008])],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ledger 57500008: 39 trades" in proc.stdout
    assert "aquarius/amm" in proc.stdout
