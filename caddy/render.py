"""Render the Caddy mTLS edge in front of ClickHouse.

`render_site` is the one definition of the edge: the Pulumi CaddyEdge component pushes its output to the
server, and the local data plane runs the same text under the real binary (`render_caddyfile`), so the
mTLS tests exercise the production site block, not a look-alike.

Every value that reaches the Caddyfile is validated against a narrow alphabet at construction, so no
value can open a block, start a placeholder or end a token; nothing needs escaping afterwards.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

UNMAPPED_SENTINEL = "__unmapped__"
# Fixed width keeps the rendered pins aligned and the accept-until readable as one 10-digit token.
PIN_DIGITS = 10
MAX_ACCEPT_UNTIL = 10**PIN_DIGITS - 1

_TEMPLATE_PATH = Path(__file__).with_name("site.caddy.tmpl")

_CN = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
_USER = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
# URL-safe base64 (what secrets.token_urlsafe and alphanumeric generators produce): no quote, brace,
# space or '#', so the value stays one Caddyfile token; 16+ characters because these are machine secrets.
_PASSWORD = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})*$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_PATH = re.compile(r"^/[A-Za-z0-9_./@+-]*$")


def _fail(field: str, why: str) -> ValueError:
    return ValueError(f"{field}: {why}")


def _check_port(field: str, port: str) -> None:
    if not _PORT.match(port) or not 0 < int(port) < 65536:
        raise _fail(field, f"port {port!r} is not in 1..65535")


def _check_address(field: str, value: str) -> None:
    host, sep, port = value.partition(":")
    if not _HOSTNAME.match(host) or not re.search(r"[a-z]", host.rsplit(".", 1)[-1]):
        # An IP site address has no SNI; with client auth Caddy then answers 421 to every request.
        raise _fail(field, f"{value!r} must be a lower-case DNS hostname (not an IP), optionally :port")
    if sep:
        _check_port(field, port)


def _check_upstream(field: str, value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep:
        raise _fail(field, f"{value!r} must be host:port")
    _check_port(field, port)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.match(host):
            raise _fail(field, f"{value!r}: host must be an IP address or a DNS hostname") from None


def _check_path(field: str, value: str) -> None:
    if not _PATH.match(value) or "/../" in f"{value}/":
        raise _fail(field, f"{value!r} must be an absolute path of [A-Za-z0-9_./@+-] without '..'")


def _check_positive(field: str, value: int, upper: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= upper:
        raise _fail(field, f"{value!r} must be an integer in 1..{upper}")


@dataclass(frozen=True)
class EdgeIdentity:
    """One allowlisted client: the certificate CN and the ClickHouse user the edge logs it in as."""

    common_name: str
    clickhouse_user: str
    clickhouse_password: str

    def __post_init__(self) -> None:
        if not isinstance(self.common_name, str) or not _CN.match(self.common_name):
            raise _fail("common_name", f"{self.common_name!r} must match {_CN.pattern}")
        if not isinstance(self.clickhouse_user, str) or not _USER.match(self.clickhouse_user):
            raise _fail("clickhouse_user", f"{self.clickhouse_user!r} must match {_USER.pattern}")
        if self.clickhouse_user == UNMAPPED_SENTINEL:
            raise _fail("clickhouse_user", f"{UNMAPPED_SENTINEL!r} is the edge's deny sentinel")
        # The value itself is never echoed: it is a secret.
        if not isinstance(self.clickhouse_password, str) or not _PASSWORD.match(self.clickhouse_password):
            raise _fail("clickhouse_password", f"must match {_PASSWORD.pattern} (value not shown)")

    @property
    def subject(self) -> str:
        """The exact `{http.request.tls.client.subject}` of a CN-only certificate."""
        return f"CN={self.common_name}"


@dataclass(frozen=True)
class CertPin:
    """A client leaf certificate the edge accepts while `now < accept_until_unix`.

    During a rotation the previous certificate keeps a pin with a near accept-until (the grace period)
    and the new one a pin until its NotAfter; the old one is then refused without a redeploy.
    """

    sha256: str
    accept_until_unix: int

    def __post_init__(self) -> None:
        if not isinstance(self.sha256, str) or not _FINGERPRINT.match(self.sha256):
            raise _fail("sha256", f"{self.sha256!r} must be 64 lower-case hex digits (SHA-256 of the DER)")
        value = self.accept_until_unix
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ACCEPT_UNTIL:
            raise _fail("accept_until_unix", f"{value!r} must be an integer in 0..{MAX_ACCEPT_UNTIL}")


@dataclass(frozen=True)
class EdgeSite:
    address: str
    client_ca_file: str
    identities: tuple[EdgeIdentity, ...]
    pins: tuple[CertPin, ...]
    upstream: str = "127.0.0.1:8123"
    server_cert_file: str | None = None
    server_key_file: str | None = None
    bind: str | None = None
    max_body_mb: int = 256
    dial_timeout_s: int = 10
    response_header_timeout_s: int = 30
    read_write_timeout_s: int = 7200

    def __post_init__(self) -> None:
        _check_address("address", self.address)
        _check_path("client_ca_file", self.client_ca_file)
        _check_upstream("upstream", self.upstream)
        if (self.server_cert_file is None) != (self.server_key_file is None):
            raise _fail("server_cert_file", "server_cert_file and server_key_file go together (or neither)")
        if self.server_cert_file is not None and self.server_key_file is not None:
            _check_path("server_cert_file", self.server_cert_file)
            _check_path("server_key_file", self.server_key_file)
        if self.bind is not None:
            try:
                ipaddress.ip_address(self.bind)
            except ValueError:
                raise _fail("bind", f"{self.bind!r} must be an IP address") from None
        _check_positive("max_body_mb", self.max_body_mb, 64 * 1024)
        _check_positive("dial_timeout_s", self.dial_timeout_s, 3600)
        _check_positive("response_header_timeout_s", self.response_header_timeout_s, 86400)
        _check_positive("read_write_timeout_s", self.read_write_timeout_s, 86400)
        self._check_identities()
        self._check_pins()

    def _check_identities(self) -> None:
        if not self.identities or not all(isinstance(i, EdgeIdentity) for i in self.identities):
            raise _fail("identities", "at least one EdgeIdentity is required; an empty allowlist admits nobody")
        names = [i.common_name for i in self.identities]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise _fail("identities", f"duplicate common_name {', '.join(duplicates)}")
        password_by_user: dict[str, str] = {}
        for identity in self.identities:
            known = password_by_user.setdefault(identity.clickhouse_user, identity.clickhouse_password)
            if known != identity.clickhouse_password:
                raise _fail("identities", f"{identity.clickhouse_user!r} is given two different passwords")

    def _check_pins(self) -> None:
        if not self.pins or not all(isinstance(p, CertPin) for p in self.pins):
            raise _fail("pins", "at least one CertPin is required; without pins the edge refuses every client")
        fingerprints = [p.sha256 for p in self.pins]
        duplicates = sorted({f for f in fingerprints if fingerprints.count(f) > 1})
        if duplicates:
            raise _fail("pins", f"duplicate sha256 {', '.join(duplicates)}")


@dataclass(frozen=True)
class LocalGlobals:
    """Global options that keep a local Caddy offline: no admin API, no ACME, no trust-store install."""

    storage_dir: str
    log_file: str

    def __post_init__(self) -> None:
        _check_path("storage_dir", self.storage_dir)
        _check_path("log_file", self.log_file)


_LOCAL_GLOBALS = Template(
    """{
\tadmin off
\tauto_https off
\tskip_install_trust
\tstorage file_system $storage_dir
\tlog {
\t\toutput file $log_file
\t}
}
"""
)


def render_site(site: EdgeSite) -> str:
    """The site block pushed to the server; deterministic (allowlist and pins sorted)."""
    identities = sorted(site.identities, key=lambda i: i.common_name)
    identity_lines = "".join(f'\t\t"{i.subject}" {i.clickhouse_user} {i.clickhouse_password}\n' for i in identities)
    pins = sorted(site.pins, key=lambda p: p.sha256)
    pin_lines = "".join(f'\t\t{p.sha256} "{p.accept_until_unix:0{PIN_DIGITS}d}"\n' for p in pins)
    if site.server_cert_file is not None and site.server_key_file is not None:
        tls_files = f"{site.server_cert_file} {site.server_key_file} "
    else:
        tls_files = ""  # ACME (or another automatic issuer) provides the public server certificate
    bind_block = f"\tbind {site.bind}\n\n" if site.bind else ""
    template = Template(_TEMPLATE_PATH.read_text(encoding="utf-8"))
    return template.substitute(
        address=site.address,
        bind_block=bind_block,
        tls_files=tls_files,
        client_ca_file=site.client_ca_file,
        identity_lines=identity_lines,
        pin_lines=pin_lines,
        upstream=site.upstream,
        max_body_mb=site.max_body_mb,
        max_body_bytes=site.max_body_mb * 1_000_000,  # Caddy reads "MB" as 10^6 bytes
        dial_timeout_s=site.dial_timeout_s,
        response_header_timeout_s=site.response_header_timeout_s,
        read_write_timeout_s=site.read_write_timeout_s,
    )


def render_caddyfile(site: EdgeSite, local: LocalGlobals) -> str:
    """A complete offline Caddyfile for the local data plane: local globals, then the production site."""
    globals_block = _LOCAL_GLOBALS.substitute(storage_dir=local.storage_dir, log_file=local.log_file)
    return f"{globals_block}\n{render_site(site)}"
