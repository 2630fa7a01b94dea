"""Backfill throughput into the local data plane, and what the full history would take locally and with the fan-out.

    python -m bench.backfill [--passes 4] [--samples mainnet,load-test] [--json]

Everything runs against a data plane this benchmark starts itself (chDB stand-in + the Caddy mTLS edge, as
`make run`), written as the ingestion identity. The archive is a SEP-54 directory built in a temp dir from the
fixtures: a ledger's content always matches its key, so nothing is replayed under another number. The sample
is therefore small, and repeated instead over fresh databases (`--passes`):

* `mainnet`: the six mainnet fixture ledgers (2024-2026, 150-290 KB compressed, 29-193 trades each), read
  with the pubnet passphrase;
* `load-test`: the five synthetic load-test ledgers (another network, "load test network": they decode and
  pass its network check; ~1.8 MB each, thousands of transfer events and no trades): decode-heavy, write-light.

Per sample, the same ledgers along four paths, each rate = ledgers written / seconds:

* `decode only`: `prepare_ledger` on the archive bytes, in-process — the baseline the ratios divide by;
* `cli, 1 worker`: what `python -m lambdas.backfill run --workers 1 --batch-size 1` does per batch
  (`ingest.ingest_batch`: decode, then the batch's inserts through the edge) plus its checkpoint rollup;
* `cli, 2 workers`: the same in the CLI's spawned worker pool (`run.worker_pool` / `run.ingest_in_worker`, one
  ledger per batch). The pool is started once and warmed by a first untimed pass, so process start-up (printed
  apart) is not charged to the rate; the two workers share the machine's cores with the engine and the edge;
* `fan-out fn`: the fan-out function's range path (`fanout_handler.ingest_range`: one gap query, parallel
  reads, `ledgersPerInsert` ledgers per insert) in one process: the per-function rate. The refreshable views
  roll its output in AWS, so no rollup is timed here.

Also measured: the inserts per batch at the CLI's default `--batch-size` (one untimed pass; a batch's ledgers
share one group of inserts), the bytes the fan-out path sends to the edge per ledger (a counting TCP relay in
front of it) and the gap query over one 64,000-ledger window (what the CLI plans per archive partition).

The projection takes the full history at ~57 M ledgers (the reference system's figure for 2015 to its time of
writing, reference-system.md and issue 6; the newest fixture, ledger 63,092,996, shows today's tip is higher).
Locally: at the measured 2-worker rate (this machine), and per core. Fan-out: `components.cost`'s estimate with
the measured per-function rate, egress and archive size substituted; what it extrapolates (the ~85 ms round
trip to the box, one vCPU per function, CPU speed of arm64 Lambda vs this machine, early ledgers being smaller)
is printed with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import yaml
import zstandard

from components.cost import backfill_fanout_estimate
from components.settings import BackfillEstimateSettings, StackSettings, load_settings
from lambdas.backfill.fanout_handler import RangeMessage, ingest_range
from lambdas.backfill.ingest import ingest_batch
from lambdas.backfill.run import DEFAULT_BATCH, DEFAULT_CHECKPOINT_SECONDS, DEFAULT_TASK, ingest_in_worker, worker_pool
from lambdas.backfill.source import DirectorySource
from lambdas.common.clickhouse_client import edge_client
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.ledger_processor.ingest_files import rollup_windows
from lambdas.ledger_processor.ledger_files import LEDGERS_PER_PARTITION, ledger_key_for, read_ledger_file
from lambdas.ledger_processor.ledger_ingest import prepare_ledger
from lambdas.ledger_processor.reconcile import find_missing
from lambdas.ledger_processor.values import PUBNET_PASSPHRASE
from local.dataplane import MAINNET_FIXTURES, DataPlane, start_dataplane
from schema.migrations import apply_migrations
from schema.rollups import rollup_range_from_parts

FIXTURES = MAINNET_FIXTURES.parent
LOAD_TEST_PASSPHRASE = "load test network"  # noqa: S105 - a network id, not a secret
FULL_HISTORY_LEDGERS = 57_000_000
FULL_HISTORY_SOURCE = "the reference system's full history, 2015 onwards (reference-system.md, issue 6)"
REFERENCE_DAYS = (12, 16)  # the reference's full-history backfill on one workstation (issue 6)
NEWEST_FIXTURE_LEDGER = 63_092_996
STACK_FILE = Path(__file__).resolve().parents[1] / "Pulumi.prod.yaml"


# -- the archive ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    name: str
    passphrase: str
    keys: dict[int, str]  # ledger -> archive key
    description: str

    @property
    def ledgers(self) -> list[int]:
        return sorted(self.keys)

    def ranges(self, max_span: int = 500) -> list[tuple[int, int]]:
        """Ranges over the sample's ledgers, newest first, as the fan-out would receive them."""
        out: list[tuple[int, int]] = []
        for seq in sorted(self.keys, reverse=True):
            if out and out[-1][1] - seq < max_span:
                out[-1] = (seq, out[-1][1])
            else:
                out.append((seq, seq))
        return out


