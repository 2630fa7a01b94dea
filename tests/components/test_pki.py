import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from offline.runner import fake_ca
from pki.issuer import sha256_fingerprint
from tests.components.program import bundle, children_of, one, planned, run
from tests.components.test_settings import stack_file_config

LSC = "tls:index/locallySignedCert:LocallySignedCert"


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("role", ["ingestion", "api"])
def test_client_certificates_chain_to_the_shared_ca_with_the_production_profile(stack: str, role: str) -> None:
    result = planned(stack)
    material = bundle(result, role)
    ca = x509.load_pem_x509_certificate(material["ca"].encode())
    cert = x509.load_pem_x509_certificate(material["cert"].encode())
    assert ca == x509.load_pem_x509_certificate(fake_ca().cert_pem.encode())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"prices-{role}-{stack}"
    assert cert.subject.rfc4514_string() == f"CN=prices-{role}-{stack}"  # CN only: the edge maps the exact subject
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(hours=8760)
    signed = one(result, LSC, f"prices-{role}-{stack}-cert")
    assert signed.inputs["earlyRenewalHours"] == 720
    assert result.outputs["client_cert_sha256"][role] == sha256_fingerprint(material["cert"])


def test_not_after_and_fingerprints_are_plain_outputs_pems_are_secret() -> None:
    result = planned("dev")
    assert "client_cert_not_after" not in result.secret_outputs
    assert "client_cert_sha256" not in result.secret_outputs
    assert "client_cert_pems" in result.secret_outputs
    assert set(result.outputs["client_cert_not_after"]) == {"ingestion", "api"}
    for value in result.outputs["client_cert_not_after"].values():
        assert dt.datetime.fromisoformat(value.replace("Z", "+00:00")) > dt.datetime.now(dt.UTC)


def test_every_pki_resource_hangs_under_the_component() -> None:
    result = planned("dev")
    pki = one(result, "prices:pki:Pki", "pki")
    types = sorted(r.type for r in children_of(result, pki))
    assert types.count("tls:index/privateKey:PrivateKey") == 2
    assert types.count(LSC) == 2
    assert types.count("time:index/rotating:Rotating") == 2
    assert pki.registered_outputs is not None and "pins" in pki.registered_outputs


def test_rotation_triggers_rotating_resource_and_key_replacement() -> None:
    result = planned("dev")
    rotating = one(result, "time:index/rotating:Rotating", "prices-api-dev-rotation")
    assert rotating.inputs["rotationHours"] == 8760 - 720
    assert rotating.inputs["triggers"] == {"generation": "1"}
    key = one(result, "tls:index/privateKey:PrivateKey", "prices-api-dev-key")
    assert key.replacement_trigger == rotating.outputs["rfc3339"]

    bumped = run("dev", config_overrides={"pki": {**_pki("dev"), "rotationGeneration": 2}})
    assert one(bumped, "time:index/rotating:Rotating", "prices-api-dev-rotation").inputs["triggers"] == {
        "generation": "2"
    }


def test_bootstrap_creates_a_protected_ca_that_signs_the_client_certificates() -> None:
    result = run(
        "dev",
        config_overrides={"pki": {**_pki("dev"), "bootstrapCa": True}, "caCertPem": None, "caKeyPem": None},
    )
    ca_key = one(result, "tls:index/privateKey:PrivateKey", "pki-ca-key")
    ca_cert = one(result, "tls:index/selfSignedCert:SelfSignedCert", "pki-ca-cert")
    assert ca_key.protect and ca_cert.protect
    assert ca_cert.inputs["isCaCertificate"] is True
    ca = x509.load_pem_x509_certificate(ca_cert.outputs["certPem"].encode())
    cert = x509.load_pem_x509_certificate(bundle(result, "ingestion")["cert"].encode())
    cert.verify_directly_issued_by(ca)
    assert ca != x509.load_pem_x509_certificate(fake_ca().cert_pem.encode())


def test_imported_ca_mode_creates_no_ca_resources() -> None:
    result = planned("prod")
    assert not result.of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert len(result.of_type("tls:index/privateKey:PrivateKey")) == 2


def test_previous_certificate_is_pinned_for_the_grace_period_after_rotation() -> None:
    first = planned("prod")
    previous = {"client_cert_pins": first.outputs["client_cert_pins"]}
    rotated = run("prod", previous_outputs=previous)  # a new run issues new certificates (new keys)
    pins = rotated.outputs["client_cert_pins"]
    old_api = next(p for p in first.outputs["client_cert_pins"] if p["role"] == "api")
    new_api = next(p for p in pins if p["role"] == "api" and p["state"] == "current")
    kept = next(p for p in pins if p["sha256"] == old_api["sha256"])
    assert kept["state"] == "previous"
    issued = int(
        dt.datetime.fromisoformat(
            one(rotated, LSC, "prices-api-prod-cert").outputs["validityStartTime"].replace("Z", "+00:00")
        ).timestamp()
    )
    assert kept["accept_until_unix"] == issued + 72 * 3600
    assert new_api["sha256"] != old_api["sha256"]
    # ...and the edge config pushed in that run carries both pins.
    site = one(rotated, "command:remote:Command", "edge-push-site").inputs["stdin"]
    assert old_api["sha256"] in site and new_api["sha256"] in site


def _pki(stack: str) -> dict[str, object]:
    raw, _ = stack_file_config(stack)
    return dict(raw["pki"])
