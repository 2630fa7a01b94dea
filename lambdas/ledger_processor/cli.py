"""Command line: ``python -m lambdas.ledger_processor extract FILE... [--json] [--decoder fast|sdk]``
``python -m lambdas.ledger_processor ingest FILE... [--endpoints .local/endpoints.json]`` and
``python -m lambdas.ledger_processor reconcile START END [--enqueue --queue-url URL --bucket NAME]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

import boto3

from lambdas.common.clickhouse_client import edge_client
from lambdas.ledger_processor.extract import extract_file
from lambdas.ledger_processor.ingest_files import ingest_files
from lambdas.ledger_processor.reconcile import enqueue_missing, find_missing
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


def _ingest(args: argparse.Namespace, out: TextIO) -> int:
    # Through the mTLS edge with the ingestion identity, exactly as the Lambda writes.
    report = ingest_files(args.files, args.endpoints)
    out.write(f"ingested {len(report.files)} ledger(s); {'ok' if report.ok else 'with failures'}\n")
    return 0 if report.ok else 1


def _reconcile(args: argparse.Namespace, out: TextIO) -> int:
    if args.end < args.start:
        out.write(f"error: END ({args.end}) is before START ({args.start})\n")
        return 2
    if args.enqueue and not (args.queue_url and args.bucket):
        out.write("error: --enqueue needs --queue-url and --bucket\n")
        return 2
    client = edge_client(args.endpoints, args.role)
    try:
        missing = find_missing(client, args.start, args.end)
    finally:
        client.close()
    out.write(f"{len(missing)} of {args.end - args.start + 1} ledgers missing in [{args.start}, {args.end}]\n")
    for first, last in _runs(missing):
        out.write(f"  {first}" + (f"-{last}" if last != first else "") + "\n")
    if args.enqueue and missing:
        sent = enqueue_missing(boto3.client("sqs"), args.queue_url, args.bucket, missing)
        out.write(f"enqueued {sent} ledger(s) on {args.queue_url}\n")
    return 0


def _runs(ledgers: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for seq in ledgers:
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lambdas.ledger_processor")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="print the DEX trades in ledger files")
    ex.add_argument("files", nargs="+", help=".xdr.zst/.xdr.zstd batch, .xdr.gz, or framed stream")
    ex.add_argument("--json", action="store_true", help="one JSON object per trade (JSON lines)")
    ex.add_argument("--decoder", choices=("fast", "sdk"), default="fast")
    ex.set_defaults(func=_extract)
    ing = sub.add_parser("ingest", help="write ledger files into the running local data plane (make run)")
    ing.add_argument("files", nargs="+", help="ledger files, any container extract accepts")
    ing.add_argument("--endpoints", default=".local/endpoints.json", help="written by make run")
    ing.set_defaults(func=_ingest)
    rec = sub.add_parser("reconcile", help="list ledgers of a range with no ingested record; optionally enqueue them")
    rec.add_argument("start", type=int, help="first ledger (inclusive)")
    rec.add_argument("end", type=int, help="last ledger (inclusive)")
    rec.add_argument("--endpoints", default=".local/endpoints.json", help="edge endpoints and identities")
    rec.add_argument("--role", default="ingestion", choices=("ingestion", "api"))
    rec.add_argument("--enqueue", action="store_true", help="send S3-notification messages for the gaps")
    rec.add_argument("--queue-url", help="the ingest queue (stack output ingest_queue_url)")
    rec.add_argument("--bucket", help="the ledger bucket the keys live in")
    rec.set_defaults(func=_reconcile)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args, out or sys.stdout)
    return result
