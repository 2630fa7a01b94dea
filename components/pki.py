"""PKI: the shared CA (imported, or bootstrapped once) and per-role client certificates.

Rotation has two triggers because pulumi-tls renewal alone is not reliable (it only acts when someone
runs `pulumi up` inside the renewal window): a `time.Rotating` per role that expires before the renewal
window opens, and a config generation number that rotates on demand. Either replaces the key, hence
the CSR and the certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_tls as tls
import pulumiverse_time as time

from components.settings import PkiSettings
from pki.issuer import sha256_fingerprint
from pki.profile import CaProfile, ClientCertProfile, Role, client_profiles

# Stack output that carries the pins from one deployment to the next.
PINS_OUTPUT = "client_cert_pins"


@dataclass(frozen=True)
class PkiArgs:
    env: str
    settings: PkiSettings
    # The shared CA, from secret config; both None only when settings.bootstrap_ca is set.
    ca_cert_pem: pulumi.Input[str] | None = None
    ca_key_pem: pulumi.Input[str] | None = None
    # Fully qualified name of this very stack (org/project/stack): its last deployment's exported
    # `client_cert_pins` tell which certificate was current before this run (see merge_pins).
    previous_deployment: str | None = None
    previous_cert_grace_hours: int = 72


@dataclass(frozen=True)
class ClientCert:
    profile: ClientCertProfile
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    sha256: pulumi.Output[str]
    not_after: pulumi.Output[str]
    issued_at: pulumi.Output[str]


def rfc3339_to_unix(value: str) -> int:
    return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def merge_pins(
    previous: list[dict[str, Any]] | None, current: list[dict[str, Any]], grace_hours: int
) -> list[dict[str, Any]]:
    """The leaf pins the edge accepts: every current certificate, plus each role's previous one for a grace.

    `current` items: role, sha256, not_after_unix, issued_at_unix. A certificate that was current at the
    last deployment and is not any more is accepted until `issued_at` of its successor + grace (never past
    its own NotAfter); an already-retired pin keeps its deadline. At most one previous pin per role is
    kept, so the list stays bounded. The edge enforces the deadline itself, without a redeploy.
    """
    grace_s = grace_hours * 3600
    by_role = {c["role"]: c for c in current}
    pins = [
        {
            "role": c["role"],
            "sha256": c["sha256"],
            "state": "current",
            "not_after_unix": c["not_after_unix"],
            "accept_until_unix": c["not_after_unix"],
        }
        for c in sorted(current, key=lambda c: c["role"])
    ]
    current_shas = {c["sha256"] for c in current}
    retired: dict[str, dict[str, Any]] = {}
    for pin in previous or []:
        role, sha = str(pin.get("role")), str(pin.get("sha256"))
        if role not in by_role or sha in current_shas:
            continue
        if pin.get("state") == "current":
            deadline = min(int(pin["not_after_unix"]), int(by_role[role]["issued_at_unix"]) + grace_s)
        else:
            deadline = int(pin["accept_until_unix"])
        candidate = {
            "role": role,
            "sha256": sha,
            "state": "previous",
            "not_after_unix": int(pin["not_after_unix"]),
            "accept_until_unix": deadline,
        }
        kept = retired.get(role)
        if kept is None or candidate["accept_until_unix"] > kept["accept_until_unix"]:
            retired[role] = candidate
    return pins + [retired[role] for role in sorted(retired)]


class Pki(pulumi.ComponentResource):
    ca_cert_pem: pulumi.Output[str]
    ca_key_pem: pulumi.Output[str]
    certs: dict[Role, ClientCert]
    pins: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, args: PkiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:pki:Pki", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        if settings.bootstrap_ca:
            ca = CaProfile()
            # Protected: deleting the CA would orphan every client certificate and the edge's trust.
            protected = pulumi.ResourceOptions(parent=self, protect=True)
            ca_key = tls.PrivateKey(
                f"{name}-ca-key", algorithm=ca.key_algorithm, ecdsa_curve=ca.ecdsa_curve, opts=protected
            )
            ca_cert = tls.SelfSignedCert(
                f"{name}-ca-cert",
                private_key_pem=ca_key.private_key_pem,
                subject=tls.SelfSignedCertSubjectArgs(common_name=ca.common_name, organization=ca.organization),
                is_ca_certificate=True,
                validity_period_hours=ca.validity_hours,
                allowed_uses=list(ca.allowed_uses),
                set_subject_key_id=True,
                opts=protected,
            )
            self.ca_cert_pem = ca_cert.cert_pem
            self.ca_key_pem = pulumi.Output.secret(ca_key.private_key_pem)
        else:
            if args.ca_cert_pem is None or args.ca_key_pem is None:
                raise ValueError("the shared CA certificate and key are required unless bootstrapCa is set")
            self.ca_cert_pem = pulumi.Output.from_input(args.ca_cert_pem)
            self.ca_key_pem = pulumi.Output.secret(args.ca_key_pem)

        self.certs = {}
        for profile in client_profiles(
            args.env, validity_hours=settings.validity_hours, early_renewal_hours=settings.early_renewal_hours
        ):
            self.certs[profile.role] = self._client_cert(profile, settings.rotation_generation, child)

        current = [self._current_pin(role, c) for role, c in self.certs.items()]
        grace_hours = args.previous_cert_grace_hours
        previous_pins: pulumi.Input[Any] = None
        if args.previous_deployment is not None:
            previous_pins = pulumi.StackReference(
                f"{name}-previous-deployment", stack_name=args.previous_deployment, opts=child
            ).get_output(PINS_OUTPUT)
        self.pins = pulumi.Output.all(pulumi.Output.from_input(previous_pins), *current).apply(
            lambda v: merge_pins(v[0], list(v[1:]), grace_hours)
        )

        self.register_outputs(
            {
                "ca_cert_pem": self.ca_cert_pem,
                "not_after": {role: c.not_after for role, c in self.certs.items()},
                "sha256": {role: c.sha256 for role, c in self.certs.items()},
                "pins": self.pins,
            }
        )

    @staticmethod
    def _current_pin(role: Role, cert: ClientCert) -> pulumi.Output[dict[str, Any]]:
        def pin(values: list[str]) -> dict[str, Any]:
            sha256, not_after, issued_at = values
            return {
                "role": role,
                "sha256": sha256,
                "not_after_unix": rfc3339_to_unix(not_after),
                "issued_at_unix": rfc3339_to_unix(issued_at),
            }

        return pulumi.Output.all(cert.sha256, cert.not_after, cert.issued_at).apply(pin)

    def _client_cert(self, profile: ClientCertProfile, generation: int, child: pulumi.ResourceOptions) -> ClientCert:
        cn = profile.common_name
        rotation = time.Rotating(
            f"{cn}-rotation",
            rotation_hours=profile.rotation_hours,
            triggers={"generation": str(generation)},
            opts=child,
        )
        key = tls.PrivateKey(
            f"{cn}-key",
            algorithm=profile.key_algorithm,
            ecdsa_curve=profile.ecdsa_curve,
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=rotation.rfc3339),
        )
        csr = tls.CertRequest(
            f"{cn}-csr",
            private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=cn),
            opts=child,
        )
        cert = tls.LocallySignedCert(
            f"{cn}-cert",
            cert_request_pem=csr.cert_request_pem,
            ca_cert_pem=self.ca_cert_pem,
            ca_private_key_pem=self.ca_key_pem,
            validity_period_hours=profile.validity_hours,
            early_renewal_hours=profile.early_renewal_hours,
            allowed_uses=list(profile.allowed_uses),
            set_subject_key_id=True,
            opts=child,
        )
        return ClientCert(
            profile=profile,
            cert_pem=pulumi.Output.secret(cert.cert_pem),
            key_pem=pulumi.Output.secret(key.private_key_pem),
            sha256=cert.cert_pem.apply(sha256_fingerprint),
            not_after=cert.validity_end_time,
            issued_at=cert.validity_start_time,
        )
