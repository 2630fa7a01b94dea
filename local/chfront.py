"""Local stand-in for the ClickHouse server: ClickHouse's HTTP interface over chDB.

Test and ``make run`` only, never deployed. The real engine (chDB, ClickHouse 26.9)
executes every query; this process only speaks enough of the HTTP protocol for
clickhouse-connect (>= 1.12) and curl, and authenticates users like the server would.

Per-user enforcement
    Every request runs on a fresh chDB connection opened with the user's profile settings
    (``readonly``, ``max_execution_time``, ``max_memory_usage``, ...) as connection settings,
    so the ENGINE enforces them: a ``readonly=1`` user cannot INSERT, CREATE or change a
    setting (code 164), exactly like on the server.

What the stand-in cannot enforce (checked on chdb 4.4.0 / engine 26.9.2.1)
    Table-level GRANTs. chDB always executes as its built-in ``default`` user: users from a
    users.xml are visible in ``system.users`` (when config.xml points at the file), but a
    connection cannot be bound to one (``?user=`` is ignored, ``currentUser()`` stays
    ``default``), ``EXECUTE AS`` is refused and ``CREATE USER`` has no writable storage.
    So a writer INSERT outside ``prices.*`` or a reader SELECT of another database succeeds
    here and fails on the server; grants are verified by rendering (schema.rbac) only.
    Quotas, HOST IP restrictions and HTTP sessions (``session_id``) are not emulated either.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import tempfile
import threading
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import chdb

SERVER_NAME = "chfront (stand-in for the ClickHouse server)"

# HTTP parameters that are protocol, not settings (everything else is applied as a setting).
_PROTOCOL_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "buffer_size",
        "wait_end_of_query",
        "quota_key",
        "client_protocol_version",
        "role",
        "stacktrace",
    }
)
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMAT_TAIL = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.IGNORECASE)
_INSERT_FORMAT = re.compile(r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+([A-Za-z0-9_]+)\s*$", re.IGNORECASE | re.DOTALL)
_INLINE_INSERT = re.compile(rb"^\s*(INSERT\s+INTO\s+[^\n]+?\s+FORMAT\s+[A-Za-z0-9_]+)[ \t]*\r?\n", re.IGNORECASE)
_CODE_RE = re.compile(r"Code:\s*(\d+)")

# The real server's exceptionCodeToHTTPStatus for the codes a client is likely to meet.
_STATUS_BY_CODE = {
    194: 401,  # REQUIRED_PASSWORD
    192: 403,  # UNKNOWN_USER
    193: 403,  # WRONG_PASSWORD
    516: 403,  # AUTHENTICATION_FAILED
    497: 403,  # ACCESS_DENIED
    62: 400,  # SYNTAX_ERROR
    27: 400,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    36: 400,  # BAD_ARGUMENTS
    53: 400,  # TYPE_MISMATCH
    60: 404,  # UNKNOWN_TABLE
    46: 404,  # UNKNOWN_FUNCTION
    47: 404,  # UNKNOWN_IDENTIFIER
    81: 404,  # UNKNOWN_DATABASE
    115: 404,  # UNKNOWN_SETTING
    73: 404,  # UNKNOWN_FORMAT
    159: 408,  # TIMEOUT_EXCEEDED
}


class ClickHouseError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StandInUser:
    name: str
    password_sha256: str | None  # None: no password (only `default`, only if allowed)
    settings: Mapping[str, int] = field(default_factory=dict)


def load_users(path: Path) -> dict[str, StandInUser]:
    """Read the file written from ``schema.rbac.stand_in_users``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != 1:
        raise ValueError(f"{path}: unsupported users file version {data.get('version')!r}")
    users: dict[str, StandInUser] = {}
    for name, spec in data.get("users", {}).items():
        pw = spec["password_sha256"]
        if not re.fullmatch(r"[0-9a-f]{64}", pw):
            raise ValueError(f"{path}: user {name!r} has no valid sha256 password hash")
        settings = {str(k): int(v) for k, v in spec.get("settings", {}).items()}
        users[name] = StandInUser(name, pw, settings)
    if data.get("allow_default_admin"):
        users["default"] = StandInUser("default", None, {})
    return users


