"""The mTLS matrix against the real edge: Caddy 2.11.7 running the rendered production site block in
front of the ClickHouse stand-in, with real certificates from the production profiles.

Every accepted request also proves that `pki.issuer.sha256_fingerprint` equals Caddy's
`{http.request.tls.client.fingerprint}`: the edge only proxies certificates whose pin matches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from caddy.render import CertPin
from local.caddy_process import CaddyProcess, free_port
from local.dataplane import DataPlane, _caddy_for, edge_site_for, start_dataplane, write_private, write_public
from pki.issuer import (
    IssuedCert,
    issue_client_cert,
    make_ca,
    new_private_key_pem,
    sign_certificate,
)
from pki.profile import CLIENT_ALLOWED_USES, ClientCertProfile

pytestmark = [pytest.mark.edge, pytest.mark.slow]

READONLY_SQL = "SELECT getSetting('readonly')"
ACCESS_DENIED_READONLY = "164"  # ClickHouse READONLY error code


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path
    issued: IssuedCert

    @property
    def pair(self) -> tuple[str, str]:
        return (str(self.cert), str(self.key))


@dataclass(frozen=True)
class Matrix:
    plane: DataPlane
    api: CertFiles
    ingestion: CertFiles
    other_ca: CertFiles
    expired: CertFiles
    unmapped_cn: CertFiles
    unpinned: CertFiles
    previous_in_grace: CertFiles
    previous_grace_over: CertFiles
    previous_ancient_pin: CertFiles

    @property
    def url(self) -> str:
        return self.plane.edge_url + "/"

    @property
    def server_ca(self) -> str:
        return str(self.plane.pki.edge_server_ca)


def _save(directory: Path, name: str, issued: IssuedCert) -> CertFiles:
    return CertFiles(
        cert=write_public(directory / f"{name}.pem", issued.cert_pem),
        key=write_private(directory / f"{name}.key", issued.key_pem),
        issued=issued,
    )


def _client_cert_with_cn(common_name: str, ca: IssuedCert) -> IssuedCert:
    """CA-valid client certificate for a CN no role profile produces (profiles only know the roles)."""
    key_pem = new_private_key_pem()
    cert_pem = sign_certificate(
        subject_key_pem=key_pem,
        common_name=common_name,
        organization=None,
        issuer_cert_pem=ca.cert_pem,
        issuer_key_pem=ca.key_pem,
        validity_hours=24,
        allowed_uses=CLIENT_ALLOWED_USES,
    )
    return IssuedCert(cert_pem=cert_pem, key_pem=key_pem)


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    workdir = tmp_path_factory.mktemp("edge-mtls")
    with start_dataplane(workdir, env="local") as plane:
        extra = workdir / "extra-certs"
        client_ca = plane.pki.client_ca
        api_profile = ClientCertProfile(env="local", role="api")
        now = int(time.time())
        long_ago = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=400)
        certs = {
            "other_ca": _save(extra, "other-ca", issue_client_cert(api_profile, make_ca())),
            "expired": _save(extra, "expired", issue_client_cert(api_profile, client_ca, not_before=long_ago)),
            "unmapped_cn": _save(extra, "unmapped", _client_cert_with_cn("prices-intruder-local", client_ca)),
            "unpinned": _save(extra, "unpinned", issue_client_cert(api_profile, client_ca)),
            "previous_in_grace": _save(extra, "prev-grace", issue_client_cert(api_profile, client_ca)),
            "previous_grace_over": _save(extra, "prev-over", issue_client_cert(api_profile, client_ca)),
            "previous_ancient_pin": _save(extra, "prev-ancient", issue_client_cert(api_profile, client_ca)),
        }
        pins = (
            # Pinned, so a 403 for it can only come from the CN allowlist.
            CertPin(certs["unmapped_cn"].issued.sha256_fingerprint, now + 86400),
            # Pinned, so a refusal can only come from TLS (expiry), not from the pin.
            CertPin(certs["expired"].issued.sha256_fingerprint, now + 86400),
            CertPin(certs["previous_in_grace"].issued.sha256_fingerprint, now + 3600),
            CertPin(certs["previous_grace_over"].issued.sha256_fingerprint, now - 60),
            # Renders as "0000000200": as a bare string compare "200" > "17..." would wrongly accept it.
            CertPin(certs["previous_ancient_pin"].issued.sha256_fingerprint, 200),
        )
        plane.restart_edge(pins)
        identities = plane.pki.identities
        yield Matrix(
            plane=plane,
            api=CertFiles(identities["api"].cert, identities["api"].key, identities["api"].issued),
            ingestion=CertFiles(
                identities["ingestion"].cert, identities["ingestion"].key, identities["ingestion"].issued
            ),
            **certs,
        )


def _query(m: Matrix, cert: CertFiles, sql: str, **kwargs: object) -> requests.Response:
    return requests.post(m.url, data=sql.encode(), cert=cert.pair, verify=m.server_ca, timeout=10, **kwargs)  # type: ignore[arg-type]


def _tls_refusal(m: Matrix, cert: CertFiles | None) -> str:
    """Handshake + one request at the socket level; returns the TLS error the server's alert produced."""
    context = ssl.create_default_context(cafile=m.server_ca)
    if cert is not None:
        context.load_cert_chain(*cert.pair)
    with (
        pytest.raises(ssl.SSLError) as caught,
        socket.create_connection(("127.0.0.1", m.plane.edge_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        # TLS 1.3: the server judges the client certificate after the client's handshake finished, so
        # the refusal is an alert on the first read. Writing first would race the alert against a reset.
        tls.recv(4096)
    return str(caught.value)


def test_api_identity_runs_as_the_read_only_user(matrix: Matrix) -> None:
    response = _query(matrix, matrix.api, READONLY_SQL)
    assert response.status_code == 200, response.text
    assert response.headers["X-Stand-In-User"] == "prices_reader"
    assert response.text.strip() == "1"


def test_ingestion_identity_runs_as_the_writer(matrix: Matrix) -> None:
    response = _query(matrix, matrix.ingestion, READONLY_SQL)
    assert response.status_code == 200, response.text
    assert response.headers["X-Stand-In-User"] == "prices_writer"
    assert response.text.strip() == "0"


def test_edge_negotiates_tls13_only(matrix: Matrix) -> None:
    context = ssl.create_default_context(cafile=matrix.server_ca)
    context.load_cert_chain(*matrix.api.pair)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        pytest.raises(ssl.SSLError, match=r"(?i)protocol version|alert"),
        socket.create_connection(("127.0.0.1", matrix.plane.edge_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost"),
    ):
        pass


def test_no_client_certificate_is_refused_at_tls(matrix: Matrix) -> None:
    assert "certificate required" in _tls_refusal(matrix, None).lower()
    with pytest.raises(requests.exceptions.RequestException):
        requests.post(matrix.url, data=READONLY_SQL, verify=matrix.server_ca, timeout=10)


def test_certificate_from_another_ca_is_refused_at_tls(matrix: Matrix) -> None:
    assert "unknown ca" in _tls_refusal(matrix, matrix.other_ca).lower()
    with pytest.raises(requests.exceptions.RequestException):
        _query(matrix, matrix.other_ca, READONLY_SQL)


def test_expired_certificate_is_refused_at_tls(matrix: Matrix) -> None:
    assert matrix.expired.issued.not_after < dt.datetime.now(dt.UTC)
    assert "certificate expired" in _tls_refusal(matrix, matrix.expired).lower()


def test_ca_valid_but_unlisted_cn_gets_403_and_never_reaches_clickhouse(matrix: Matrix) -> None:
    response = _query(matrix, matrix.unmapped_cn, READONLY_SQL)
    assert response.status_code == 403
    assert "not on the allowlist" in response.text
    assert "X-Stand-In-User" not in response.headers


def test_ca_valid_mapped_but_unpinned_certificate_gets_403(matrix: Matrix) -> None:
    response = _query(matrix, matrix.unpinned, READONLY_SQL)
    assert response.status_code == 403
    assert "not pinned" in response.text
    assert "X-Stand-In-User" not in response.headers


def test_previous_certificate_is_accepted_during_its_grace_period(matrix: Matrix) -> None:
    response = _query(matrix, matrix.previous_in_grace, READONLY_SQL)
    assert response.status_code == 200, response.text
    assert response.headers["X-Stand-In-User"] == "prices_reader"


@pytest.mark.parametrize("name", ["previous_grace_over", "previous_ancient_pin"])
def test_previous_certificate_is_refused_after_its_grace_period(matrix: Matrix, name: str) -> None:
    response = _query(matrix, getattr(matrix, name), READONLY_SQL)
    assert response.status_code == 403
    assert "pin has expired" in response.text


def test_grace_period_ends_on_the_running_edge_without_a_redeploy(matrix: Matrix) -> None:
    plane = matrix.plane
    short = _save(
        plane.workdir / "extra-certs",
        "short-grace",
        issue_client_cert(ClientCertProfile(env="local", role="api"), plane.pki.client_ca),
    )
    until = int(time.time()) + 3
    plane.restart_edge((*plane.extra_pins, CertPin(short.issued.sha256_fingerprint, until)))
    assert int(time.time()) < until
    assert _query(matrix, short, READONLY_SQL).status_code == 200
    time.sleep(max(0.0, until + 1.1 - time.time()))
    refused = _query(matrix, short, READONLY_SQL)
    assert refused.status_code == 403
    assert "pin has expired" in refused.text


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"X-ClickHouse-User": "prices_writer"}, {}),
        ({"x-clickhouse-user": "prices_writer", "X-CLICKHOUSE-KEY": "guess"}, {}),
        ({}, {"user": "prices_writer", "password": "x"}),
        ({}, {"%75ser": "prices_writer"}),
        ({"Authorization": "Basic cHJpY2VzX3dyaXRlcjp4"}, {}),  # prices_writer:x
        ({"X-ClickHouse-User": "default"}, {"user": "default"}),
    ],
)
def test_client_supplied_credentials_cannot_change_the_mapped_user(
    matrix: Matrix, headers: dict[str, str], params: dict[str, str]
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = matrix.url + (f"?{query}" if query else "")
    read = requests.post(
        url, data=READONLY_SQL, headers=headers, cert=matrix.api.pair, verify=matrix.server_ca, timeout=10
    )
    assert read.status_code == 200, read.text
    assert read.headers["X-Stand-In-User"] == "prices_reader"
    assert read.text.strip() == "1"

    marker = f"spoof-{uuid.uuid4().hex}"
    insert = (
        "INSERT INTO prices.price_ohlcv_1m (timestamp, asset_id, quote_asset_id, source, open, high, low, "
        "close, volume_base, volume_quote, volume_quote_usd, close_usd, vwap, trade_count, version) "
        f"VALUES ('2026-01-01 00:00:00', '{marker}', 'native', 'test', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)"
    )
    written = requests.post(
        url, data=insert, headers=headers, cert=matrix.api.pair, verify=matrix.server_ca, timeout=10
    )
    assert written.status_code != 200
    assert written.headers.get("X-ClickHouse-Exception-Code") == ACCESS_DENIED_READONLY
    count = _query(matrix, matrix.ingestion, f"SELECT count() FROM prices.price_ohlcv_1m WHERE asset_id = '{marker}'")
    assert count.text.strip() == "0"


def test_plain_http_on_the_edge_port_gets_no_data(matrix: Matrix) -> None:
    response = requests.post(f"http://localhost:{matrix.plane.edge_port}/", data=READONLY_SQL, timeout=10)
    assert response.status_code == 400
    assert "X-Stand-In-User" not in response.headers
    assert "HTTP request to an HTTPS server" in response.text


# --- what exactly reaches the upstream --------------------------------------------------------------
# The stand-in prefers X-ClickHouse-User over ?user= and Authorization, so it cannot show whether the
# edge stripped them (the real server rejects a request that carries two auth methods). A recording
# upstream behind the same rendered site shows the forwarded request itself.


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]


