"""The whole data plane on loopback: ClickHouse stand-in + the production mTLS edge under real Caddy.

    python -m local.dataplane --clickhouse-port 18123 --edge-port 18443 [--workdir .local]

Certificates come from the same profiles and issuer as production (`pki.profile`, `pki.issuer`) and
the edge config from the same `render_site`, so what works here is what the deployed edge does.
`start_dataplane` is the one code path for `make run` and for the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from caddy.render import CertPin, EdgeIdentity, EdgeSite, LocalGlobals, render_caddyfile
from lambdas.common.clickhouse_client import edge_client
from lambdas.ledger_processor.ingest_files import ingest_files
from local.api_gateway import serve_local_api
from local.caddy_process import CaddyProcess, die_with_parent, free_port
from local.chart import ChartError, busiest_asset, fetch_chart, write_chart
from local.stop_signals import StopSignals, forget_unhandled_interrupt
from pki.issuer import IssuedCert, issue_client_cert, issue_server_cert, make_ca
from pki.profile import CaProfile, client_profiles
from schema.migrations import apply_migrations
from schema.rbac import prices_access_model, stand_in_users

LOOPBACK = "127.0.0.1"
EDGE_HOSTNAME = "localhost"  # a hostname, not an IP: Caddy answers 421 without SNI
REPO_ROOT = Path(__file__).resolve().parents[1]
CHFRONT_READY_TIMEOUT_S = 60.0

Progress = Callable[[str], None]


def _say(message: str) -> None:
    print(f"[dataplane] {message}", file=sys.stderr, flush=True)


def write_private(path: Path, text: str) -> Path:
    """Create a secret file 0600 from the first byte (no window in which it is world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def write_public(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_json_atomically(path: Path, document: Mapping[str, Any]) -> None:
    # Readers poll for this file; a rename means they never see half of it.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


@dataclass(frozen=True)
class ClientIdentity:
    role: str
    common_name: str
    clickhouse_user: str
    cert: Path
    key: Path
    issued: IssuedCert

    @property
    def pin(self) -> CertPin:
        """Pinned until the certificate's NotAfter: past it TLS refuses the certificate anyway."""
        return CertPin(self.issued.sha256_fingerprint, int(self.issued.not_after.timestamp()))


@dataclass(frozen=True)
class LocalPki:
    directory: Path
    client_ca: IssuedCert
    client_ca_cert: Path
    client_ca_key: Path
    edge_server_ca: Path
    edge_server_cert: Path
    edge_server_key: Path
    identities: Mapping[str, ClientIdentity]


def build_local_pki(directory: Path, env: str) -> LocalPki:
    """Client CA + one certificate per production role profile, and a separate CA for the edge's server
    certificate (a client CA that could also vouch for servers would be one key too many)."""
    client_ca = make_ca(CaProfile(common_name=f"prices-{env}-client-ca"))
    server_ca = make_ca(CaProfile(common_name=f"prices-{env}-edge-server-ca"))
    server = issue_server_cert(EDGE_HOSTNAME, server_ca)
    identities: dict[str, ClientIdentity] = {}
    for profile in client_profiles(env):
        issued = issue_client_cert(profile, client_ca)
        identities[profile.role] = ClientIdentity(
            role=profile.role,
            common_name=profile.common_name,
            clickhouse_user=profile.clickhouse_user,
            cert=write_public(directory / f"client-{profile.role}.pem", issued.cert_pem),
            key=write_private(directory / f"client-{profile.role}.key", issued.key_pem),
            issued=issued,
        )
    write_private(directory / "edge-server-ca.key", server_ca.key_pem)
    return LocalPki(
        directory=directory,
        client_ca=client_ca,
        client_ca_cert=write_public(directory / "client-ca.pem", client_ca.cert_pem),
        client_ca_key=write_private(directory / "client-ca.key", client_ca.key_pem),
        edge_server_ca=write_public(directory / "edge-server-ca.pem", server_ca.cert_pem),
        edge_server_cert=write_public(directory / "edge-server.pem", server.cert_pem),
        edge_server_key=write_private(directory / "edge-server.key", server.key_pem),
        identities=identities,
    )


def new_passwords(users: Sequence[str]) -> dict[str, str]:
    # token_urlsafe: 32 characters from the alphabet the edge renderer accepts.
    return {user: secrets.token_urlsafe(24) for user in users}


class ChFront:
    """`python -m local.chfront` as a child process; ready when it prints `READY http://host:port`."""

    def __init__(self, workdir: Path, users_file: Path, port: int) -> None:
        self.data_path = workdir / "clickhouse"
        self.run_dir = workdir / "chfront"  # chDB reads ./config.xml: give it a directory we control
        self.log = self.run_dir / "chfront.log"
        self.users_file = users_file
        self.requested_port = port
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> str:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.data_path.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        command = [
            sys.executable,
            "-m",
            "local.chfront",
            "--host",
            LOOPBACK,
            "--port",
            str(self.requested_port),
            "--path",
            str(self.data_path),
            "--users",
            str(self.users_file),
        ]
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.run_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl
            )
        try:
            self.url = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + CHFRONT_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
            for line in text.splitlines():
                if line.startswith("READY "):
                    return line.split(None, 1)[1].strip()
            if self._process.poll() is not None:
                raise RuntimeError(f"local.chfront exited with {self._process.returncode}:\n{text[-3000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"local.chfront did not print READY within {CHFRONT_READY_TIMEOUT_S} s; see {self.log}")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def execute_as_default(base_url: str) -> Callable[[str], object]:
    """Statement runner for migrations: loopback as `default`, like the admin's client over SSH."""
    session = requests.Session()

    def execute(sql: str) -> object:
        response = session.post(base_url + "/", data=sql.encode("utf-8"), timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"migration statement failed ({response.status_code}): {response.text[:500]}\n{sql}")
        return response.text

    return execute


@dataclass
class DataPlane:
    workdir: Path
    env: str
    pki: LocalPki
    passwords: Mapping[str, str]
    clickhouse_http: str
    edge_port: int
    endpoints_file: Path
    endpoints: dict[str, Any]
    chfront: ChFront
    caddy: CaddyProcess
    extra_pins: tuple[CertPin, ...] = field(default=())

    @property
    def edge_url(self) -> str:
        return f"https://{EDGE_HOSTNAME}:{self.edge_port}"

    def child_pids(self) -> list[int]:
        return [pid for pid in (self.chfront.pid, self.caddy.pid) if pid is not None]

    def add_endpoints(self, entries: Mapping[str, Any]) -> None:
        """Later services (API, moto, ...) publish their addresses here for clients and tests."""
        self.endpoints.update(entries)
        write_json_atomically(self.endpoints_file, self.endpoints)

    def edge_site(self) -> EdgeSite:
        return edge_site_for(self.pki, self.passwords, self.edge_port, self.clickhouse_http, self.extra_pins)

    def restart_edge(self, extra_pins: Sequence[CertPin]) -> None:
        """Re-render with additional pins (e.g. a rotated-out certificate) and restart Caddy on the same
        port: the local stand-in for pushing a new site block, since the local admin API is off."""
        self.caddy.stop()
        self.extra_pins = tuple(extra_pins)
        self.caddy = _caddy_for(self.workdir, self.edge_site(), self.edge_port)
        self.caddy.start()


def edge_site_for(
    pki: LocalPki,
    passwords: Mapping[str, str],
    edge_port: int,
    clickhouse_http: str,
    extra_pins: Sequence[CertPin] = (),
) -> EdgeSite:
    upstream = clickhouse_http.removeprefix("http://").rstrip("/")
    return EdgeSite(
        address=f"{EDGE_HOSTNAME}:{edge_port}",
        client_ca_file=str(pki.client_ca_cert),
        identities=tuple(
            EdgeIdentity(i.common_name, i.clickhouse_user, passwords[i.clickhouse_user])
            for i in pki.identities.values()
        ),
        pins=tuple(i.pin for i in pki.identities.values()) + tuple(extra_pins),
        upstream=upstream,
        server_cert_file=str(pki.edge_server_cert),
        server_key_file=str(pki.edge_server_key),
        bind=LOOPBACK,
    )


def _caddy_for(workdir: Path, site: EdgeSite, edge_port: int) -> CaddyProcess:
    caddy_dir = workdir / "caddy"
    local = LocalGlobals(storage_dir=str(caddy_dir / "data"), log_file=str(caddy_dir / "caddy.log"))
    return CaddyProcess(
        render_caddyfile(site, local),
        caddy_dir,
        host=LOOPBACK,
        port=edge_port,
        server_name=EDGE_HOSTNAME,
        log_file=Path(local.log_file),
    )


def endpoints_document(clickhouse_http: str, edge_url: str, pki: LocalPki) -> dict[str, Any]:
    """The documented endpoints.json shape; new keys (api_url, ...) go through DataPlane.add_endpoints."""
    return {
        "clickhouse_http": clickhouse_http,
        "edge_url": edge_url,
        "edge_server_ca": str(pki.edge_server_ca),
        "client_ca": str(pki.client_ca_cert),
        "client_ca_key": str(pki.client_ca_key),
        "identities": {
            role: {"cert": str(i.cert), "key": str(i.key), "clickhouse_user": i.clickhouse_user}
            for role, i in pki.identities.items()
        },
    }


@contextlib.contextmanager
def start_dataplane(
    workdir: Path,
    clickhouse_port: int = 0,
    edge_port: int = 0,
    env: str = "local",
    *,
    progress: Progress = _say,
) -> Iterator[DataPlane]:
    """Start everything, yield the running DataPlane, stop everything on exit (in reverse order)."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    endpoints_file = workdir / "endpoints.json"
    # The file describes a running data plane: a stale one from a crashed run must not be mistaken for it.
    endpoints_file.unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        stack.callback(endpoints_file.unlink, missing_ok=True)
        roles = ", ".join(p.role for p in client_profiles(env))
        progress(f"1/6 PKI: client CA, {roles} client certificates, edge server CA and certificate")
        pki = build_local_pki(workdir / "pki", env)

        progress("2/6 users: random password per ClickHouse user")
        access_model = prices_access_model()
        passwords = new_passwords([u.name for u in access_model])
        hashes = {u: hashlib.sha256(p.encode()).hexdigest() for u, p in passwords.items()}
        users_file = workdir / "clickhouse-users.json"
        write_private(users_file, json.dumps(stand_in_users(access_model, hashes), indent=2) + "\n")

        progress("3/6 ClickHouse HTTP stand-in (chDB) on loopback")
        chfront = ChFront(workdir, users_file, clickhouse_port)
        clickhouse_http = chfront.start()
        stack.callback(chfront.stop)
        stack.callback(progress, "stopped ClickHouse stand-in")

        progress(f"4/6 schema migrations as default via {clickhouse_http}")
        applied = apply_migrations(execute_as_default(clickhouse_http))
        progress(f"    {len(applied)} statements applied")

        edge_port = edge_port or free_port(LOOPBACK)
        progress(f"5/6 Caddy mTLS edge on {EDGE_HOSTNAME}:{edge_port} (caddy validate, then run)")
        caddy = _caddy_for(workdir, edge_site_for(pki, passwords, edge_port, clickhouse_http), edge_port)
        caddy.start()
        plane = DataPlane(
            workdir=workdir,
            env=env,
            pki=pki,
            passwords=passwords,
            clickhouse_http=clickhouse_http,
            edge_port=edge_port,
            endpoints_file=endpoints_file,
            endpoints={},
            chfront=chfront,
            caddy=caddy,
        )

        def stop_current_edge() -> None:
            # Through the plane: restart_edge replaces the CaddyProcess, and the current one must stop.
            plane.caddy.stop()

        stack.callback(stop_current_edge)
        stack.callback(progress, "stopped Caddy edge")

        progress(f"6/6 {plane.endpoints_file}")
        plane.add_endpoints(endpoints_document(clickhouse_http, plane.edge_url, pki))
        try:
            yield plane
        finally:
            progress("stopping")


def summary(plane: DataPlane) -> str:
    rows = [
        ("ClickHouse stand-in (HTTP, no TLS)", plane.clickhouse_http, f"pid {plane.chfront.pid}"),
        ("mTLS edge (Caddy 2.11, TLS 1.3)", plane.edge_url, f"pid {plane.caddy.pid}"),
    ]
    for role, identity in plane.pki.identities.items():
        rows.append((f"identity {role}", identity.common_name, f"-> ClickHouse user {identity.clickhouse_user}"))
    rows += [
        ("edge server CA", str(plane.pki.edge_server_ca), ""),
        ("client CA", str(plane.pki.client_ca_cert), ""),
        ("endpoints", str(plane.endpoints_file), ""),
        ("Caddyfile", str(plane.caddy.caddyfile), ""),
    ]
    width = max(len(r[0]) for r in rows)
    table = "\n".join(f"  {name.ljust(width)}  {where}  {note}".rstrip() for name, where, note in rows)
    api = plane.pki.identities["api"]
    snippet = (
        "  from lambdas.common.clickhouse_client import edge_client\n"
        f"  client = edge_client({str(plane.endpoints_file)!r}, 'api')\n"
        "  print(client.query(\"SELECT getSetting('readonly'), version()\").result_rows)\n\n"
        f"  curl --cacert {plane.pki.edge_server_ca} --cert {api.cert} --key {api.key} \\\n"
        f"    '{plane.edge_url}/?query=SELECT+version()'"
    )
    return (
        f"Data plane is up (loopback only):\n{table}\n\n"
        f"Try it (.venv/bin/python):\n{snippet}\n\nCtrl-C stops everything."
    )


# The shared fixtures sit beside the repository (../shared), never inside it.
MAINNET_FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "stellar" / "mainnet"


def ledger_files_in(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and ".xdr" in p.name)
        elif path.exists():
            files.append(path)
        else:
            _say(f"not ingesting {path}: no such file or folder")
    return files


def candle_overview(plane: DataPlane, limit: int = 12) -> str:
    """What a person wants to see after ingesting: candle counts per tier and the busiest pairs (read as api)."""
    client = edge_client(plane.endpoints_file, "api")
    try:
        tiers = client.query(
            "SELECT "
            + ", ".join(f"(SELECT count() FROM prices.price_ohlcv_{t} FINAL)" for t in ("1m", "15m", "1h", "1d", "1M"))
        ).result_rows[0]
        rows = client.query(
            "SELECT source, asset_id, quote_asset_id, min(timestamp), sum(trade_count), argMax(close, timestamp) "
            "FROM prices.price_ohlcv_1m FINAL GROUP BY source, asset_id, quote_asset_id "
            "ORDER BY sum(trade_count) DESC, asset_id LIMIT {limit:UInt32}",
            parameters={"limit": limit},
        ).result_rows
    finally:
        client.close()
    lines = [
        "Candles (read through the edge as prices_reader): "
        + ", ".join(f"{t} {n}" for t, n in zip(("1m", "15m", "1h", "1d", "1M"), tiers, strict=True)),
        f"  {'source':9} {'trades':>6}  {'first minute':19}  {'last close':>16}  pair (base / quote)",
    ]
    for source, base, quote, first, trades, close in rows:
        lines.append(
            f"  {source:9} {trades:>6}  {first:%Y-%m-%d %H:%M}     {close:>16.7g}  {_short(base)} / {_short(quote)}"
        )
    return "\n".join(lines)


def _short(asset: str) -> str:
    code, _, issuer = asset.partition(":")
    return f"{code}:{issuer[:4]}…" if issuer else (asset if len(asset) < 14 else asset[:8] + "…")


def refresh_current_prices(plane: DataPlane) -> None:
    """Recompute the L2 current prices now (as the admin), not at the view's next minute: the API then
    lists and prices the freshly ingested assets from its first request."""
    execute = execute_as_default(plane.clickhouse_http)
    execute("SYSTEM REFRESH VIEW prices.mv_current_prices")
    execute("SYSTEM WAIT VIEW prices.mv_current_prices")


def write_fixture_chart(api_url: str, workdir: Path) -> Path | None:
    """The busiest asset's daily candles, read from the local API, as .local/chart-<asset>.html."""
    try:
        asset, trades = busiest_asset(api_url)
        path = write_chart(fetch_chart(api_url, asset, timeframe="all", granularity="1d"), workdir)
    except (ChartError, requests.RequestException) as exc:
        _say(f"no candle chart: {exc}")
        return None
    _say(f"candle chart of {asset} ({trades} trades) -> {path}")
    return path


def api_summary(api_url: str, chart: Path | None) -> str:
    yxlm = "yXLM:GARDNV3Q7YGT4AKSDF25LT32YSCCW4EV22Y2TV3I2PU2MMXJTEDL5T55"  # the fixtures' most traded asset
    lines = [
        f"API (the handler behind the API Gateway stand-in; no keys, throttling or cache) at {api_url}",
        f"  curl -s {api_url}/health",
        f"  curl -s '{api_url}/v1/assets?include_inactive=true&limit=5'",
        f"  curl -s {api_url}/v1/assets/native/price",
        f"  curl -s '{api_url}/v1/assets/native/ohlcv?timeframe=all&granularity=1d'",
        f"  curl -s '{api_url}/v1/assets/{yxlm}/ohlcv?timeframe=all&granularity=1M&base_currency=XLM'",
        f"  curl -s -X POST {api_url}/v1/prices/batch -H 'Content-Type: application/json' "
        '-d \'{"assets": ["native", "XLM"]}\'',
        f"  curl -s {api_url}/openapi.json",
        f"  candle chart: {api_url}/chart" + (f" (also written to {chart})" if chart else ""),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.dataplane", description=__doc__.splitlines()[0])
    parser.add_argument("--clickhouse-port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--edge-port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--workdir", type=Path, default=Path(".local"))
    parser.add_argument("--api-port", type=int, default=0, help="the API (API Gateway stand-in); 0 = a free port")
    parser.add_argument("--env", default="local", help="environment name in the certificate CNs")
    parser.add_argument(
        "--ingest",
        type=Path,
        nargs="*",
        default=[MAINNET_FIXTURES],
        help="ledger files or folders to ingest through the edge at start (default: the mainnet fixtures; "
        "pass --ingest with nothing to skip)",
    )
    args = parser.parse_args(argv)
    # SIGTERM takes the same orderly path as Ctrl-C: the context manager stops every child.
    stops = StopSignals()
    stops.install()

    def say_then_check(message: str) -> None:
        _say(message)
        stops.check()

    try:
        with start_dataplane(args.workdir, args.clickhouse_port, args.edge_port, args.env) as plane:
            stops.check()  # a stop swallowed during start-up (up to a minute of it) ends here
            print(summary(plane), flush=True)
            files = ledger_files_in(args.ingest)
            if files:
                _say(f"ingesting {len(files)} ledger file(s) through the edge as the ingestion identity")
                report = ingest_files(files, plane.endpoints_file, progress=say_then_check)
                print(candle_overview(plane), flush=True)
                if not report.ok:
                    _say("some files were not ingested (see above); the data plane stays up")
                refresh_current_prices(plane)
            stops.check()
            with serve_local_api(plane.endpoints_file, args.api_port, publish=plane.add_endpoints) as api:
                print(api_summary(api.url, write_fixture_chart(api.url, plane.workdir)), flush=True)
                while plane.chfront.alive() and plane.caddy.alive() and api.alive():
                    stops.check()
                    time.sleep(0.5)
            _say("a child process exited unexpectedly; stopping")
            return 1
    except KeyboardInterrupt:
        forget_unhandled_interrupt()
        _say("stopped")
        return 0


if __name__ == "__main__":
    sys.exit(main())