def authenticate(users: Mapping[str, StandInUser], name: str, password: str) -> StandInUser:
    user = users.get(name)
    # Same message for unknown user and wrong password, like the server (no user probing).
    denied = ClickHouseError(
        516,
        f"Code: 516. DB::Exception: {name}: Authentication failed: password is incorrect, "
        "or there is no user with such name. (AUTHENTICATION_FAILED)",
    )
    if user is None:
        raise denied
    if user.password_sha256 is None:
        if password:
            raise denied
        return user
    given = hashlib.sha256(password.encode("utf-8")).hexdigest()
    if not hmac.compare_digest(given, user.password_sha256):
        raise denied
    return user


def _decode_body(body: bytes, encoding: str) -> bytes:
    enc = encoding.strip().lower()
    if not enc or enc == "identity":
        return body
    if enc == "gzip":
        return gzip.decompress(body)
    if enc == "deflate":
        return zlib.decompress(body)
    if enc == "lz4":
        import lz4.frame  # noqa: PLC0415  (optional codec, imported when a client uses it)

        return bytes(lz4.frame.decompress(body))
    if enc == "zstd":
        import zstandard  # noqa: PLC0415

        return bytes(zstandard.ZstdDecompressor().stream_reader(body).read())
    raise ClickHouseError(
        415, f"Code: 415. DB::Exception: Unknown Content-Encoding {encoding!r}. (UNSUPPORTED_MEDIA_TYPE)"
    )


