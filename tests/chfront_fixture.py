"""Start ``python -m local.chfront`` as a subprocess for tests (chDB: one path per process)."""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from schema.rbac import prices_access_model, stand_in_users

REPO = Path(__file__).resolve().parent.parent
PASSWORDS = {"prices_writer": "writer-secret-1", "prices_reader": "reader-secret-2"}


@dataclass(frozen=True)
class Front:
    host: str
    port: int
    url: str
    path: Path
    process: subprocess.Popen[bytes]


@contextmanager
def running_front(workdir: Path, *, allow_default_admin: bool = True, timeout: float = 30.0) -> Iterator[Front]:
    workdir.mkdir(parents=True, exist_ok=True)
    hashes = {u: hashlib.sha256(p.encode()).hexdigest() for u, p in PASSWORDS.items()}
    users_file = workdir / "users.json"
    users_file.write_text(
        json.dumps(stand_in_users(prices_access_model(), hashes, allow_default_admin=allow_default_admin))
    )
    data = workdir / "chdb"
    # A file, not a pipe: nobody drains stderr while tests run, and a full pipe would block.
    stderr = (workdir / "chfront.stderr").open("wb")
    # cwd = workdir: chDB reads ./config.xml from its working directory; this one has none.
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "local.chfront", "--host", "127.0.0.1", "--port", "0"),
            *("--path", str(data), "--users", str(users_file)),
        ],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                line = proc.stdout.readline()
                break
            if proc.poll() is not None:
                break
        text = line.decode().strip()
        if not text.startswith("READY http://127.0.0.1:"):
            err = (workdir / "chfront.stderr").read_text(errors="replace")
            raise RuntimeError(f"chfront did not become ready: {text!r} {err}")
        port = int(text.rsplit(":", 1)[1])
        yield Front("127.0.0.1", port, f"http://127.0.0.1:{port}", data, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()
