"""Real X.509 issuance with `cryptography`, following pulumi-tls semantics.

Used where the pulumi-tls provider cannot run: the offline mock runtime (so tests check real chains,
CNs and dates) and the local data plane. Production certificates come from pulumi-tls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pki.profile import CaProfile, ClientCertProfile

_EKU_BY_USE = {
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
}


@dataclass(frozen=True)
class IssuedCert:
    cert_pem: str
    key_pem: str

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())

    @property
    def sha256_fingerprint(self) -> str:
        return sha256_fingerprint(self.cert_pem)

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc


def new_private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_pem(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sha256_fingerprint(cert_pem: str) -> str:
    """Lower-case hex SHA-256 of the DER certificate: the form Caddy's client fingerprint placeholder uses."""
    der = x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def not_after(cert_pem: str) -> dt.datetime:
    return x509.load_pem_x509_certificate(cert_pem.encode()).not_valid_after_utc


def _key_usage(uses: Iterable[str]) -> x509.KeyUsage:
    uses = set(uses)
    return x509.KeyUsage(
        digital_signature="digital_signature" in uses,
        content_commitment=False,
        key_encipherment="key_encipherment" in uses,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign="cert_signing" in uses,
        crl_sign="crl_signing" in uses,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def sign_certificate(
    *,
    subject_key_pem: str,
    common_name: str,
    organization: str | None,
    issuer_cert_pem: str | None,
    issuer_key_pem: str,
    validity_hours: int,
    allowed_uses: Iterable[str],
    is_ca: bool = False,
    dns_names: Iterable[str] = (),
    not_before: dt.datetime | None = None,
) -> str:
    """Sign a certificate for `subject_key_pem`; self-signed when `issuer_cert_pem` is None."""
    uses = list(allowed_uses)
    subject_key = serialization.load_pem_private_key(subject_key_pem.encode(), password=None)
    issuer_key = serialization.load_pem_private_key(issuer_key_pem.encode(), password=None)
    subject = _name(common_name, organization)
    issuer_name = (
        subject if issuer_cert_pem is None else x509.load_pem_x509_certificate(issuer_cert_pem.encode()).subject
    )
    start = not_before or dt.datetime.now(dt.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(hours=validity_hours))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), critical=True)
        .add_extension(_key_usage(uses), critical=True)
    )
    ekus = [_EKU_BY_USE[u] for u in uses if u in _EKU_BY_USE]
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    names = list(dns_names)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(profile: CaProfile | None = None) -> IssuedCert:
    profile = profile or CaProfile()
    key_pem = new_private_key_pem()
    cert_pem = sign_certificate(
        subject_key_pem=key_pem,
        common_name=profile.common_name,
        organization=profile.organization,
        issuer_cert_pem=None,
        issuer_key_pem=key_pem,
        validity_hours=profile.validity_hours,
        allowed_uses=profile.allowed_uses,
        is_ca=True,
    )
    return IssuedCert(cert_pem=cert_pem, key_pem=key_pem)


def issue_client_cert(
    profile: ClientCertProfile, ca: IssuedCert, *, not_before: dt.datetime | None = None
) -> IssuedCert:
    key_pem = new_private_key_pem()
    cert_pem = sign_certificate(
        subject_key_pem=key_pem,
        common_name=profile.common_name,
        organization=None,  # CN only: the edge matches the exact subject string "CN=<name>"
        issuer_cert_pem=ca.cert_pem,
        issuer_key_pem=ca.key_pem,
        validity_hours=profile.validity_hours,
        allowed_uses=profile.allowed_uses,
        not_before=not_before,
    )
    return IssuedCert(cert_pem=cert_pem, key_pem=key_pem)


def issue_server_cert(hostname: str, ca: IssuedCert, *, validity_hours: int = 24 * 30) -> IssuedCert:
    key_pem = new_private_key_pem()
    cert_pem = sign_certificate(
        subject_key_pem=key_pem,
        common_name=hostname,
        organization=None,
        issuer_cert_pem=ca.cert_pem,
        issuer_key_pem=ca.key_pem,
        validity_hours=validity_hours,
        allowed_uses=("digital_signature", "server_auth"),
        dns_names=[hostname],
    )
    return IssuedCert(cert_pem=cert_pem, key_pem=key_pem)