class Engine:
    """The one chDB engine of this process (chDB allows one path per process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        # Kept open for the process lifetime so the engine is not torn down between requests.
        self._anchor = chdb.connect(str(path))
        self.tmpdir = Path(tempfile.mkdtemp(prefix="chfront-"))

    def _conn_string(self, settings: Mapping[str, int]) -> str:
        if not settings:
            return str(self.path)
        return f"{self.path}?" + "&".join(f"{k}={int(v)}" for k, v in sorted(settings.items()))

    def run(
        self,
        user: StandInUser,
        sql: str,
        fmt: str,
        *,
        database: str | None,
        request_settings: Mapping[str, str],
        params: Mapping[str, str],
        data: bytes | None,
    ) -> bytes:
        infile: Path | None = None
        if data is not None:
            infile = self.tmpdir / f"{uuid.uuid4().hex}.bin"
            infile.write_bytes(data)
        with self.lock:
            conn = chdb.connect(self._conn_string(user.settings))
            try:
                if database:
                    conn.query(f"USE `{database.replace('`', '')}`")
                for key, value in request_settings.items():
                    # Escaped literal; the engine itself rejects changes a readonly user may not make.
                    literal = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
                    conn.query(f"SET {key} = {literal}")
                if infile is not None:
                    m = _INSERT_FORMAT.match(sql)
                    if not m:
                        raise ClickHouseError(62, "Code: 62. DB::Exception: expected INSERT ... FORMAT X")
                    path_lit = str(infile).replace("'", "\\'")
                    sql = f"{m.group(1)} FROM INFILE '{path_lit}' FORMAT {m.group(2)}"
                result = conn.query(sql, fmt, params=dict(params))
                return bytes(result.bytes()) if result is not None else b""
            except ClickHouseError:
                raise
            except Exception as exc:
                msg = str(exc)
                m = _CODE_RE.search(msg)
                raise ClickHouseError(int(m.group(1)) if m else 1002, msg) from exc
            finally:
                conn.close()
                if infile is not None:
                    infile.unlink(missing_ok=True)


class Handler(BaseHTTPRequestHandler):
    server: FrontServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, Linux holds the body ~40 ms for the
    # client's delayed ACK on every keep-alive response (measured: SELECT 1 at 47 ms vs 4 ms).
    disable_nagle_algorithm = True
    server_version = "chfront-stand-in"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        self._handle(self._read_body())

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _credentials(self, qs: Mapping[str, str]) -> tuple[str, str]:
        if "X-ClickHouse-User" in self.headers:
            return self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key", "")
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
            name, _, pw = raw.partition(":")
            return name, pw
        return qs.get("user", "default"), qs.get("password", "")

    def _handle(self, raw_body: bytes) -> None:
        split = urlsplit(self.path)
        if split.path in ("/ping", "/replicas_status") and not split.query:
            self._send(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        qs = dict(parse_qsl(split.query, keep_blank_values=True))
        query_id = qs.get("query_id") or str(uuid.uuid4())
        base_headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": "chfront-stand-in",
            "X-ClickHouse-Timezone": "UTC",
        }
        user_name = "?"
        try:
            name, password = self._credentials(qs)
            user = authenticate(self.server.users, name, password)
            user_name = user.name
            base_headers["X-Stand-In-User"] = user.name
            body = _decode_body(raw_body, self.headers.get("Content-Encoding", ""))
            sql, data = self._split_query(qs.get("query"), body)
            if not sql.strip():
                if split.path == "/" and self.command == "GET":
                    self._send(200, b"Ok.\n", {**base_headers, "Content-Type": "text/plain"})
                    return
                raise ClickHouseError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
            fmt = qs.get("default_format") or "TabSeparated"
            m = _FORMAT_TAIL.search(sql)
            if m and data is None:
                fmt = m.group(1)
            params = {k[6:]: v for k, v in qs.items() if k.startswith("param_")}
            settings = {
                k: v
                for k, v in qs.items()
                if k not in _PROTOCOL_PARAMS and not k.startswith("param_") and _SETTING_NAME.match(k)
            }
            if self.command == "GET" and "readonly" not in user.settings and "readonly" not in settings:
                # The server runs GET requests as readonly=2 so a link cannot change data.
                settings["readonly"] = "2"
            out = self.server.engine.run(
                user,
                sql,
                fmt,
                database=qs.get("database"),
                request_settings=settings,
                params=params,
                data=data,
            )
            summary = json.dumps({"read_rows": "0", "read_bytes": "0", "written_rows": "0", "written_bytes": "0"})
            self._send(
                200,
                out,
                {
                    **base_headers,
                    "Content-Type": "application/octet-stream" if data is None else "text/plain",
                    "X-ClickHouse-Format": fmt,
                    "X-ClickHouse-Summary": summary,
                },
            )
        except ClickHouseError as err:
            status = _STATUS_BY_CODE.get(err.code, 500)
            if self.server.verbose:
                print(f"chfront: {user_name}: error {err.code}: {err.message[:200]}", file=sys.stderr)
            msg = err.message if err.message.endswith("\n") else err.message + "\n"
            self._send(
                status,
                msg.encode("utf-8"),
                {
                    **base_headers,
                    "Content-Type": "text/plain; charset=UTF-8",
                    "X-ClickHouse-Exception-Code": str(err.code),
                },
            )

    def _split_query(self, query: str | None, body: bytes) -> tuple[str, bytes | None]:
        """Return (sql, insert data or None), following the server's query/body rules."""
        if query is not None:
            if body and _INSERT_FORMAT.match(query):
                return query, body
            if body:
                return query + "\n" + body.decode("utf-8"), None
            return query, None
        m = _INLINE_INSERT.match(body)
        if m:
            data = body[m.end() :]
            return m.group(1).decode("utf-8"), data
        return body.decode("utf-8"), None


class FrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], engine: Engine, users: Mapping[str, StandInUser], verbose: bool
    ) -> None:
        super().__init__(address, Handler)
        self.engine = engine
        self.users = users
        self.verbose = verbose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in for the ClickHouse server (HTTP over chDB)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--path", required=True, type=Path, help="chDB data directory")
    parser.add_argument("--users", required=True, type=Path, help="users file from schema.rbac.stand_in_users")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the stand-in only binds loopback")
    users = load_users(args.users)
    args.path.mkdir(parents=True, exist_ok=True)
    engine = Engine(args.path.resolve())
    server = FrontServer((args.host, args.port), engine, users, args.verbose)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so it must run off the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    print(f"{SERVER_NAME} on {args.path}", file=sys.stderr, flush=True)
    print(f"READY http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        with engine.lock:
            engine._anchor.close()
        for leftover in engine.tmpdir.iterdir():
            leftover.unlink(missing_ok=True)
        os.rmdir(engine.tmpdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
