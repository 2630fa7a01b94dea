"""The local data plane as `make run` and the tests use it: endpoints, clients through the edge, shutdown."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from lambdas.common.clickhouse_client import edge_client
from local.dataplane import REPO_ROOT, DataPlane, start_dataplane
from schema.rollups import OUTPUT_COLUMNS

pytestmark = [pytest.mark.edge, pytest.mark.slow]

# Row tuples below put the timestamp first; the column set is the tiers' own.
OHLCV_COLUMNS = ["timestamp", *(c for c in OUTPUT_COLUMNS if c != "timestamp")]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlane]:
    with start_dataplane(tmp_path_factory.mktemp("dataplane")) as running:
        yield running


def test_endpoints_json_has_exactly_the_documented_shape(plane: DataPlane) -> None:
    endpoints = json.loads((plane.workdir / "endpoints.json").read_text())
    assert set(endpoints) == {
        "clickhouse_http",
        "edge_url",
        "edge_server_ca",
        "client_ca",
        "client_ca_key",
        "identities",
    }
    assert endpoints["clickhouse_http"].startswith("http://127.0.0.1:")
    assert endpoints["edge_url"] == f"https://localhost:{plane.edge_port}"
    assert set(endpoints["identities"]) == {"ingestion", "api"}
    assert endpoints["identities"]["ingestion"]["clickhouse_user"] == "prices_writer"
    assert endpoints["identities"]["api"]["clickhouse_user"] == "prices_reader"
    files = [endpoints[k] for k in ("edge_server_ca", "client_ca", "client_ca_key")]
    for identity in endpoints["identities"].values():
        assert set(identity) == {"cert", "key", "clickhouse_user"}
        files += [identity["cert"], identity["key"]]
    for name in files:
        assert Path(name).is_absolute() and Path(name).is_file(), name
    for key in [endpoints["client_ca_key"]] + [i["key"] for i in endpoints["identities"].values()]:
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600, key


def test_added_endpoints_are_merged_into_the_file(plane: DataPlane) -> None:
    plane.add_endpoints({"api_url": "http://127.0.0.1:1"})
    try:
        endpoints = json.loads(plane.endpoints_file.read_text())
        assert endpoints["api_url"] == "http://127.0.0.1:1"
        assert endpoints["edge_url"] == plane.edge_url
    finally:
        plane.endpoints.pop("api_url")
        plane.add_endpoints({})


def test_ingestion_writes_and_api_reads_through_the_edge_but_cannot_write(plane: DataPlane) -> None:
    asset = f"asset-{uuid.uuid4().hex}"
    row = [
        dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC),
        asset,
        "native",
        "sdex",
        1.0,
        2.0,
        0.5,
        1.5,
        10,
        15,
        1.5,
        0.15,
        1.25,
        3,
        1,
    ]
    writer = edge_client(plane.endpoints_file, "ingestion")
    reader = edge_client(plane.endpoints, "api")
    writer.insert("prices.price_ohlcv_1m", [row], column_names=OHLCV_COLUMNS)

    got = reader.query(
        "SELECT asset_id, close, trade_count FROM prices.price_ohlcv_1m FINAL WHERE asset_id = {a:String}",
        parameters={"a": asset},
    ).result_rows
    assert got == [(asset, 1.5, 3)]

    with pytest.raises(DatabaseError, match=r"Code: 164"):
        reader.insert("prices.price_ohlcv_1m", [row], column_names=OHLCV_COLUMNS)
    count = writer.query(
        "SELECT count() FROM prices.price_ohlcv_1m WHERE asset_id = {a:String}", parameters={"a": asset}
    ).result_rows
    assert count == [(1,)]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_stopping_the_context_manager_ends_every_child(tmp_path: Path) -> None:
    with start_dataplane(tmp_path) as running:
        children = running.child_pids()
        assert len(children) == 2 and all(_running(p) for p in children)
    assert not any(_running(p) for p in children)


@pytest.mark.parametrize(
    ("sig", "exit_code"),
    [(signal.SIGTERM, 0), (signal.SIGINT, 0), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["SIGTERM", "SIGINT", "SIGKILL"],
)
def test_make_run_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals, exit_code: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.dataplane",
            "--clickhouse-port",
            "0",
            "--edge-port",
            "0",
            "--workdir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "endpoints.json").exists():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "data plane did not come up"
            time.sleep(0.1)
        children = _children(process.pid)
        assert len(children) == 2, children  # the ClickHouse stand-in and Caddy
        process.send_signal(sig)
        # Generous: stopping includes the stand-in's and Caddy's own shutdown, slow on a loaded 2-core runner.
        output, _ = process.communicate(timeout=90)
        assert process.returncode == exit_code, output
        if sig != signal.SIGKILL:
            assert "Data plane is up" in output
            assert "stopped Caddy edge" in output and "stopped ClickHouse stand-in" in output
        # After SIGKILL nobody cleans up: the children must end on their own (parent-death signal).
        deadline = time.monotonic() + 15
        while any(_running(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(p) for p in children)
    finally:
        # A failing run must not leave its own servers behind for the next test.
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
