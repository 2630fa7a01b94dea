"""The edge renderer: pure properties of the text, and the real Caddy 2.11.7 binary's verdict on it."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from caddy.render import (
    CertPin,
    EdgeIdentity,
    EdgeSite,
    LocalGlobals,
    render_caddyfile,
    render_site,
)
from local.caddy_process import CaddyError, caddy_binary, scratch_env, validate_caddyfile
from pki.issuer import issue_server_cert, make_ca

pytestmark = pytest.mark.unit

WRITER_PW = "Wr1ter-password-0123456789"
READER_PW = "Re4der_password-abcdefghij"
FP_A = "a" * 64
FP_B = "0123456789abcdef" * 4

STRIPPED_HEADERS = (
    "Authorization",
    "X-ClickHouse-User",
    "X-ClickHouse-Key",
    "X-ClickHouse-Quota",
)


def _identities() -> tuple[EdgeIdentity, ...]:
    return (
        EdgeIdentity("prices-ingestion-production", "prices_writer", WRITER_PW),
        EdgeIdentity("prices-api-production", "prices_reader", READER_PW),
    )


def _production_site(client_ca_file: str = "/etc/caddy/prices-clients-ca.pem") -> EdgeSite:
    return EdgeSite(
        address="ch-prices.example.com",
        client_ca_file=client_ca_file,
        identities=_identities(),
        pins=(CertPin(FP_A, 1_900_000_000), CertPin(FP_B, 200)),
    )


def _route_lines(text: str) -> list[str]:
    """The directives inside the site's `route { ... }`, in order, stripped."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index("route {")
    return [line for line in lines[start + 1 :] if line and not line.startswith("#")]


def test_rendering_is_byte_identical_for_the_same_inputs_in_any_order() -> None:
    site = _production_site()
    shuffled = dataclasses.replace(site, identities=tuple(reversed(site.identities)), pins=tuple(reversed(site.pins)))
    assert render_site(site) == render_site(site)
    assert render_site(site) == render_site(shuffled)
    text = render_site(site)
    # Sorted: api before ingestion, 0123... before aaaa...
    assert text.index("CN=prices-api-production") < text.index("CN=prices-ingestion-production")
    assert text.index(FP_B) < text.index(FP_A)


def test_allowlist_maps_exact_subject_and_defaults_to_the_deny_sentinel() -> None:
    text = render_site(_production_site())
    assert "map {http.request.tls.client.subject} {prices_ch_user} {prices_ch_key} {" in text
    assert f'"CN=prices-ingestion-production" prices_writer {WRITER_PW}' in text
    assert f'"CN=prices-api-production" prices_reader {READER_PW}' in text
    assert "default __unmapped__ __unmapped__" in text


def test_gate_is_in_a_route_and_only_the_allowed_match_reaches_reverse_proxy() -> None:
    route = _route_lines(render_site(_production_site()))
    proxy = next(i for i, line in enumerate(route) if line.startswith("reverse_proxy"))
    deny_unmapped = route.index('respond @unmapped "client certificate is not on the allowlist" 403')
    deny_pin = next(i for i, line in enumerate(route) if line.startswith("respond @pin_refused"))
    assert deny_unmapped < proxy and deny_pin < proxy
    assert route[proxy] == "reverse_proxy @allowed 127.0.0.1:8123 {"
    allowed = next(line for line in route if line.startswith("@allowed expression"))
    assert '{prices_ch_user} != "__unmapped__"' in allowed
    assert "int({prices_pin_until}) >= int({time.now.unix})" in allowed
    # Whatever does not match @allowed ends in a 403, never in a default pass-through.
    assert route[-3:] == ['respond "refused" 403', "}", "}"]


def test_pins_are_quoted_fixed_width_with_a_refusing_default() -> None:
    text = render_site(_production_site())
    assert f'{FP_A} "1900000000"' in text
    # Unquoted, Caddy's map would turn this into the number 200 (seen on 2.11.7).
    assert f'{FP_B} "0000000200"' in text
    assert 'default "0000000000"' in text
    assert "@pin_refused expression `int({prices_pin_until}) < int({time.now.unix})`" in text