def _zstd(raw: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(raw)


def build_archive(root: Path, samples: Sequence[str], limit: int | None = None) -> list[Sample]:
    """The fixtures as a SEP-54 archive: one zstd file per ledger under its own key."""
    built: list[Sample] = []
    sources = {
        "mainnet": (PUBNET_PASSPHRASE, sorted((FIXTURES / "mainnet").iterdir()), "mainnet fixture ledgers"),
        "load-test": (
            LOAD_TEST_PASSPHRASE,
            sorted((FIXTURES / "synthetic-loadtest").iterdir()),
            "synthetic load-test ledgers (~1.8 MB, no trades)",
        ),
    }
    for name in samples:
        if name not in sources:
            raise ValueError(f"unknown sample {name!r}; known: {', '.join(sources)}")
        passphrase, files, description = sources[name]
        keys: dict[int, str] = {}
        for path in files:
            for blob in read_ledger_file(path).ledgers:
                if limit is not None and len(keys) >= limit:
                    break
                data = _zstd(blob.xdr)
                seq = prepare_ledger(data, path.name, passphrase, None).ledger  # the number inside, never invented
                key = ledger_key_for(seq)
                (root / key).parent.mkdir(parents=True, exist_ok=True)
                (root / key).write_bytes(data)
                keys[seq] = key
        built.append(Sample(name, passphrase, keys, description))
    return built


# -- measurements ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    ledgers: int
    seconds: float  # everything timed, the checkpoint rollup included
    rollup_seconds: float = 0.0  # of which the CLI's checkpoint rollup
    rollup_windows: int = 0  # merged minute windows rolled (per pass x passes)
    wait_seconds: float = 0.0  # of which waiting on ClickHouse (the fan-out path only)

    @property
    def rate(self) -> float:
        return self.ledgers / self.seconds if self.seconds > 0 else 0.0

    @property
    def write_rate(self) -> float:
        """Without the rollup: archive -> decode -> edge -> engine."""
        writing = self.seconds - self.rollup_seconds
        return self.ledgers / writing if writing > 0 else 0.0

    @property
    def cpu_rate(self) -> float:
        """Without the waits on ClickHouse: the function's own work per second (decode, reads, rows)."""
        working = self.seconds - self.wait_seconds
        return self.ledgers / working if working > 0 else 0.0

    @property
    def rollup_seconds_per_window(self) -> float:
        return self.rollup_seconds / self.rollup_windows if self.rollup_windows else 0.0


@dataclass
class SampleResult:
    name: str
    description: str
    ledgers: int
    passes: int
    archive_kb_per_ledger: float
    paths: dict[str, Measurement] = field(default_factory=dict)
    pool_startup_seconds: float = 0.0
    egress_kb_per_ledger: float = 0.0
    inserts_per_ledger: dict[str, float] = field(default_factory=dict)
    inserts_per_cli_batch: float = 0.0  # at the CLI's default --batch-size


class _Admin:
    def __init__(self, plane: DataPlane) -> None:
        host, port = plane.clickhouse_http.removeprefix("http://").split(":")
        self.client = clickhouse_connect.get_client(
            host=host, port=int(port), username="default", autogenerate_session_id=False
        )

    def fresh_database(self) -> None:
        self.client.command("DROP DATABASE IF EXISTS prices SYNC")
        apply_migrations(self.client.command)


@dataclass(frozen=True)
class Rig:
    """The running data plane, its admin connection and the archive directory."""

    plane: DataPlane
    admin: _Admin
    archive: Path


def _roll(client: Any, minutes: set[datetime]) -> None:
    for start, end in rollup_windows(minutes):
        rollup_range_from_parts(lambda sql, params: client.command(sql, parameters=dict(params)), start, end)


def _minutes_of(archive: Path, sample: Sample) -> set[datetime]:
    # The minutes the CLI's checkpoint rolls: taken once, outside the timing (they come from the same decode).
    out: set[datetime] = set()
    for seq, key in sample.keys.items():
        out.update(prepare_ledger((archive / key).read_bytes(), key, sample.passphrase, seq).parts.minutes)
    return out


def measure_decode(archive: Path, sample: Sample, passes: int) -> Measurement:
    blobs = [((archive / key).read_bytes(), key, seq) for seq, key in sorted(sample.keys.items())]
    seconds = 0.0
    for i in range(passes + 1):  # the first pass warms caches and is not counted
        t0 = time.perf_counter()
        for data, key, seq in blobs:
            prepare_ledger(data, key, sample.passphrase, seq)
        seconds += (time.perf_counter() - t0) if i else 0.0
    return Measurement(len(blobs) * passes, seconds)


class _Timed:
    """Write time and checkpoint-rollup time of the timed passes (the first, warm-up pass is dropped)."""

    def __init__(self, rig: Rig, sample: Sample) -> None:
        self.rig = rig
        self.minutes = _minutes_of(rig.archive, sample)
        self.windows = len(rollup_windows(self.minutes))
        self.write = self.rollup = 0.0
        self.passes = 0

    def run(self, write: Callable[[], int], roll_with: Any | None, *, counted: bool) -> int:
        self.rig.admin.fresh_database()
        t0 = time.perf_counter()
        written = write()
        t1 = time.perf_counter()
        if roll_with is not None:
            _roll(roll_with, self.minutes)
        t2 = time.perf_counter()
        if counted:
            self.write += t1 - t0
            self.rollup += t2 - t1 if roll_with is not None else 0.0
            self.passes += 1
        return written

    def measurement(self, ledgers: int, rolled: bool) -> Measurement:
        return Measurement(ledgers, self.write + self.rollup, self.rollup, self.windows * self.passes if rolled else 0)


def measure_cli_one_worker(rig: Rig, sample: Sample, passes: int) -> tuple[Measurement, float, float]:
    """`run --workers 1 --batch-size 1`: ingest_batch per ledger in-process, then the checkpoint's rollup.

    Returns the measurement, the inserts per ledger of those passes, and the inserts per batch of one more,
    untimed pass at the default `--batch-size` (the sample may fill less than one batch)."""
    client = CountingClient(edge_client(rig.plane.endpoints_file, "ingestion"))
    source = DirectorySource(rig.archive)
    items = sorted(sample.keys.items(), reverse=True)
    timed = _Timed(rig, sample)

    def write() -> int:
        outcomes = [o for item in items for o in ingest_batch(client, source.read, [item], sample.passphrase)]
        _no_errors(outcomes)
        return len(outcomes)

    try:
        timed.run(write, client, counted=False)
        client.reset()
        written = sum(timed.run(write, client, counted=True) for _ in range(passes))
        per_ledger = client.inserts / written
        rig.admin.fresh_database()
        client.reset()
        batches = [items[i : i + DEFAULT_BATCH] for i in range(0, len(items), DEFAULT_BATCH)]
        for batch in batches:
            _no_errors(ingest_batch(client, source.read, batch, sample.passphrase))
        per_batch = client.inserts / len(batches)
    finally:
        client.close()
    return timed.measurement(written, rolled=True), per_ledger, per_batch


def _no_errors(outcomes: Sequence[Any]) -> None:
    failed = [f"{o.ledger}: {o.error}" for o in outcomes if o.error is not None]
    if failed:
        raise RuntimeError(f"the sample must ingest cleanly: {failed}")


def measure_cli_pool(rig: Rig, sample: Sample, passes: int, *, workers: int) -> tuple[Measurement, float]:
    """The CLI's worker pool (`run --workers N --batch-size 1`); returns the steady rate and the start-up time
    (the warm-up pass's excess over a steady pass: spawning the workers and their imports)."""
    client = edge_client(rig.plane.endpoints_file, "ingestion")
    items = sorted(sample.keys.items(), reverse=True)
    timed = _Timed(rig, sample)
    try:
        t_start = time.perf_counter()
        with worker_pool(workers, str(rig.plane.endpoints_file), str(rig.archive), sample.passphrase) as pool:

            def write() -> int:
                futures: list[Future[Any]] = [pool.submit(ingest_in_worker, [item]) for item in items]
                wait(futures)
                outcomes = [o for f in futures for o in f.result()]
                _no_errors(outcomes)
                return len(outcomes)

            timed.run(write, client, counted=False)
            warm_up = time.perf_counter() - t_start
            written = sum(timed.run(write, client, counted=True) for _ in range(passes))
    finally:
        client.close()
    measured = timed.measurement(written, rolled=True)
    return measured, max(0.0, warm_up - measured.seconds / passes)


def measure_fanout(
    rig: Rig, sample: Sample, passes: int, *, ledgers_per_insert: int, endpoints: dict[str, Any] | None = None
) -> tuple[Measurement, float]:
    """The fan-out function's range path in one process (no rollup: the views do it in AWS)."""
    client = CountingClient(edge_client(endpoints or rig.plane.endpoints_file, "ingestion"))
    provider = FixedClickHouse(client)
    source = DirectorySource(rig.archive)
    reads = ThreadPoolExecutor(max_workers=8)
    timed = _Timed(rig, sample)

    def write() -> int:
        written = 0
        for lo, hi in sample.ranges():
            result = ingest_range(
                provider,
                source,
                RangeMessage(DEFAULT_TASK, lo, hi),
                sample.passphrase,
                ledgers_per_insert=ledgers_per_insert,
                remaining_ms=lambda: 10**9,
                reads=reads,
            )
            if result.poison:
                raise RuntimeError(f"poison ledgers in the sample: {result.poison}")
            written += len(result.written)
        return written

    try:
        timed.run(write, None, counted=False)
        client.reset()
        written = sum(timed.run(write, None, counted=True) for _ in range(passes))
    finally:
        reads.shutdown()
        client.close()
    measured = dataclasses.replace(timed.measurement(written, rolled=False), wait_seconds=client.wait_seconds)
    return measured, client.inserts / max(written, 1)


def measure_gap_query(plane: DataPlane) -> float:
    """One `find_missing` over a 64,000-ledger window with nothing ingested (the CLI's per-partition plan)."""
    client = edge_client(plane.endpoints_file, "ingestion")
    try:
        find_missing(client, 1, LEDGERS_PER_PARTITION)  # warm the connection
        t0 = time.perf_counter()
        missing = find_missing(client, LEDGERS_PER_PARTITION, 2 * LEDGERS_PER_PARTITION - 1)
        elapsed = time.perf_counter() - t0
    finally:
        client.close()
    assert len(missing) == LEDGERS_PER_PARTITION
    return elapsed


class CountingClient:
    """A clickhouse-connect client that counts its inserts and the time spent waiting on ClickHouse."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.inserts = 0
        self.wait_seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _timed(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.wait_seconds += time.perf_counter() - t0

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        self.inserts += 1
        return self._timed(self.inner.insert, *args, **kwargs)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(self.inner.query, *args, **kwargs)

    def reset(self) -> None:
        self.inserts, self.wait_seconds = 0, 0.0


@contextmanager
def byte_counting_relay(target_port: int) -> Iterator[tuple[int, list[int]]]:
    """A TCP relay on loopback in front of the edge: yields its port and [bytes client→edge, bytes edge→client]
    (TLS records included: what would cross the internet)."""
    counts = [0, 0]
    lock = threading.Lock()
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def pump(src: socket.socket, dst: socket.socket, index: int) -> None:
        try:
            while data := src.recv(65536):
                with lock:
                    counts[index] += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(conn, upstream, 0), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, conn, 1), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], counts
    finally:
        stop.set()
        thread.join()
        listener.close()


def measure_egress(rig: Rig, sample: Sample, *, ledgers_per_insert: int) -> float:
    """KB sent to the edge per ledger written by the fan-out path, counted by a relay in front of the edge."""
    with byte_counting_relay(rig.plane.edge_port) as (port, counts):
        endpoints = {**rig.plane.endpoints, "edge_url": f"https://localhost:{port}"}
        measured, _ = measure_fanout(rig, sample, 1, ledgers_per_insert=ledgers_per_insert, endpoints=endpoints)
    # The warm-up pass and the counted one each write the whole sample (into a fresh database).
    return counts[0] / 1024 / max(2 * measured.ledgers, 1)


# -- projection ------------------------------------------------------------------------------------------------


def configured_settings() -> StackSettings:
    """The prod stack's settings with fan-out enabled at its configured size (or the defaults)."""
    config = yaml.safe_load(STACK_FILE.read_text())["config"]
    raw = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("prices-api:")}
    return load_settings("prod", raw, config.get("aws:region"))


