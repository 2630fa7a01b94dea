"""The offline mocks behave like the providers where the tests rely on them: real crypto, real-looking ids."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_hcloud as hcloud
import pulumi_random as random
import pulumi_tls as tls
import pulumiverse_time as time
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from offline.mocks import RecordedResource
from tests.conftest import MockRuntime

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 1, 15, 12, 0, 0, tzinfo=dt.UTC)


def by_name(resources: list[RecordedResource], name: str) -> RecordedResource:
    matches = [r for r in resources if r.name == name]
    assert len(matches) == 1, [r.name for r in resources]
    return matches[0]


class TinyPki(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("prices:test:TinyPki", name, None, None)
        child = pulumi.ResourceOptions(parent=self)
        ca_key = tls.PrivateKey(
            "ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=pulumi.ResourceOptions(parent=self, protect=True)
        )
        self.ca = tls.SelfSignedCert(
            "ca",
            private_key_pem=ca_key.private_key_pem,
            subject={"common_name": "test-ca", "organization": "Stellar Prices API"},
            validity_period_hours=87600,
            is_ca_certificate=True,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=child,
        )
        leaf_key = tls.PrivateKey("leaf-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        csr = tls.CertRequest(
            "leaf-csr", private_key_pem=leaf_key.private_key_pem, subject={"common_name": "prices-api-dev"}, opts=child
        )
        rotation = time.Rotating("leaf-rotation", rotation_hours=8040, opts=child)
        self.leaf = tls.LocallySignedCert(
            "leaf",
            cert_request_pem=csr.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=self.ca.cert_pem,
            validity_period_hours=8760,
            early_renewal_hours=720,
            allowed_uses=["digital_signature", "client_auth"],
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=rotation.rotation_rfc3339),
        )
        self.register_outputs({"leaf_cert_pem": self.leaf.cert_pem})


@pytest.fixture
def fixed_now(mock_runtime: MockRuntime) -> Any:
    mock_runtime.mocks.set_now(NOW)
    yield NOW
    mock_runtime.mocks.set_now(None)


def test_tls_mocks_issue_a_real_client_cert_chain_with_the_requested_profile(
    mock_runtime: MockRuntime, fixed_now: dt.datetime
) -> None:
    checked: list[bool] = []

    def program() -> Any:
        pki = TinyPki("pki")

        def check(pems: list[str]) -> None:
            ca = x509.load_pem_x509_certificate(pems[0].encode())
            leaf = x509.load_pem_x509_certificate(pems[1].encode())
            leaf.verify_directly_issued_by(ca)  # raises if the signature or issuer does not match
            assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "prices-api-dev"
            eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
            key = leaf.public_key()
            assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
            assert leaf.not_valid_before_utc == NOW
            assert leaf.not_valid_after_utc == NOW + dt.timedelta(hours=8760)
            assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
            assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
            checked.append(True)

        return pulumi.Output.all(pki.ca.cert_pem, pki.leaf.cert_pem).apply(check)

    resources = mock_runtime.collect(program)
    assert checked == [True]
    leaf = by_name(resources, "leaf")
    assert leaf.outputs["validityStartTime"] == "2026-01-15T12:00:00Z"
    assert leaf.outputs["validityEndTime"] == "2027-01-15T12:00:00Z"
    assert leaf.outputs["readyForRenewal"] is False
    rotate_at = (NOW + dt.timedelta(hours=8040)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rotate_at == "2026-12-16T12:00:00Z"
    assert leaf.replacement_trigger == rotate_at  # from the Rotating resource, through the resource option
    rotation = by_name(resources, "leaf-rotation")
    assert rotation.outputs["rotationRfc3339"] == rotate_at
    assert rotation.outputs["unix"] == int(NOW.timestamp())
    assert rotation.outputs["year"] == 2026


def test_recorder_keeps_parents_protect_and_secret_outputs(mock_runtime: MockRuntime) -> None:
    resources = mock_runtime.collect(lambda: TinyPki("pki"))
    component = by_name(resources, "pki")
    assert component.custom is False and component.type == "prices:test:TinyPki"
    assert (
        component.registered_outputs is not None
        and "BEGIN CERTIFICATE" in component.registered_outputs["leaf_cert_pem"]
    )
    ca_key = by_name(resources, "ca-key")
    assert ca_key.parent == component.urn
    assert ca_key.urn.endswith("::prices:test:TinyPki$tls:index/privateKey:PrivateKey::ca-key")
    assert ca_key.protect is True and by_name(resources, "leaf-key").protect is False
    assert "privateKeyPem" in ca_key.additional_secret_outputs
    assert ca_key.outputs["privateKeyPem"] in ca_key.secret_values()
    leaf = by_name(resources, "leaf")
    # The secret key went in as a secret input: recorded unwrapped, path remembered.
    assert "caPrivateKeyPem" in leaf.secret_input_paths
    assert leaf.inputs["caPrivateKeyPem"].startswith("-----BEGIN EC PRIVATE KEY-----")
    assert "caPrivateKeyPem" in leaf.property_dependencies
    assert ca_key.urn in leaf.property_dependencies["caPrivateKeyPem"]


def test_secret_inputs_come_back_as_secret_outputs(mock_runtime: MockRuntime) -> None:
    seen: dict[str, bool] = {}

    def program() -> Any:
        secret = aws.secretsmanager.Secret("s", name="prices/test/thing")
        version = aws.secretsmanager.SecretVersion(
            "v", secret_id=secret.id, secret_string=pulumi.Output.secret("hunter2-but-longer")
        )
        topic = aws.sns.Topic("t")

        async def record() -> None:
            seen["secret_string"] = await version.secret_string.is_secret()  # type: ignore[union-attr]
            seen["topic_arn"] = await topic.arn.is_secret()

        return pulumi.Output.from_input(record())

    resources = mock_runtime.collect(program)
    assert seen == {"secret_string": True, "topic_arn": False}
    assert by_name(resources, "v").secret_input_paths == {"secretString"}


def test_aws_and_hcloud_ids_and_arns_look_real(mock_runtime: MockRuntime) -> None:
    def program() -> None:
        aws.sns.Topic("alerts")
        aws.sqs.Queue("ingest")
        aws.secretsmanager.Secret("mtls", name="prices/dev/clickhouse-mtls-api")
        role = aws.iam.Role("fn-role", assume_role_policy="{}")
        fn = aws.lambda_.Function(
            "api",
            role=role.arn,
            runtime="python3.12",
            handler="h.h",
            code=pulumi.AssetArchive({"h.py": pulumi.StringAsset("x")}),
        )
        aws.cloudwatch.LogGroup("logs", name=fn.name.apply(lambda n: f"/aws/lambda/{n}"), retention_in_days=14)
        aws.cloudwatch.MetricAlarm(
            "errors", comparison_operator="GreaterThanThreshold", evaluation_periods=1, metric_name="Errors"
        )
        aws.budgets.Budget("budget", budget_type="COST", limit_amount="60", limit_unit="USD", time_unit="MONTHLY")
        hcloud.Firewall("fw", rules=[])

    resources = mock_runtime.collect(program)
    acct = r"arn:aws:%s:eu-central-1:123456789012:"
    topic = by_name(resources, "alerts").outputs
    assert re.fullmatch(acct % "sns" + r"alerts-[0-9a-f]{7}", topic["arn"])
    queue = by_name(resources, "ingest")
    assert queue.id == f"https://sqs.eu-central-1.amazonaws.com/123456789012/{queue.outputs['name']}"
    assert queue.outputs["arn"] == f"arn:aws:sqs:eu-central-1:123456789012:{queue.outputs['name']}"
    assert re.fullmatch(
        acct % "secretsmanager" + r"secret:prices/dev/clickhouse-mtls-api-[A-Za-z0-9]{6}",
        by_name(resources, "mtls").outputs["arn"],
    )
    assert re.fullmatch(
        r"arn:aws:iam::123456789012:role/fn-role-[0-9a-f]{7}", by_name(resources, "fn-role").outputs["arn"]
    )
    fn = by_name(resources, "api").outputs
    assert fn["arn"] == f"arn:aws:lambda:eu-central-1:123456789012:function:{fn['name']}"
    assert fn["invokeArn"] == (
        f"arn:aws:apigateway:eu-central-1:lambda:path/2015-03-31/functions/{fn['arn']}/invocations"
    )
    logs = by_name(resources, "logs")
    assert logs.inputs["name"] == f"/aws/lambda/{fn['name']}"
    assert logs.outputs["arn"] == f"arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/{fn['name']}"
    assert re.fullmatch(acct % "cloudwatch" + r"alarm:errors-[0-9a-f]{7}", by_name(resources, "errors").outputs["arn"])
    assert re.fullmatch(r"123456789012:budget-[0-9a-f]{7}", str(by_name(resources, "budget").id))
    assert re.fullmatch(r"\d{8}", str(by_name(resources, "fw").id))


def test_random_password_respects_length_and_special(mock_runtime: MockRuntime) -> None:
    resources = mock_runtime.collect(
        lambda: [
            random.RandomPassword("plain", length=40, special=False),
            random.RandomPassword("special", length=12, special=True, override_special="!#", min_special=3),
        ]
    )
    plain = by_name(resources, "plain").outputs["result"]
    assert len(plain) == 40 and plain.isalnum()
    special = by_name(resources, "special").outputs["result"]
    assert len(special) == 12 and sum(c in "!#" for c in special) >= 3
    assert set(special) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#")
    assert "result" in by_name(resources, "plain").additional_secret_outputs


def test_stack_reference_serves_the_given_previous_outputs(mock_runtime: MockRuntime) -> None:
    pins = [{"role": "api", "sha256": "ab" * 32, "accept_until_unix": 1_900_000_000}]
    got: dict[str, Any] = {}

    def program() -> Any:
        ref = pulumi.StackReference("self", stack_name="organization/prices-api/dev")
        return pulumi.Output.all(ref.get_output("client_cert_pins"), ref.get_output("missing")).apply(
            lambda values: got.update(pins=values[0], missing=values[1])
        )

    resources = mock_runtime.collect(program, stack_outputs={"client_cert_pins": pins})
    assert got == {"pins": pins, "missing": None}
    ref = by_name(resources, "self")
    assert ref.type == "pulumi:pulumi:StackReference" and ref.read is True
    mock_runtime.collect(program)  # first deploy: no outputs at all
    assert got == {"pins": None, "missing": None}


def test_policy_document_call_renders_real_iam_json(mock_runtime: MockRuntime) -> None:
    rendered: list[dict[str, Any]] = []

    def program() -> Any:
        doc = aws.iam.get_policy_document_output(
            statements=[
                {"sid": "Read", "actions": ["secretsmanager:GetSecretValue"], "resources": ["arn:aws:x"]},
                {
                    "actions": ["sts:AssumeRole"],
                    "principals": [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
                    "conditions": [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["1"]}],
                },
            ]
        )
        return doc.json.apply(lambda text: rendered.append(json.loads(text)))

    mock_runtime.collect(program)
    assert rendered == [
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Read", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws:x"},
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Condition": {"StringEquals": {"aws:SourceAccount": "1"}},
                },
            ],
        }
    ]


def test_unknown_provider_calls_fail_loudly(mock_runtime: MockRuntime) -> None:
    def program() -> Any:
        return aws.ec2.get_ami_output(most_recent=True, owners=["amazon"])

    with pytest.raises(Exception, match=r"no handler for provider call 'aws:ec2/getAmi:getAmi'"):
        mock_runtime.collect(program)