def test_client_credentials_are_stripped_before_the_proxy_and_set_by_the_edge() -> None:
    route = _route_lines(render_site(_production_site()))
    proxy = next(i for i, line in enumerate(route) if line.startswith("reverse_proxy"))
    for header in STRIPPED_HEADERS:
        assert route.index(f"request_header -{header}") < proxy
    query = route.index("uri query {")
    assert query < proxy
    assert route[query + 1 : query + 4] == ["-user", "-password", "-quota_key"]
    for header_up in (
        "header_up X-ClickHouse-User {prices_ch_user}",
        "header_up X-ClickHouse-Key {prices_ch_key}",
        "header_up X-Client-Subject {http.request.tls.client.subject}",
        "header_up X-Client-Cert-Fingerprint {http.request.tls.client.fingerprint}",
    ):
        assert header_up in route[proxy:]


def test_tls13_only_and_client_certificates_verified_against_the_client_ca() -> None:
    text = render_site(_production_site())
    assert "protocols tls1.3\n" in text
    assert "mode require_and_verify" in text
    assert "trust_pool file /etc/caddy/prices-clients-ca.pem" in text


def test_production_site_uses_automatic_certificates_and_local_site_uses_files() -> None:
    production = render_site(_production_site())
    assert re.search(r"^ch-prices\.example\.com \{$", production, re.M)
    assert "\ttls {\n" in production
    assert "bind " not in production
    local = dataclasses.replace(
        _production_site(),
        address="localhost:18443",
        server_cert_file="/w/pki/edge-server.pem",
        server_key_file="/w/pki/edge-server.key",
        bind="127.0.0.1",
    )
    text = render_site(local)
    assert "\ttls /w/pki/edge-server.pem /w/pki/edge-server.key {\n" in text
    assert "\tbind 127.0.0.1\n" in text


def test_limits_and_timeouts_come_from_the_site() -> None:
    text = render_site(
        dataclasses.replace(
            _production_site(),
            max_body_mb=64,
            dial_timeout_s=3,
            response_header_timeout_s=31,
            read_write_timeout_s=600,
        )
    )
    assert "max_size 64MB" in text
    assert "int({http.request.header.Content-Length}) > 64000000`" in text
    assert 'respond @too_large "request body larger than 64 MB" 413' in text
    assert "dial_timeout 3s" in text
    assert "response_header_timeout 31s" in text
    assert "read_timeout 600s" in text and "write_timeout 600s" in text


def _bad(field: str, **changes: object) -> tuple[str, Callable[[], object]]:
    def build() -> object:
        return dataclasses.replace(_production_site(), **changes)  # type: ignore[arg-type]

    return field, build


def _bad_identity(field: str, **changes: str) -> tuple[str, Callable[[], object]]:
    values = {"common_name": "prices-api-dev", "clickhouse_user": "prices_reader"}
    values["clickhouse_password"] = READER_PW
    values.update(changes)
    return field, lambda: EdgeIdentity(**values)


INVALID_INPUTS = [
    _bad_identity("common_name", common_name="Prices-API"),
    _bad_identity("common_name", common_name='x" prices_writer'),
    _bad_identity("common_name", common_name="-leading-dash"),
    _bad_identity("clickhouse_user", clickhouse_user="prices-reader"),
    _bad_identity("clickhouse_user", clickhouse_user="__unmapped__"),
    _bad_identity("clickhouse_password", clickhouse_password="short"),
    _bad_identity("clickhouse_password", clickhouse_password="has space in it 0123456789"),
    _bad_identity("clickhouse_password", clickhouse_password="brace{http.request.uri}0123456"),
    ("sha256", lambda: CertPin("A" * 64, 1)),
    ("sha256", lambda: CertPin("ab" * 31, 1)),
    ("accept_until_unix", lambda: CertPin(FP_A, -1)),
    ("accept_until_unix", lambda: CertPin(FP_A, 10_000_000_000)),
    _bad("address", address="127.0.0.1:18443"),
    _bad("address", address="ch.example.com:99999"),
    _bad("address", address="ch.example.com {"),
    _bad("client_ca_file", client_ca_file="relative/ca.pem"),
    _bad("client_ca_file", client_ca_file="/etc/caddy/my ca.pem"),
    _bad("client_ca_file", client_ca_file="/etc/caddy/../../ca.pem"),
    _bad("upstream", upstream="127.0.0.1"),
    _bad("upstream", upstream="clickhouse:8123 {"),
    _bad("server_cert_file", server_cert_file="/w/server.pem"),
    _bad("server_key_file", server_cert_file="/w/server.pem", server_key_file="/w/server key"),
    _bad("bind", bind="localhost"),
    _bad("max_body_mb", max_body_mb=0),
    _bad("read_write_timeout_s", read_write_timeout_s=True),
    _bad("identities", identities=()),
    _bad(
        "identities",
        identities=(
            EdgeIdentity("prices-api-dev", "prices_reader", READER_PW),
            EdgeIdentity("prices-api-dev", "prices_writer", WRITER_PW),
        ),
    ),
    _bad(
        "identities",
        identities=(
            EdgeIdentity("prices-api-dev", "prices_reader", READER_PW),
            EdgeIdentity("prices-api2-dev", "prices_reader", WRITER_PW),
        ),
    ),
    _bad("pins", pins=()),
    _bad("pins", pins=(CertPin(FP_A, 1), CertPin(FP_A, 2))),
]