def project(results: Sequence[SampleResult], settings: StackSettings) -> dict[str, Any]:
    mainnet = next((r for r in results if r.name == "mainnet"), results[0])
    two, one = mainnet.paths["cli, 2 workers"], mainnet.paths["cli, 1 worker"]
    # A contiguous run rolls one merged window per checkpoint (every DEFAULT_CHECKPOINT_SECONDS of writing).
    rollup_share = DEFAULT_CHECKPOINT_SECONDS / (DEFAULT_CHECKPOINT_SECONDS + two.rollup_seconds_per_window)
    local_rate = two.write_rate * rollup_share
    round_trip_s = settings.backfill.estimate.write_round_trip_ms / 1000
    # From a workstation each worker also waits one round trip per insert; a batch's ledgers share its inserts.
    cli_inserts_per_ledger = mainnet.inserts_per_cli_batch / DEFAULT_BATCH
    remote_rate = 2 / (2 / two.write_rate + cli_inserts_per_ledger * round_trip_s) * rollup_share
    measured = BackfillEstimateSettings(
        from_ledger=1,
        to_ledger=FULL_HISTORY_LEDGERS,
        # The function's own work; its waits on the box are charged as round trips by the model.
        ledgers_per_second_per_vcpu=mainnet.paths["fan-out fn"].cpu_rate,
        write_round_trip_ms=settings.backfill.estimate.write_round_trip_ms,
        archive_kb_per_ledger=mainnet.archive_kb_per_ledger,
        egress_kb_per_ledger=mainnet.egress_kb_per_ledger,
    )
    with_measured = settings.model_copy(
        update={"backfill": settings.backfill.model_copy(update={"estimate": measured})}
    )
    estimate = backfill_fanout_estimate(with_measured)
    fan_out = settings.backfill.fan_out

    def days(rate: float, ledgers: int = FULL_HISTORY_LEDGERS) -> float:
        return round(ledgers / rate / 86_400, 1)

    return {
        "full_history_ledgers": FULL_HISTORY_LEDGERS,
        "full_history_source": FULL_HISTORY_SOURCE,
        "newest_fixture_ledger": NEWEST_FIXTURE_LEDGER,
        "local": {
            "rate_ledgers_per_s": round(local_rate, 2),
            "days": days(local_rate),
            "days_at_newest_fixture": days(local_rate, NEWEST_FIXTURE_LEDGER),
            "per_core_ledgers_per_s": round(one.write_rate * rollup_share, 2),
            "remote_box_rate_ledgers_per_s": round(remote_rate, 2),
            "remote_box_days": days(remote_rate),
            "usd": 0.0,
            "basis": (
                f"2 workers' write rate on this machine (2 cores shared with the engine and the edge), one "
                f"{two.rollup_seconds_per_window:.2f} s rollup per {DEFAULT_CHECKPOINT_SECONDS:g} s checkpoint; "
                "no AWS charges"
            ),
        },
        "reference_days": list(REFERENCE_DAYS),
        "fan_out": {
            **estimate.output(),
            "memory_mb": fan_out.memory_mb,
            "ledgers_per_insert": fan_out.ledgers_per_insert,
            "ledgers_per_message": fan_out.ledgers_per_message,
            "extrapolated": [
                f"round trip to the box {measured.write_round_trip_ms:g} ms (reference-system.md §11; loopback here)",
                f"one vCPU at {fan_out.memory_mb} MB decodes like one core of this machine (arm64 unmeasured)",
                "recent ledgers only: early history (smaller ledgers) decodes faster",
                "archive reads prefetched in parallel (their latency hidden)",
                f"the box absorbs {fan_out.max_concurrency} writers without slowing down",
            ],
        },
    }


