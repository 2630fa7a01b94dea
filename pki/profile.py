"""What a prices client certificate is, in one place.

The Pki component turns these profiles into pulumi-tls inputs; the offline mocks and the local data
plane turn the same profiles into real certificates with `cryptography`. Keeping one definition is what
lets a test of the local edge say something about the certificates production gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Role = Literal["ingestion", "api"]
ROLES: tuple[Role, ...] = ("ingestion", "api")

# The ClickHouse user each role is mapped to by the edge. The CN is the allowlist key.
CLICKHOUSE_USER_BY_ROLE: dict[Role, str] = {"ingestion": "prices_writer", "api": "prices_reader"}

_CN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")

# pulumi-tls names for the key usages; the issuer maps them to X.509 extensions.
CLIENT_ALLOWED_USES: tuple[str, ...] = ("digital_signature", "client_auth")


@dataclass(frozen=True)
class ClientCertProfile:
    env: str
    role: Role
    validity_hours: int = 8760
    early_renewal_hours: int = 720
    key_algorithm: str = "ECDSA"
    ecdsa_curve: str = "P256"
    allowed_uses: tuple[str, ...] = CLIENT_ALLOWED_USES

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown client role {self.role!r}; expected one of {', '.join(ROLES)}")
        if not _CN_PATTERN.match(self.common_name):
            raise ValueError(f"certificate CN {self.common_name!r} is not a valid identity name")
        if not 0 < self.early_renewal_hours < self.validity_hours:
            raise ValueError(
                f"early renewal ({self.early_renewal_hours} h) must be inside the validity ({self.validity_hours} h)"
            )

    @property
    def common_name(self) -> str:
        return f"prices-{self.role}-{self.env}"

    @property
    def subject(self) -> str:
        """The subject string Caddy's `{http.request.tls.client.subject}` yields for this certificate."""
        return f"CN={self.common_name}"

    @property
    def clickhouse_user(self) -> str:
        return CLICKHOUSE_USER_BY_ROLE[self.role]

    @property
    def secret_name(self) -> str:
        return f"prices/{self.env}/clickhouse-mtls-{self.role}"

    @property
    def rotation_hours(self) -> int:
        """Rotate before the renewal window opens, so the NotAfter alarm (30 days) never fires."""
        return self.validity_hours - self.early_renewal_hours


@dataclass(frozen=True)
class CaProfile:
    common_name: str = "prices-internal-ca"
    organization: str = "Stellar Prices API"
    validity_hours: int = 10 * 8760
    key_algorithm: str = "ECDSA"
    ecdsa_curve: str = "P256"
    allowed_uses: tuple[str, ...] = ("cert_signing", "crl_signing", "digital_signature")


def client_profiles(env: str, *, validity_hours: int = 8760, early_renewal_hours: int = 720) -> list[ClientCertProfile]:
    return [
        ClientCertProfile(env=env, role=role, validity_hours=validity_hours, early_renewal_hours=early_renewal_hours)
        for role in ROLES
    ]