@pytest.mark.parametrize(("field", "build"), INVALID_INPUTS)
def test_invalid_values_are_rejected_naming_the_field(field: str, build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: ") as caught:
        build()
    # A rejected password is a secret: the message must not repeat it.
    assert "0123456789" not in str(caught.value) or field != "clickhouse_password"


def test_local_globals_keep_caddy_offline() -> None:
    site = dataclasses.replace(
        _production_site(),
        address="localhost:18443",
        server_cert_file="/w/s.pem",
        server_key_file="/w/s.key",
    )
    text = render_caddyfile(site, LocalGlobals(storage_dir="/w/caddy/data", log_file="/w/caddy/caddy.log"))
    globals_block = text[: text.index("\n}\n") + 3]
    for option in ("admin off", "auto_https off", "skip_install_trust", "storage file_system /w/caddy/data"):
        assert f"\t{option}\n" in globals_block
    assert "output file /w/caddy/caddy.log" in globals_block
    assert text.endswith(render_site(site))


# --- the real binary ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("render-certs")
    client_ca = make_ca()
    server_ca = make_ca()
    server = issue_server_cert("localhost", server_ca)
    (directory / "client-ca.pem").write_text(client_ca.cert_pem)
    (directory / "server.pem").write_text(server.cert_pem)
    (directory / "server.key").write_text(server.key_pem)
    return directory


def _local_caddyfile(certs: Path, work: Path, client_ca: Path | None = None) -> str:
    site = EdgeSite(
        address="localhost:18443",
        client_ca_file=str(client_ca or certs / "client-ca.pem"),
        identities=_identities(),
        pins=(CertPin(FP_A, 1_900_000_000),),
        server_cert_file=str(certs / "server.pem"),
        server_key_file=str(certs / "server.key"),
        bind="127.0.0.1",
    )
    return render_caddyfile(site, LocalGlobals(str(work / "data"), str(work / "caddy.log")))


def test_caddy_validate_accepts_the_production_site(certs_dir: Path, tmp_path: Path) -> None:
    # The server's CA path does not exist here; the same site with a real file is what gets validated.
    site = _production_site(client_ca_file=str(certs_dir / "client-ca.pem"))
    minimal_globals = f"{{\n\tadmin off\n\tskip_install_trust\n\tstorage file_system {tmp_path / 'data'}\n}}\n\n"
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(minimal_globals + render_site(site))
    output = validate_caddyfile(caddyfile, tmp_path / "home")
    assert "Valid configuration" in output
    assert "enabling strict SNI-Host enforcement" in output


def test_caddy_validate_accepts_the_local_caddyfile(certs_dir: Path, tmp_path: Path) -> None:
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(_local_caddyfile(certs_dir, tmp_path))
    output = validate_caddyfile(caddyfile, tmp_path / "home")
    assert "Valid configuration" in output
    assert "not formatted" not in output


def test_caddy_validate_rejects_a_missing_client_ca(certs_dir: Path, tmp_path: Path) -> None:
    # Proves the validate step checks the trust pool, so the two tests above can fail.
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(_local_caddyfile(certs_dir, tmp_path, client_ca=tmp_path / "missing-ca.pem"))
    with pytest.raises(CaddyError, match=re.escape("missing-ca.pem")):
        validate_caddyfile(caddyfile, tmp_path / "home", log_file=tmp_path / "caddy.log")


def test_rendered_text_is_already_caddy_fmt_formatted(certs_dir: Path, tmp_path: Path) -> None:
    caddyfile = tmp_path / "Caddyfile"
    text = _local_caddyfile(certs_dir, tmp_path)
    caddyfile.write_text(text)
    formatted = subprocess.run(
        [str(caddy_binary()), "fmt", str(caddyfile)],
        env=scratch_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert formatted == text
