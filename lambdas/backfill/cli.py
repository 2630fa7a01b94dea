"""``python -m lambdas.backfill run --from LEDGER [--to LEDGER] --source DIR|s3://bucket/prefix [--workers N]``
and ``python -m lambdas.backfill status``; for the Lambda fan-out (docs/backfill.md#lambda-fan-out)
``fanout --from A --to B --queue-url URL`` and ``status --recompute --from A --to B``.

`run` plans the ledgers of the range that have no `ingested_ledgers` record, walks them downwards (newest
first) in N worker processes through the mTLS edge as the writer identity, and shows a progress bar with
ledgers/s and ETA. Ctrl-C pauses; the same command resumes without gaps or doubles. Without --to the range
ends right below the live range (the contiguous run that ends at the newest ingested ledger), so the two meet.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from lambdas.backfill.fanout_handler import enqueue_ranges, ranges_top_down, recompute_progress
from lambdas.backfill.ingest import LedgerOutcome
from lambdas.backfill.progress_table import live_floor, read_progress
from lambdas.backfill.run import (
    DEFAULT_BATCH,
    DEFAULT_TASK,
    Plan,
    Reporter,
    RunOptions,
    default_workers,
    make_plan,
    run_backfill,
)
from lambdas.backfill.source import SourceError, open_source
from lambdas.common.clickhouse_client import edge_client
from lambdas.ledger_processor.values import PUBNET_PASSPHRASE


class RichReporter(Reporter):
    """A live bar (ledgers done / planned, ledgers/s, ETA) on a terminal; a line every few seconds otherwise."""

    def __init__(self, out: TextIO, *, interval_s: float = 5.0) -> None:
        self.console = Console(file=out, stderr=out is sys.stderr)
        self.interactive = self.console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8.1f} ledgers/s"),
            TextColumn("{task.fields[trades]} trades"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.interactive,
        )
        self.task: TaskID | None = None
        self.total = 0
        self.done = 0
        self.trades = 0
        self.failed = 0
        self.t0 = time.monotonic()
        self.last_line = 0.0
        self.interval_s = interval_s

    def start(self, plan: Plan) -> None:
        self.total = plan.to_write
        self.t0 = time.monotonic()
        self.console.print(
            f"backfill {plan.task}: ledgers {plan.last} down to {plan.first}: {plan.already_done} already ingested, "
            f"up to {plan.to_write} to write"
        )
        self.progress.start()
        self.task = self.progress.add_task("backfill", total=self.total, rate=0.0, trades=0)

    def advance(self, outcomes: Sequence[LedgerOutcome]) -> None:
        self.done += len(outcomes)
        self.trades += sum(o.trades for o in outcomes)
        for o in outcomes:
            if o.error is not None:
                self.failed += 1
                self.console.print(f"[red]ledger {o.ledger} failed: {o.error}")
        rate = self.done / max(time.monotonic() - self.t0, 1e-9)
        if self.task is not None:
            self.progress.update(self.task, advance=len(outcomes), rate=rate, trades=self.trades)
        now = time.monotonic()
        if not self.interactive and (now - self.last_line >= self.interval_s or self.done == self.total):
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            self.console.print(
                f"{self.done}/{self.total} ledgers, {rate:.1f} ledgers/s, {self.trades} trades, ETA {eta:.0f} s"
            )
            self.last_line = now

    def note(self, message: str) -> None:
        self.console.print(message)

    def stop(self) -> None:
        self.progress.stop()


def _run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        source = open_source(args.source)
    except SourceError as exc:
        out.write(f"error: {exc}\n")
        return 2
    client = edge_client(args.endpoints, "ingestion")
    try:
        last = args.to
        if last is None:
            floor = live_floor(client)
            if floor is None:
                out.write("error: --to is required: nothing is ingested yet, so there is no live range to meet\n")
                return 2
            last = floor - 1
            out.write(f"--to {last}: right below the live range, which starts at ledger {floor}\n")
        try:
            plan = make_plan(client, args.from_, last, args.task)
        except ValueError as exc:
            out.write(f"error: {exc}\n")
            return 2
    finally:
        client.close()
    options = RunOptions(
        endpoints=args.endpoints,
        source_spec=args.source,
        passphrase=args.passphrase,
        workers=args.workers,
        batch_size=args.batch_size,
    )
    report = run_backfill(plan, options, RichReporter(out))
    out.write(
        f"{report.status}: wrote {len(report.written)} ledgers ({report.trades} trades), {len(report.failed)} failed; "
        f"complete down to ledger {report.watermark}\n"
    )
    if report.absent:
        out.write(f"{len(report.absent)} ledgers of the range are not in {source.spec}: {_runs(report.absent)}\n")
    if report.interrupted:
        out.write("interrupted: run the same command again to resume\n")
        return 130
    return 0 if report.status == "completed" else 1


def _status(args: argparse.Namespace, out: TextIO) -> int:
    if args.recompute:
        return _recompute(args, out)
    client = edge_client(args.endpoints, "ingestion")
    try:
        rows = read_progress(client, args.task)
    finally:
        client.close()
    if not rows:
        out.write("no backfill has run yet\n")
        return 0
    for r in rows:
        out.write(
            f"{r.task_name}: {r.status}, ledgers {r.start_ledger}..{r.target_ledger}, complete down to "
            f"{r.current_ledger} ({r.progress_pct:.2f} %, {r.ledgers_remaining} remaining); earliest data "
            f"{r.earliest_data_available}, last push {r.last_push_at}"
            + (f", completed {r.completed_at}" if r.completed_at else "")
            + "\n"
        )
    return 0


# -- Lambda fan-out ---------------------------------------------------------------------------------------


def _sqs_for(queue_url: str) -> Any:
    # The region is in the queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>).
    host = urlsplit(queue_url).hostname or ""
    parts = host.split(".")
    region = parts[1] if len(parts) > 3 and parts[0] == "sqs" else None
    return boto3.client("sqs", region_name=region)


def _fanout(args: argparse.Namespace, out: TextIO) -> int:
    try:
        next(ranges_top_down(args.from_, args.to, args.per_message))
    except ValueError as exc:
        out.write(f"error: {exc}\n")
        return 2
    sqs = _sqs_for(args.queue_url)
    last_line = [0.0]

    def progress(sent: int, total: int) -> None:
        if time.monotonic() - last_line[0] >= 5 or sent == total:
            out.write(f"{sent}/{total} range messages sent\n")
            last_line[0] = time.monotonic()

    sent = enqueue_ranges(
        sqs, args.queue_url, args.task, args.from_, args.to, per_message=args.per_message, progress=progress
    )
    out.write(
        f"enqueued {sent} ranges of up to {args.per_message} ledgers, {args.to} down to {args.from_} (task "
        f"{args.task}); follow with: python -m lambdas.backfill status --recompute --from {args.from_} --to {args.to}\n"
    )
    return 0


def _recompute(args: argparse.Namespace, out: TextIO) -> int:
    if args.from_ is None or args.to is None:
        out.write("error: status --recompute needs --from and --to (the fan-out's range)\n")
        return 2
    busy: bool | None = None
    if args.queue_url:
        attributes = _sqs_for(args.queue_url).get_queue_attributes(
            QueueUrl=args.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        busy = any(int(v) > 0 for v in attributes.values())
    client = edge_client(args.endpoints, "ingestion")
    try:
        row = recompute_progress(client, args.task or DEFAULT_TASK, args.from_, args.to, queue_busy=busy)
    except ValueError as exc:
        out.write(f"error: {exc}\n")
        return 2
    finally:
        client.close()
    out.write(
        f"{row.task_name}: {row.status} (recomputed from ingested_ledgers), ledgers {row.start_ledger}.."
        f"{row.target_ledger}, complete down to {row.current_ledger} ({row.progress_pct:.2f} %, "
        f"{row.ledgers_remaining} remaining); earliest data {row.earliest_data_available}, "
        f"last push {row.last_push_at}\n"
    )
    return 0


def _runs(ledgers: Sequence[int], limit: int = 8) -> str:
    runs: list[list[int]] = []
    for seq in sorted(ledgers):
        if runs and seq == runs[-1][1] + 1:
            runs[-1][1] = seq
        else:
            runs.append([seq, seq])
    shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit])
    return shown + (f" and {len(runs) - limit} more runs" if len(runs) > limit else "")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lambdas.backfill", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="backfill a ledger range (resumable)")
    run.add_argument("--from", dest="from_", type=int, required=True, metavar="LEDGER")
    run.add_argument("--to", type=int, metavar="LEDGER", help="default: right below the live range")
    run.add_argument("--source", required=True, help="SEP-54 archive: a directory or s3://bucket/prefix")
    run.add_argument("--workers", type=int, default=default_workers())
    run.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH, help="ledgers per work item, written as one group of inserts"
    )
    run.add_argument("--task", default=DEFAULT_TASK, help="backfill_progress task name")
    run.add_argument("--passphrase", default=PUBNET_PASSPHRASE, help="network passphrase the ledgers must match")
    status = sub.add_parser("status", help="print backfill progress")
    status.add_argument("--task", default=None)
    status.add_argument(
        "--recompute",
        action="store_true",
        help="fan-out: compute the watermark of --from..--to from ingested_ledgers and write the progress row",
    )
    status.add_argument("--from", dest="from_", type=int, metavar="LEDGER", help="with --recompute")
    status.add_argument("--to", type=int, metavar="LEDGER", help="with --recompute")
    status.add_argument("--queue-url", help="with --recompute: the backfill queue (drained + gaps = paused)")
    fanout = sub.add_parser("fanout", help="enqueue ledger ranges for the Lambda fan-out (newest first)")
    fanout.add_argument("--from", dest="from_", type=int, required=True, metavar="LEDGER")
    fanout.add_argument("--to", type=int, required=True, metavar="LEDGER")
    fanout.add_argument("--queue-url", required=True, help="the stack output backfill_queue_url")
    fanout.add_argument(
        "--per-message", type=int, default=500, help="ledgers per range (at most backfill_ledgers_per_message)"
    )
    fanout.add_argument("--task", default=DEFAULT_TASK, help="task name carried in each message")
    for p in (run, status):
        p.add_argument("--endpoints", default=".local/endpoints.json", help="the data plane's endpoints.json")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    stream = out or sys.stderr
    if args.command == "run":
        for flag, value in (("--workers", args.workers), ("--batch-size", args.batch_size)):
            if value < 1:
                stream.write(f"error: {flag} must be at least 1, got {value}\n")
                return 2
        return _run(args, stream)
    if args.command == "fanout":
        return _fanout(args, stream)
    return _status(args, stream)
