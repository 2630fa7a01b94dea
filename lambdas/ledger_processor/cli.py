"""Command line: ``python -m lambdas.ledger_processor extract FILE... [--json] [--decoder fast|sdk]``.

Sub-commands are registered in ``build_parser`` so ``ingest`` can be added beside ``extract``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from lambdas.ledger_processor.extract import extract_file
from lambdas.ledger_processor.registry import AssetRegistry, PoolRegistry


def _extract(args: argparse.Namespace, out: TextIO) -> int:
    # One registry for the whole run: a SAC or pair learned in one file also resolves the next.
    assets, pools = AssetRegistry(), PoolRegistry()
    for path in args.files:
        for lt in extract_file(path, args.decoder, assets, pools):
            if args.json:
                for t in lt.trades:
                    out.write(json.dumps(t.to_json_dict(), separators=(",", ":")) + "\n")
                for u in lt.unresolved:
                    out.write(json.dumps({"unresolved": u.__dict__}, default=list) + "\n")
            else:
                out.write(
                    f"{path}: ledger {lt.ledger}: {len(lt.trades)} trades, "
                    f"{len(lt.unresolved)} unresolved swaps, {lt.zero_fills} zero fills\n"
                )
                for t in lt.trades:
                    out.write(
                        f"  {t.tx_hash[:12]} op{t.op_index}#{t.fill_index} {t.source}/{t.kind} {t.side} "
                        f"{t.base_amount} {t.base_asset} @ {t.price} {t.quote_asset}\n"
                    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lambdas.ledger_processor")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="print the DEX trades in ledger files")
    ex.add_argument("files", nargs="+", help=".xdr.zst/.xdr.zstd batch, .xdr.gz, or framed stream")
    ex.add_argument("--json", action="store_true", help="one JSON object per trade (JSON lines)")
    ex.add_argument("--decoder", choices=("fast", "sdk"), default="fast")
    ex.set_defaults(func=_extract)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args, out or sys.stdout)
    return result
