"""The ClickHouse stand-in end to end with clickhouse-connect, curl-style HTTP and the CLI."""

from __future__ import annotations

import base64
import gzip
import zlib
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import clickhouse_connect
import lz4.frame
import pytest
import zstandard
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.chfront_fixture import PASSWORDS, Front, running_front

pytestmark = pytest.mark.engine


def client(front: Front, user: str = "default", password: str = "") -> Any:
    return clickhouse_connect.get_client(
        host=front.host, port=front.port, username=user, password=password, autogenerate_session_id=False
    )


def http(front: Front, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    conn = HTTPConnection(front.host, front.port, timeout=10)
    try:
        conn.request("POST" if body is not None else "GET", path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def admin(front: Front) -> Any:
    c = client(front)
    c.command("CREATE DATABASE IF NOT EXISTS prices")
    c.command(
        "CREATE TABLE IF NOT EXISTS prices.t (id UInt32, name String, at DateTime('UTC'), px Float64) "
        "ENGINE = MergeTree ORDER BY id"
    )
    c.command("CREATE DATABASE IF NOT EXISTS other")
    return c


def test_ping(front: Front) -> None:
    status, _, body = http(front, "/ping")
    assert (status, body) == (200, b"Ok.\n")


def test_insert_query_params_and_formats(admin: Any) -> None:
    rows = [
        [1, "native", datetime(2024, 1, 1, tzinfo=UTC), 0.1],
        [2, "USDC:GA5Z'quote", datetime(2024, 2, 1, 12, tzinfo=UTC), 1.0],
    ]
    summary = admin.insert("prices.t", rows, column_names=["id", "name", "at", "px"])
    assert summary is not None
    got = admin.query(
        "SELECT id, name FROM prices.t WHERE name = {n:String} AND at >= {t:DateTime}",
        parameters={"n": "USDC:GA5Z'quote", "t": datetime(2024, 1, 15)},
    ).result_rows
    assert got == [(2, "USDC:GA5Z'quote")]
    df = admin.query_df("SELECT id, px FROM prices.t ORDER BY id")
    assert list(df["px"]) == [0.1, 1.0]
    arrow = admin.query_arrow("SELECT id FROM prices.t ORDER BY id")
    assert arrow.column("id").to_pylist() == [1, 2]
    raw = admin.raw_query("SELECT id, name FROM prices.t ORDER BY id", fmt="JSONEachRow")
    assert raw.splitlines()[0] == b'{"id":1,"name":"native"}'


def test_database_query_id_and_stand_in_headers(front: Front, admin: Any) -> None:
    status, headers, body = http(front, "/?database=prices&query_id=q-123&default_format=CSV", b"SELECT count() FROM t")
    assert status == 200 and body.strip() != b""
    assert int(body) >= 0
    assert headers["X-ClickHouse-Query-Id"] == "q-123"
    assert headers["X-Stand-In-User"] == "default"


def test_compressed_request_bodies(front: Front, admin: Any) -> None:
    for enc, data in (
        ("gzip", gzip.compress(b"SELECT 40 + 2")),
        ("zstd", zstandard.ZstdCompressor().compress(b"SELECT 40 + 2")),
        ("lz4", lz4.frame.compress(b"SELECT 40 + 2")),
        ("deflate", zlib.compress(b"SELECT 40 + 2")),
    ):
        status, _, body = http(front, "/", data, {"Content-Encoding": enc})
        assert (status, body) == (200, b"42\n"), enc


def test_inline_insert_in_body_and_trailing_format(front: Front, admin: Any) -> None:
    status, _, _ = http(
        front, "/", b"INSERT INTO prices.t (id, name, at, px) FORMAT CSV\n77,inline,2024-03-01 00:00:00,7\n"
    )
    assert status == 200
    status, headers, body = http(front, "/", b"SELECT name FROM prices.t WHERE id = 77 FORMAT JSONEachRow")
    assert body == b'{"name":"inline"}\n'
    assert headers["X-ClickHouse-Format"] == "JSONEachRow"


def test_errors_carry_the_engine_code(front: Front, admin: Any) -> None:
    status, headers, body = http(front, "/", b"SELECT * FROM prices.no_such_table")
    assert status == 404
    assert headers["X-ClickHouse-Exception-Code"] == "60"
    assert b"UNKNOWN_TABLE" in body
    with pytest.raises(DatabaseError, match="code: 62"):
        admin.command("SELEC 1")


def test_reader_is_readonly_by_the_engine(front: Front, admin: Any) -> None:
    # Its own row: under xdist the tests that insert may run on another worker (another engine).
    admin.insert(
        "prices.t",
        [[500, "reader-row", datetime(2024, 5, 1, tzinfo=UTC), 5.0]],
        column_names=["id", "name", "at", "px"],
    )
    reader = client(front, "prices_reader", PASSWORDS["prices_reader"])
    assert reader.query("SELECT name FROM prices.t WHERE id = 500").result_rows == [("reader-row",)]
    settings = dict(
        reader.query(
            "SELECT name, value FROM system.settings WHERE name IN "
            "('readonly', 'max_execution_time', 'max_memory_usage')"
        ).result_rows
    )
    assert settings == {"readonly": "1", "max_execution_time": "30", "max_memory_usage": "4294967296"}
    with pytest.raises(DatabaseError, match=r"code: 164.*READONLY"):
        reader.insert(
            "prices.t", [[9, "x", datetime(2024, 1, 1, tzinfo=UTC), 1.0]], column_names=["id", "name", "at", "px"]
        )
    with pytest.raises(DatabaseError, match=r"code: 164.*READONLY"):
        reader.command("CREATE TABLE prices.evil (a UInt8) ENGINE = Memory")
    with pytest.raises(DatabaseError, match=r"code: 164"):
        reader.command("SET readonly = 0")
    assert admin.query("SELECT count() FROM prices.t WHERE id = 9").result_rows == [(0,)]
    tables = {name for (name,) in admin.query("SHOW TABLES FROM prices").result_rows}
    assert "t" in tables and "evil" not in tables


def test_writer_profile_is_applied_and_writer_can_insert(front: Front, admin: Any) -> None:
    writer = client(front, "prices_writer", PASSWORDS["prices_writer"])
    settings = dict(
        writer.query(
            "SELECT name, value FROM system.settings WHERE name IN "
            "('readonly', 'max_execution_time', 'max_memory_usage')"
        ).result_rows
    )
    assert settings == {"readonly": "0", "max_execution_time": "7200", "max_memory_usage": "8589934592"}
    writer.insert(
        "prices.t", [[10, "w", datetime(2024, 1, 1, tzinfo=UTC), 2.0]], column_names=["id", "name", "at", "px"]
    )
    assert admin.query("SELECT name FROM prices.t WHERE id = 10").result_rows == [("w",)]


def test_auth_routes_and_rejections(front: Front) -> None:
    pw = PASSWORDS["prices_reader"]
    basic = base64.b64encode(f"prices_reader:{pw}".encode()).decode()
    for headers, path in (
        ({"X-ClickHouse-User": "prices_reader", "X-ClickHouse-Key": pw}, "/"),
        ({"Authorization": f"Basic {basic}"}, "/"),
        ({}, f"/?user=prices_reader&password={pw}"),
    ):
        status, got, body = http(front, path, b"SELECT 1", headers)
        assert (status, body, got["X-Stand-In-User"]) == (200, b"1\n", "prices_reader")
    for user, key in (("prices_reader", "wrong"), ("nobody", pw), ("prices_reader", "")):
        status, got, body = http(front, "/", b"SELECT 1", {"X-ClickHouse-User": user, "X-ClickHouse-Key": key})
        assert status == 403
        assert got["X-ClickHouse-Exception-Code"] == "516"
        assert b"AUTHENTICATION_FAILED" in body
        assert "X-Stand-In-User" not in got
    with pytest.raises(DatabaseError, match="code: 516"):
        client(front, "prices_writer", "not-the-password")
    with pytest.raises(DatabaseError, match="code: 516"):
        client(front, "prices_intruder", "x")


def test_default_admin_needs_the_users_file_to_allow_it(tmp_path: Path) -> None:
    with running_front(tmp_path, allow_default_admin=False) as front:
        status, headers, _ = http(front, "/", b"SELECT 1")
        assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "516")
        reader = client(front, "prices_reader", PASSWORDS["prices_reader"])
        assert reader.query("SELECT 2").result_rows == [(2,)]
    # Stopped cleanly on SIGTERM.
    assert front.process.returncode == 0