class _Recorder(BaseHTTPRequestHandler):
    seen: list[Recorded]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.seen.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def recording_edge(matrix: Matrix) -> Iterator[tuple[str, list[Recorded]]]:
    seen: list[Recorded] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    plane = matrix.plane
    port = free_port()
    site = edge_site_for(plane.pki, plane.passwords, port, f"http://127.0.0.1:{server.server_address[1]}")
    site = dataclasses.replace(site, max_body_mb=1)  # small, so the limit is cheap to exceed
    caddy: CaddyProcess = _caddy_for(plane.workdir / "recording-edge", site, port)
    with caddy:
        yield f"https://localhost:{port}/", seen
    server.shutdown()
    server.server_close()


def test_edge_forwards_only_its_own_credentials_and_the_client_identity(
    matrix: Matrix, recording_edge: tuple[str, list[Recorded]]
) -> None:
    url, seen = recording_edge
    spoofed = {
        "X-ClickHouse-User": "prices_writer",
        "x-clickhouse-key": "guess",
        "X-ClickHouse-Quota": "q",
        "Authorization": "Basic cHJpY2VzX3dyaXRlcjp4",
        "X-Client-Subject": "CN=prices-ingestion-local",
        "X-Client-Cert-Fingerprint": "0" * 64,
        "X-ClickHouse-SSL-Certificate-Auth": "on",
    }
    response = requests.post(
        url + "?query=SELECT+1&user=prices_writer&password=x&quota_key=k&%75ser=w&database=prices",
        data="",
        headers=spoofed,
        cert=matrix.api.pair,
        verify=matrix.server_ca,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    forwarded = seen[-1]
    assert forwarded.headers["x-clickhouse-user"] == "prices_reader"
    assert forwarded.headers["x-clickhouse-key"] == matrix.plane.passwords["prices_reader"]
    assert forwarded.headers["x-client-subject"] == "CN=prices-api-local"
    # The Python fingerprint and Caddy's placeholder are the same string: the pin format is right.
    assert forwarded.headers["x-client-cert-fingerprint"] == matrix.api.issued.sha256_fingerprint
    for stripped in ("authorization", "x-clickhouse-quota", "x-clickhouse-ssl-certificate-auth"):
        assert stripped not in forwarded.headers
    params = dict(parse_qsl(urlsplit(forwarded.path).query))
    assert params == {"query": "SELECT 1", "database": "prices"}


def test_request_body_over_the_limit_is_refused_before_the_upstream(
    matrix: Matrix, recording_edge: tuple[str, list[Recorded]]
) -> None:
    url, seen = recording_edge
    before = len(seen)
    within = requests.post(url, data=b"x" * 900_000, cert=matrix.api.pair, verify=matrix.server_ca, timeout=10)
    assert within.status_code == 200
    assert len(seen) == before + 1
    too_big = requests.post(url, data=b"x" * 1_200_000, cert=matrix.api.pair, verify=matrix.server_ca, timeout=10)
    assert too_big.status_code == 413
    assert len(seen) == before + 1