# -- the run ---------------------------------------------------------------------------------------------------


def run(passes: int, samples: Sequence[str], limit: int | None = None) -> dict[str, Any]:
    settings = configured_settings()
    per_insert = settings.backfill.fan_out.ledgers_per_insert
    results: list[SampleResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        archive = Path(tmp) / "archive"
        archive.mkdir()
        built = build_archive(archive, samples, limit)
        with start_dataplane(Path(tmp) / "plane", progress=lambda _: None) as plane:
            rig = Rig(plane, _Admin(plane), archive)
            gap_query_s = measure_gap_query(plane)
            for sample in built:
                n = len(sample.keys)
                size = sum((archive / k).stat().st_size for k in sample.keys.values())
                result = SampleResult(sample.name, sample.description, n, passes, size / 1024 / n)
                gc.collect()
                result.paths["decode only"] = measure_decode(archive, sample, passes)
                cli1, result.inserts_per_ledger["cli"], result.inserts_per_cli_batch = measure_cli_one_worker(
                    rig, sample, passes
                )
                result.paths["cli, 1 worker"] = cli1
                result.paths["cli, 2 workers"], result.pool_startup_seconds = measure_cli_pool(
                    rig, sample, passes, workers=2
                )
                fan, result.inserts_per_ledger["fan-out fn"] = measure_fanout(
                    rig, sample, passes, ledgers_per_insert=per_insert
                )
                result.paths["fan-out fn"] = fan
                result.egress_kb_per_ledger = measure_egress(rig, sample, ledgers_per_insert=per_insert)
                results.append(result)
    return {
        "samples": [
            {
                **asdict(r),
                "paths": {
                    k: {
                        **asdict(m),
                        "rate": m.rate,
                        "write_rate": m.write_rate,
                        "cpu_rate": m.cpu_rate,
                        "rollup_s_per_window": m.rollup_seconds_per_window,
                    }
                    for k, m in r.paths.items()
                },
            }
            for r in results
        ],
        "ratios": {r.name: ratios(r) for r in results},
        "gap_query_per_window_s": gap_query_s,
        "planning_hours_full_history": gap_query_s * FULL_HISTORY_LEDGERS / LEDGERS_PER_PARTITION / 3600,
        "projection": project(results, settings),
    }


def ratios(result: SampleResult) -> dict[str, float]:
    p = result.paths
    base = p["decode only"].rate
    return {
        "cli_1_worker_vs_decode_only": p["cli, 1 worker"].rate / base,
        "cli_1_worker_writes_vs_decode_only": p["cli, 1 worker"].write_rate / base,
        "cli_2_workers_vs_1_worker": p["cli, 2 workers"].write_rate / p["cli, 1 worker"].write_rate,
        "fan_out_fn_vs_decode_only": p["fan-out fn"].rate / base,
        "fan_out_fn_vs_cli_1_worker_writes": p["fan-out fn"].rate / p["cli, 1 worker"].write_rate,
    }


def render(report: dict[str, Any], out: Callable[[str], None] = print) -> None:
    for sample in report["samples"]:
        out(
            f"sample {sample['name']}: {sample['ledgers']} {sample['description']}, x {sample['passes']} passes on "
            f"fresh databases (after one warm-up pass); {sample['archive_kb_per_ledger']:.0f} KB per archive object"
        )
        out(
            f"  {'path':16s} {'ledgers':>7s} {'seconds':>8s} {'ledgers/s':>10s} {'no rollup':>10s} {'rollup s':>9s} "
            f"{'no waits':>9s}"
        )
        for name, m in sample["paths"].items():
            cpu = f"{m['cpu_rate']:9.2f}" if m["wait_seconds"] else f"{'':9s}"
            out(
                f"  {name:16s} {m['ledgers']:7d} {m['seconds']:8.2f} {m['rate']:10.2f} {m['write_rate']:10.2f} "
                f"{m['rollup_seconds']:9.2f} {cpu}"
            )
        r = report["ratios"][sample["name"]]
        out(
            f"  ratios vs decode only: cli 1 worker {r['cli_1_worker_vs_decode_only']:.2f}x "
            f"(writes alone {r['cli_1_worker_writes_vs_decode_only']:.2f}x), fan-out fn "
            f"{r['fan_out_fn_vs_decode_only']:.2f}x; 2 workers / 1 worker (writes) "
            f"{r['cli_2_workers_vs_1_worker']:.2f}x; "
            f"fan-out fn / cli 1 worker writes {r['fan_out_fn_vs_cli_1_worker_writes']:.2f}x"
        )
        out(
            f"  inserts per ledger: cli {sample['inserts_per_ledger']['cli']:.2f} (--batch-size 1; "
            f"{sample['inserts_per_cli_batch']:.2f} per batch of {DEFAULT_BATCH}), fan-out fn "
            f"{sample['inserts_per_ledger']['fan-out fn']:.2f}; sent to the edge "
            f"{sample['egress_kb_per_ledger']:.1f} KB per ledger (fan-out path); worker pool start-up "
            f"{sample['pool_startup_seconds']:.2f} s (not in the rate)"
        )
    out(
        f"planning: gap query per 64,000-ledger window {report['gap_query_per_window_s'] * 1000:.0f} ms "
        f"(~{report['planning_hours_full_history']:.2f} h over the full history, before archive listings)"
    )
    p = report["projection"]
    local, fan = p["local"], p["fan_out"]
    out(f"full history: {p['full_history_ledgers']:,} ledgers ({p['full_history_source']})")
    out(
        f"  locally:  {local['rate_ledgers_per_s']:.2f} ledgers/s -> {local['days']:.1f} days "
        f"({local['days_at_newest_fixture']:.1f} days to ledger {p['newest_fixture_ledger']:,}); "
        f"{local['per_core_ledgers_per_s']:.2f} ledgers/s per core; {local['basis']}"
    )
    out(
        f"            writing to a remote box instead (+1 round trip per insert, {DEFAULT_BATCH} ledgers per batch): "
        f"{local['remote_box_rate_ledgers_per_s']:.2f} ledgers/s -> {local['remote_box_days']:.1f} days; "
        f"the reference took {p['reference_days'][0]}-{p['reference_days'][1]} days on one workstation"
    )
    out(
        f"  fan-out:  {fan['concurrency']} functions x {fan['memory_mb']} MB, "
        f"{fan['seconds_per_ledger'] * 1000:.1f} ms per ledger -> {fan['hours_at_concurrency']:.1f} h, "
        f"${fan['usd']:.2f}"
    )
    for line in fan["lines"]:
        out(f"      {line['item']:48s} ${line['usd']:>9.2f}  {line['basis']}")
    out("  extrapolated: " + "; ".join(fan["extrapolated"]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__.split("\n")[0])
    parser.add_argument("--passes", type=int, default=4, help="fresh-database passes over each sample")
    parser.add_argument("--samples", default="mainnet,load-test", help="comma-separated: mainnet, load-test")
    parser.add_argument("--limit", type=int, default=None, help="at most this many ledgers per sample (tests)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.passes < 1:
        parser.error(f"--passes must be at least 1, got {args.passes}")
    report = run(args.passes, [s for s in args.samples.split(",") if s], args.limit)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        render(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
