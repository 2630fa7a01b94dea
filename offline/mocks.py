"""Mocks for the Pulumi runtime that behave like the providers where tests need them to.

`PricesMocks` answers resource registrations and provider calls: inputs are echoed into outputs
(secretness kept), AWS resources get realistic ids and ARNs, tls resources get REAL keys and
certificates (so tests can verify chains, CNs, EKUs and dates), and `getPolicyDocument` renders real
IAM JSON so policies can be checked. `RecordingMonitor` records every registration (urn, type, parent,
protect, inputs, outputs, secrets, dependencies) for the plan CLI and the policy rules.

Pitfalls handled here (see docs/platform-notes.md §2): inputs are camelCase; secret inputs arrive wrapped
as `{"4dabf1…": "1b4706…", "value": …}`; `set_mocks` is process-global, so install once (`install`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import string
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.protobuf import empty_pb2, json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, _resolve_callbacks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from pki import issuer

REGION = "eu-central-1"
ACCOUNT_ID = "123456789012"

SECRET_SIG_KEY = rpc._special_sig_key
SECRET_SIG = rpc._special_secret_sig

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"


# ---------------------------------------------------------------------------------------------------------
# Secret wrapping helpers
# ---------------------------------------------------------------------------------------------------------


def is_wrapped_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def wrap_secret(value: Any) -> dict[str, Any]:
    return value if is_wrapped_secret(value) else {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def unwrap_secrets(value: Any, path: str = "", secret_paths: set[str] | None = None) -> Any:
    """Return `value` with every wrapped secret replaced by its plain value; collect the secret paths."""
    if is_wrapped_secret(value):
        if secret_paths is not None:
            secret_paths.add(path)
        return unwrap_secrets(value["value"], path, None)
    if isinstance(value, dict):
        return {k: unwrap_secrets(v, f"{path}.{k}" if path else str(k), secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v, f"{path}[{i}]", secret_paths) for i, v in enumerate(value)]
    return value


def string_leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from string_leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from string_leaves(v)


def _value_at(value: Any, path: str) -> Any:
    """Follow a path produced by `unwrap_secrets` ("a.b[0].c") into a plain value."""
    if not path:
        return value
    current = value
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part[1:-1])
            current = current[index] if isinstance(current, list) and index < len(current) else None
        else:
            current = current.get(part) if isinstance(current, dict) else None
    return current


# ---------------------------------------------------------------------------------------------------------
# What gets recorded
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RecordedResource:
    """One resource registration as the engine would have seen it (inputs and outputs plain, secrets noted)."""

    urn: str
    type: str
    name: str
    parent: str | None = None
    custom: bool = True
    protect: bool = False
    id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_input_paths: set[str] = field(default_factory=set)
    additional_secret_outputs: list[str] = field(default_factory=list)
    replacement_trigger: Any = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    registered_outputs: dict[str, Any] | None = None  # component outputs from register_outputs
    read: bool = False  # registered through ReadResource (e.g. a StackReference)

    def secret_values(self) -> list[str]:
        """Every string that was secret on this resource: secret inputs and secret outputs."""
        values: list[str] = []
        for path in self.secret_input_paths:
            values.extend(string_leaves(_value_at(self.inputs, path)))
        for key in self.additional_secret_outputs:
            values.extend(string_leaves(self.outputs.get(key)))
        return values

    def input_is_secret(self, path: str) -> bool:
        return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in self.secret_input_paths)


def resource_urn(stack: str, project: str, type_: str, name: str, parent_type: str | None = None) -> str:
    qualified = type_ if not parent_type or parent_type == STACK_TYPE else f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


# ---------------------------------------------------------------------------------------------------------
# The mocks
# ---------------------------------------------------------------------------------------------------------


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_rfc3339(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _digest(*parts: object) -> str:
    # The stack is part of every seed: dev and prod get different (but run-to-run stable) ids.
    seed = "\x1f".join([pulumi.get_stack(), *(str(p) for p in parts)])
    return hashlib.sha256(seed.encode()).hexdigest()


def _det_chars(seed: str, alphabet: str, length: int) -> str:
    """Deterministic pseudo-random characters (no `random`: ids must be stable across plan runs)."""
    out: list[str] = []
    seed = f"{pulumi.get_stack()}:{seed}"
    counter = 0
    while len(out) < length:
        block = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in block)
        counter += 1
    return "".join(out[:length])


# Resource types whose physical name the provider auto-generates from the logical name when not given.
_AUTONAMED = {
    "aws:sns/topic:Topic": 256,
    "aws:sqs/queue:Queue": 80,
    "aws:iam/role:Role": 64,
    "aws:iam/policy:Policy": 128,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:lambda/function:Function": 64,
    "aws:secretsmanager/secret:Secret": 512,
    "aws:cloudwatch/logGroup:LogGroup": 512,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 255,
    "aws:budgets/budget:Budget": 100,
    "aws:apigatewayv2/api:Api": 128,
    "aws:apigateway/restApi:RestApi": 128,
    "aws:cloudwatch/eventRule:EventRule": 64,
}

_EKU_BY_USE = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}

_NAME_ATTRS = {
    "commonName": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME,
    "locality": NameOID.LOCALITY_NAME,
    "streetAddresses": NameOID.STREET_ADDRESS,
    "postalCode": NameOID.POSTAL_CODE,
    "serialNumber": NameOID.SERIAL_NUMBER,
}


class MockError(Exception):
    """A resource or call the offline mocks cannot answer honestly."""


class PricesMocks(pulumi.runtime.Mocks):
    """Provider stand-ins for the prices-api program. `now` is injectable so dates are deterministic."""

    def __init__(
        self,
        *,
        now: dt.datetime | Callable[[], dt.datetime] | None = None,
        stack_outputs: Mapping[str, Any] | None = None,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.stack_outputs: dict[str, Any] = dict(stack_outputs or {})
        self._now = now
        self.calls: list[tuple[str, dict[str, Any]]] = []

    # -- time ---------------------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        if self._now is None:
            return _utc_now()
        if isinstance(self._now, dt.datetime):
            return self._now.astimezone(dt.UTC)
        return self._now().astimezone(dt.UTC)

    def set_now(self, now: dt.datetime | Callable[[], dt.datetime] | None) -> None:
        self._now = now

    # -- pulumi.runtime.Mocks -----------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = unwrap_secrets(args.inputs)
        handler = self._handlers().get(args.typ)
        echoed: dict[str, Any] = dict(args.inputs)  # wrapped secrets stay wrapped: secret in, secret out
        if handler is not None:
            resource_id, computed = handler(args, inputs)
        elif args.typ.startswith("pulumi:providers:"):
            resource_id, computed = f"{args.name}-{_digest(args.typ, args.name)[:8]}", {}
        elif args.typ.startswith("aws:"):
            resource_id, computed = self._aws_generic(args, inputs)
        elif args.typ == "hcloud:index/server:Server":
            resource_id, computed = self._hcloud_id(args), self._hcloud_server(args)
        elif args.typ.startswith("hcloud:"):
            resource_id, computed = self._hcloud_id(args), {}
        else:
            resource_id, computed = f"{args.name}-{_digest(args.typ, args.name)[:8]}", {}
        echoed.update(computed)
        return resource_id, echoed

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        # The stock MockMonitor iterates the failures: return [] (not None) for "no failures".
        plain = unwrap_secrets(args.args)
        self.calls.append((args.token, plain))
        handler = self._call_handlers().get(args.token)
        if handler is not None:
            return handler(plain), []
        raise MockError(f"offline mocks have no handler for provider call {args.token!r}; add one to offline/mocks.py")

    # -- dispatch -----------------------------------------------------------------------------------------

    def _call_handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        region = {
            "name": self.region,
            "region": self.region,
            "id": self.region,
            "endpoint": f"ec2.{self.region}.amazonaws.com",
            "description": "Europe (Frankfurt)",
        }
        identity = {
            "accountId": self.account_id,
            "arn": f"arn:aws:iam::{self.account_id}:user/offline-mock",
            "userId": "AIDAOFFLINEMOCK000000",
            "id": self.account_id,
        }
        return {
            "aws:index/getCallerIdentity:getCallerIdentity": lambda _: dict(identity),
            "aws:index/getRegion:getRegion": lambda _: dict(region),
            "getRegion": lambda _: dict(region),
            "aws:index/getPartition:getPartition": lambda _: {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
            },
            "aws:iam/getPolicyDocument:getPolicyDocument": render_policy_document,
        }

    def _handlers(
        self,
    ) -> dict[str, Callable[[MockResourceArgs, dict[str, Any]], tuple[str | None, dict[str, Any]]]]:
        return {
            "tls:index/privateKey:PrivateKey": self._tls_private_key,
            "tls:index/selfSignedCert:SelfSignedCert": self._tls_self_signed,
            "tls:index/certRequest:CertRequest": self._tls_cert_request,
            "tls:index/locallySignedCert:LocallySignedCert": self._tls_locally_signed,
            "random:index/randomPassword:RandomPassword": self._random_password,
            "random:index/randomString:RandomString": self._random_password,
            "random:index/randomId:RandomId": self._random_id,
            "random:index/randomUuid:RandomUuid": self._random_uuid,
            "time:index/rotating:Rotating": self._time_rotating,
            "time:index/static:Static": self._time_static,
            "command:remote:Command": self._command,
            "command:local:Command": self._command,
            "command:remote:CopyToRemote": self._copy_to_remote,
            STACK_REFERENCE_TYPE: self._stack_reference,
        }

    # -- pulumi -------------------------------------------------------------------------------------------

    def _stack_reference(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        name = inputs.get("name") or args.resource_id or args.name
        return name, {"name": name, "outputs": dict(self.stack_outputs), "secretOutputNames": []}

    # -- aws ----------------------------------------------------------------------------------------------

    def _physical_name(self, args: MockResourceArgs, inputs: dict[str, Any]) -> str:
        for key in ("name", "functionName", "dashboardName", "alarmName", "queueName"):
            value = inputs.get(key)
            if isinstance(value, str) and value:
                return value
        prefix = inputs.get("namePrefix")
        if isinstance(prefix, str) and prefix:
            return prefix + _det_chars(args.typ + args.name, "0123456789", 26)
        limit = _AUTONAMED.get(args.typ, 64)
        suffix = _digest(args.typ, args.name)[:7]
        base = args.name[: max(1, limit - 8)]
        name = f"{base}-{suffix}"
        if args.typ == "aws:sqs/queue:Queue" and inputs.get("fifoQueue"):
            name = name[: limit - 5] + ".fifo"
        return name

    def _arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id if account else ''}:{resource}"

    def _aws_generic(  # noqa: PLR0912, PLR0915 (one table of per-type ids and ARNs reads best flat)
        self, args: MockResourceArgs, inputs: dict[str, Any]
    ) -> tuple[str | None, dict]:
        typ = args.typ
        module = typ.split(":")[1].split("/")[0]
        name = self._physical_name(args, inputs)
        out: dict[str, Any] = {}
        rid: str = name
        if typ in _AUTONAMED:
            out["name"] = name
        if typ == "aws:sns/topic:Topic":
            arn = self._arn("sns", name)
            rid, out = arn, {**out, "arn": arn}
        elif typ == "aws:sns/topicSubscription:TopicSubscription":
            arn = f"{inputs.get('topic') or inputs.get('topicArn')}:{uuid.UUID(_digest(typ, args.name)[:32])}"
            rid, out = arn, {"arn": arn, "ownerId": self.account_id, "pendingConfirmation": False}
        elif typ == "aws:sqs/queue:Queue":
            url = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
            rid, out = url, {**out, "url": url, "arn": self._arn("sqs", name)}
        elif typ == "aws:secretsmanager/secret:Secret":
            suffix = _det_chars(typ + args.name, string.ascii_letters + string.digits, 6)
            arn = self._arn("secretsmanager", f"secret:{name}-{suffix}")
            rid, out = arn, {**out, "arn": arn}
        elif typ == "aws:secretsmanager/secretVersion:SecretVersion":
            version = str(uuid.UUID(_digest(typ, args.name)[:32]))
            secret_id = inputs.get("secretId", "")
            rid, out = (
                f"{secret_id}|{version}",
                {"versionId": version, "arn": secret_id, "versionStages": ["AWSCURRENT"]},
            )
        elif typ == "aws:budgets/budget:Budget":
            rid = f"{self.account_id}:{name}"
            out = {**out, "arn": f"arn:aws:budgets::{self.account_id}:budget/{name}", "accountId": self.account_id}
        elif typ == "aws:iam/role:Role":
            path = inputs.get("path") or "/"
            out = {
                **out,
                "arn": f"arn:aws:iam::{self.account_id}:role{path}{name}",
                "uniqueId": "AROA" + _det_chars(typ + args.name, string.ascii_uppercase + string.digits, 17),
                "path": path,
            }
        elif typ == "aws:iam/policy:Policy":
            path = inputs.get("path") or "/"
            arn = f"arn:aws:iam::{self.account_id}:policy{path}{name}"
            rid, out = (
                arn,
                {
                    **out,
                    "arn": arn,
                    "policyId": "ANPA" + _det_chars(typ + args.name, string.ascii_uppercase + string.digits, 17),
                },
            )
        elif typ == "aws:iam/accessKey:AccessKey":
            # A key-shaped id and a deterministic fake secret: never a real credential.
            rid = "AKIA" + _det_chars(typ + args.name, string.ascii_uppercase + string.digits, 16)
            out = {**out, "secret": _det_chars(typ + args.name + "secret", string.ascii_letters + string.digits, 40)}
        elif typ == "aws:iam/rolePolicy:RolePolicy":
            rid = f"{inputs.get('role')}:{name}"
        elif typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            rid = f"{inputs.get('role')}-{_digest(typ, args.name)[:26]}"
        elif typ == "aws:lambda/function:Function":
            arn = self._arn("lambda", f"function:{name}")
            out = {
                **out,
                "arn": arn,
                "qualifiedArn": f"{arn}:$LATEST",
                "invokeArn": f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                "qualifiedInvokeArn": (
                    f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{arn}:$LATEST/invocations"
                ),
                "version": "$LATEST",
                "lastModified": rfc3339(self.now()),
                "sourceCodeHash": base64.b64encode(bytes.fromhex(_digest(typ, args.name))).decode(),
            }
        elif typ == "aws:lambda/permission:Permission":
            rid = inputs.get("statementId") or f"{args.name}-{_digest(typ, args.name)[:8]}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out = {**out, "arn": self._arn("logs", f"log-group:{name}")}
        elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            out = {**out, "arn": self._arn("cloudwatch", f"alarm:{name}")}
        elif typ == "aws:cloudwatch/dashboard:Dashboard":
            out = {"dashboardArn": f"arn:aws:cloudwatch::{self.account_id}:dashboard/{name}"}
        elif typ == "aws:apigatewayv2/api:Api":
            rid = _det_chars(typ + args.name, string.ascii_lowercase + string.digits, 10)
            out = {
                **out,
                "apiEndpoint": f"https://{rid}.execute-api.{self.region}.amazonaws.com",
                "executionArn": self._arn("execute-api", rid),
                "arn": f"arn:aws:apigateway:{self.region}::/apis/{rid}",
            }
        elif typ == "aws:apigateway/restApi:RestApi":
            rid = _det_chars(typ + args.name, string.ascii_lowercase + string.digits, 10)
            out = {
                **out,
                "rootResourceId": _det_chars(typ + args.name + "root", string.ascii_lowercase + string.digits, 10),
                "executionArn": self._arn("execute-api", rid),
                "arn": f"arn:aws:apigateway:{self.region}::/restapis/{rid}",
            }
        elif typ.startswith("aws:apigateway"):
            rid = _det_chars(typ + args.name, string.ascii_lowercase + string.digits, 7)
            if typ.endswith(":Stage"):
                api_id = inputs.get("apiId") or inputs.get("restApi") or "api"
                stage = inputs.get("name") or inputs.get("stageName") or "$default"
                out = {"invokeUrl": f"https://{api_id}.execute-api.{self.region}.amazonaws.com/{stage}"}
                rid = stage
        else:
            out.setdefault("arn", self._arn(module, f"{typ.rsplit(':', 1)[-1].lower()}/{name}"))
        return rid, out

    # -- hcloud -------------------------------------------------------------------------------------------

    def _hcloud_id(self, args: MockResourceArgs) -> str:
        return str(int(_digest(args.typ, args.name)[:12], 16) % 90_000_000 + 10_000_000)

    def _hcloud_server(self, args: MockResourceArgs) -> dict[str, Any]:
        # Documentation addresses (RFC 5737 / RFC 3849), stable per server name.
        n = int(_digest(args.typ, args.name)[:4], 16)
        return {"ipv4Address": f"203.0.113.{n % 254 + 1}", "ipv6Address": f"2001:db8::{n:x}", "status": "running"}

    # -- tls ----------------------------------------------------------------------------------------------

    def _tls_private_key(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        algorithm = str(inputs.get("algorithm", "RSA")).upper()
        curve = str(inputs.get("ecdsaCurve", "P224")).upper()
        key: Any
        if algorithm == "ECDSA" and curve == "P256":
            private_pem = issuer.new_private_key_pem()  # the shared issuer: same keys prod certs use
            key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        elif algorithm == "ECDSA":
            curves = {"P224": ec.SECP224R1(), "P384": ec.SECP384R1(), "P521": ec.SECP521R1()}
            if curve not in curves:
                raise MockError(f"tls PrivateKey {args.name}: unsupported ecdsaCurve {curve!r}")
            key = ec.generate_private_key(curves[curve])
        elif algorithm == "RSA":
            key = rsa.generate_private_key(public_exponent=65537, key_size=int(inputs.get("rsaBits", 2048)))
        elif algorithm == "ED25519":
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise MockError(f"tls PrivateKey {args.name}: unsupported algorithm {algorithm!r}")
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        if algorithm in {"ECDSA", "RSA"}:
            private_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            ).decode()
        else:
            private_pem = pkcs8
        public = key.public_key()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        openssh_pub = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        blob = base64.b64decode(openssh_pub.split()[1])
        sha = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
        openssh_priv = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        ).decode()
        rid = hashlib.sha1(public_pem.encode(), usedforsecurity=False).hexdigest()
        return rid, {
            "algorithm": algorithm,
            "ecdsaCurve": curve,
            "privateKeyPem": private_pem,
            "privateKeyPemPkcs8": pkcs8,
            "privateKeyOpenssh": openssh_priv,
            "publicKeyPem": public_pem,
            "publicKeyOpenssh": openssh_pub.decode() + "\n",
            "publicKeyFingerprintSha256": f"SHA256:{sha}",
            "publicKeyFingerprintMd5": ":".join(md5[i : i + 2] for i in range(0, len(md5), 2)),
        }

    def _validity(self, inputs: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
        start = self.now()
        hours = inputs.get("validityPeriodHours")
        if hours is None:
            raise MockError("tls certificate without validityPeriodHours (required by pulumi-tls)")
        return start, start + dt.timedelta(hours=int(hours))

    def _cert_outputs(self, cert_pem: str, start: dt.datetime, end: dt.datetime, inputs: dict) -> dict:
        early = int(inputs.get("earlyRenewalHours") or 0)
        return {
            "certPem": cert_pem,
            "validityStartTime": rfc3339(start),
            "validityEndTime": rfc3339(end),
            "readyForRenewal": self.now() >= end - dt.timedelta(hours=early),
            "isCaCertificate": bool(inputs.get("isCaCertificate", False)),
            "earlyRenewalHours": early,
            "setSubjectKeyId": bool(inputs.get("setSubjectKeyId", False)),
        }

    def _tls_self_signed(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        key = _load_key(inputs, "privateKeyPem", args.name)
        subject = x509_name(inputs.get("subject"))
        start, end = self._validity(inputs)
        cert = _build_certificate(
            subject=subject,
            public_key=key.public_key(),
            issuer_name=subject,
            issuer_key=key,
            start=start,
            end=end,
            allowed_uses=inputs.get("allowedUses") or [],
            is_ca=bool(inputs.get("isCaCertificate", False)),
            dns_names=inputs.get("dnsNames") or [],
            ip_addresses=inputs.get("ipAddresses") or [],
            subject_key_id=bool(inputs.get("setSubjectKeyId", False)),
        )
        return str(cert.serial_number), self._cert_outputs(
            cert.public_bytes(serialization.Encoding.PEM).decode(), start, end, inputs
        )

    def _tls_cert_request(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        key = _load_key(inputs, "privateKeyPem", args.name)
        builder = x509.CertificateSigningRequestBuilder().subject_name(x509_name(inputs.get("subject")))
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in inputs.get("dnsNames") or []]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        csr = builder.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        algorithm = "ECDSA" if isinstance(key, ec.EllipticCurvePrivateKey) else "RSA"
        return hashlib.sha1(pem.encode(), usedforsecurity=False).hexdigest(), {
            "certRequestPem": pem,
            "keyAlgorithm": algorithm,
        }

    def _tls_locally_signed(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        csr_pem = inputs.get("certRequestPem")
        ca_cert_pem = inputs.get("caCertPem")
        if not csr_pem or not ca_cert_pem:
            raise MockError(f"LocallySignedCert {args.name}: certRequestPem and caCertPem are required")
        csr = x509.load_pem_x509_csr(str(csr_pem).encode())
        if not csr.is_signature_valid:
            raise MockError(f"LocallySignedCert {args.name}: the CSR signature does not verify")
        ca_key = _load_key(inputs, "caPrivateKeyPem", args.name)
        ca_cert = x509.load_pem_x509_certificate(str(ca_cert_pem).encode())
        if ca_cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) != ca_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise MockError(f"LocallySignedCert {args.name}: caPrivateKeyPem does not match caCertPem")
        start, end = self._validity(inputs)
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns_names = san.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            dns_names = []
        cert = _build_certificate(
            subject=csr.subject,
            public_key=csr.public_key(),
            issuer_name=ca_cert.subject,
            issuer_key=ca_key,
            start=start,
            end=end,
            allowed_uses=inputs.get("allowedUses") or [],
            is_ca=bool(inputs.get("isCaCertificate", False)),
            dns_names=dns_names,
            ip_addresses=[],
            subject_key_id=bool(inputs.get("setSubjectKeyId", False)),
        )
        return str(cert.serial_number), self._cert_outputs(
            cert.public_bytes(serialization.Encoding.PEM).decode(), start, end, inputs
        )

    # -- random -------------------------------------------------------------------------------------------

    def _random_password(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        length = int(inputs.get("length", 16))
        classes: list[tuple[str, int]] = []
        if inputs.get("lower", True):
            classes.append((string.ascii_lowercase, int(inputs.get("minLower", 0))))
        if inputs.get("upper", True):
            classes.append((string.ascii_uppercase, int(inputs.get("minUpper", 0))))
        if inputs.get("numeric", inputs.get("number", True)):
            classes.append((string.digits, int(inputs.get("minNumeric", 0))))
        if inputs.get("special", True):
            special = inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
            classes.append((special, int(inputs.get("minSpecial", 0))))
        if not classes:
            raise MockError(f"{args.typ} {args.name}: no character classes enabled")
        seed = _digest(args.typ, args.name, self.now().isoformat(), uuid.uuid4())
        chars = [c for alphabet, minimum in classes for c in _det_chars(seed + alphabet, alphabet, minimum)]
        alphabet_all = "".join(a for a, _ in classes)
        chars += list(_det_chars(seed, alphabet_all, max(0, length - len(chars))))
        # Interleave deterministically so the minimums are not all at the front.
        order = sorted(range(len(chars)), key=lambda i: _digest(seed, i))
        result = "".join(chars[i] for i in order)[:length]
        out: dict[str, Any] = {"result": result}
        if args.typ.endswith("RandomPassword"):
            out["bcryptHash"] = "$2a$10$" + _det_chars(seed + "bcrypt", string.ascii_letters + string.digits + "./", 53)
        return "none", out

    def _random_id(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        raw = bytes.fromhex(_digest(args.typ, args.name, uuid.uuid4()))[: int(inputs.get("byteLength", 8))]
        prefix = inputs.get("prefix") or ""
        b64url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return b64url, {
            "hex": prefix + raw.hex(),
            "b64Url": prefix + b64url,
            "b64Std": prefix + base64.b64encode(raw).decode(),
            "dec": prefix + str(int.from_bytes(raw, "big")),
        }

    def _random_uuid(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        value = str(uuid.uuid4())
        return value, {"result": value}

    # -- time ---------------------------------------------------------------------------------------------

    def _time_fields(self, moment: dt.datetime) -> dict[str, Any]:
        return {
            "rfc3339": rfc3339(moment),
            "unix": int(moment.timestamp()),
            "year": moment.year,
            "month": moment.month,
            "day": moment.day,
            "hour": moment.hour,
            "minute": moment.minute,
            "second": moment.second,
        }

    def _time_static(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        base = _parse_rfc3339(inputs["rfc3339"]) if inputs.get("rfc3339") else self.now()
        fields = self._time_fields(base)
        return fields["rfc3339"], fields

    def _time_rotating(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        base = _parse_rfc3339(inputs["rfc3339"]) if inputs.get("rfc3339") else self.now()
        if inputs.get("rotationRfc3339"):
            rotation = _parse_rfc3339(inputs["rotationRfc3339"])
        else:
            rotation = _add_calendar(
                base,
                years=int(inputs.get("rotationYears") or 0),
                months=int(inputs.get("rotationMonths") or 0),
            ) + dt.timedelta(
                days=int(inputs.get("rotationDays") or 0),
                hours=int(inputs.get("rotationHours") or 0),
                minutes=int(inputs.get("rotationMinutes") or 0),
            )
            if rotation == base:
                raise MockError(f"time Rotating {args.name}: no rotation* input set (the provider requires one)")
        fields = self._time_fields(base)
        fields["rotationRfc3339"] = rfc3339(rotation)
        return fields["rfc3339"], fields

    # -- command ------------------------------------------------------------------------------------------

    def _command(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        return f"{args.name}-{_digest(args.typ, args.name)[:8]}", {"stdout": "", "stderr": ""}

    def _copy_to_remote(self, args: MockResourceArgs, inputs: dict[str, Any]) -> tuple[str | None, dict]:
        return f"{args.name}-{_digest(args.typ, args.name)[:8]}", {}


def _add_calendar(moment: dt.datetime, *, years: int, months: int) -> dt.datetime:
    total = moment.month - 1 + months + 12 * years
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
    return moment.replace(year=year, month=month, day=day)


def _load_key(inputs: dict[str, Any], key: str, name: str) -> Any:
    pem = inputs.get(key)
    if not pem:
        raise MockError(f"tls resource {name}: input {key} is missing")
    return serialization.load_pem_private_key(str(pem).encode(), password=None)


def x509_name(subject: Any) -> x509.Name:
    """pulumi-tls `subject` (an object, or a one-element list in older SDKs) → an X.509 name."""
    if isinstance(subject, list):
        subject = subject[0] if subject else {}
    subject = subject or {}
    attrs: list[x509.NameAttribute] = []
    for key in ("country", "province", "locality", "organization", "organizationalUnit", "commonName"):
        value = subject.get(key)
        if value:
            attrs.append(x509.NameAttribute(_NAME_ATTRS[key], str(value)))
    for street in subject.get("streetAddresses") or []:
        attrs.append(x509.NameAttribute(NameOID.STREET_ADDRESS, str(street)))
    if subject.get("serialNumber"):
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, str(subject["serialNumber"])))
    return x509.Name(attrs)


def _build_certificate(
    *,
    subject: x509.Name,
    public_key: Any,
    issuer_name: x509.Name,
    issuer_key: Any,
    start: dt.datetime,
    end: dt.datetime,
    allowed_uses: list[str],
    is_ca: bool,
    dns_names: list[str],
    ip_addresses: list[str],
    subject_key_id: bool,
) -> x509.Certificate:
    """Mirror pulumi-tls: key usage and EKU from `allowedUses`, basic constraints from `isCaCertificate`."""
    uses = set(allowed_uses)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if uses & {"digital_signature", "key_encipherment", "cert_signing", "crl_signing", "content_commitment"}:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature="digital_signature" in uses,
                content_commitment="content_commitment" in uses,
                key_encipherment="key_encipherment" in uses,
                data_encipherment="data_encipherment" in uses,
                key_agreement="key_agreement" in uses,
                key_cert_sign="cert_signing" in uses,
                crl_sign="crl_signing" in uses,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    ekus = [_EKU_BY_USE[u] for u in allowed_uses if u in _EKU_BY_USE]
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if subject_key_id or is_ca:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


# ---------------------------------------------------------------------------------------------------------
# aws.iam.get_policy_document
# ---------------------------------------------------------------------------------------------------------


def _one_or_list(values: list[Any]) -> Any:
    """The AWS provider renders single-element lists as scalars (as IAM itself accepts)."""
    return values[0] if len(values) == 1 else values


def _render_statement(st: Mapping[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    if st.get("sid"):
        rendered["Sid"] = st["sid"]
    rendered["Effect"] = st.get("effect") or "Allow"
    for key, out in (("actions", "Action"), ("notActions", "NotAction")):
        if st.get(key):
            rendered[out] = _one_or_list(sorted(st[key]))
    for key, out in (("resources", "Resource"), ("notResources", "NotResource")):
        if st.get(key):
            rendered[out] = _one_or_list(sorted(st[key]))
    for key, out in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if st.get(key):
            principal: dict[str, Any] = {}
            for p in st[key]:
                ids = list(p.get("identifiers") or [])
                if p.get("type") == "*" and ids == ["*"]:
                    principal = {"*": "*"}
                    break
                principal.setdefault(p["type"], []).extend(ids)
            rendered[out] = "*" if principal == {"*": "*"} else {k: _one_or_list(v) for k, v in principal.items()}
    if st.get("conditions"):
        conditions: dict[str, dict[str, Any]] = {}
        for c in st["conditions"]:
            conditions.setdefault(c["test"], {})[c["variable"]] = _one_or_list(list(c.get("values") or []))
        rendered["Condition"] = conditions
    return rendered


def render_policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    statements = [_render_statement(st) for st in args.get("statements") or []]
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = statements
    pretty = json.dumps(document, indent=2)
    return {
        "json": pretty,
        "minifiedJson": json.dumps(document, separators=(",", ":")),
        "id": str(int(_digest(pretty)[:8], 16)),
        "statements": args.get("statements") or [],
        "version": document["Version"],
    }


# ---------------------------------------------------------------------------------------------------------
# The recording monitor
# ---------------------------------------------------------------------------------------------------------


class RecordingMonitor(MockMonitor):
    """A MockMonitor that records every registration and honours secrets like the engine does.

    Differences from the stock MockMonitor, each one something the real engine does:
    - URNs of top-level resources do not carry the Stack type in their type chain;
    - `additionalSecretOutputs` are returned as secrets; secret inputs echoed back stay secret;
    - component outputs from `register_outputs` are kept.
    """

    def __init__(self, mocks: PricesMocks) -> None:
        super().__init__(mocks)
        self.prices_mocks = mocks
        self.recorded: list[RecordedResource] = []
        self._by_urn: dict[str, RecordedResource] = {}
        self._types_by_urn: dict[str, str] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.recorded.clear()
            self._by_urn.clear()
            self.prices_mocks.calls.clear()
            self.resources.clear()
            self._types_by_urn = {u: t for u, t in self._types_by_urn.items() if t == STACK_TYPE}

    def snapshot(self) -> list[RecordedResource]:
        with self._lock:
            return list(self.recorded)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        parent_type = None
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type.split("$")[-1] == STACK_TYPE:
                parent_type = None
        stack, project = pulumi.get_stack(), pulumi.get_project()
        return resource_urn(stack, project, type_, name, parent_type)

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            self._types_by_urn[urn] = request.type
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        wrapped_inputs = rpc.deserialize_properties(request.object)
        secret_paths: set[str] = set()
        plain_inputs = unwrap_secrets(wrapped_inputs, "", secret_paths)
        resource_args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=wrapped_inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=_resolve_callbacks(request.transforms),
        )
        resource_id, state = self.mocks.new_resource(resource_args)
        additional = list(request.additionalSecretOutputs)
        state = {k: (wrap_secret(v) if k in additional else v) for k, v in state.items()}
        obj_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        trigger = None
        if request.HasField("replacement_trigger"):
            trigger = unwrap_secrets(json_format.MessageToDict(request.replacement_trigger))
        self._record(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                protect=bool(request.protect),
                id=resource_id if request.custom else None,
                inputs=plain_inputs,
                outputs=unwrap_secrets(state) if request.custom else {},
                secret_input_paths=secret_paths,
                additional_secret_outputs=additional,
                replacement_trigger=trigger,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            )
        )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=obj_proto)

    def ReadResource(self, request: Any) -> Any:
        _ensure_event_loop()
        wrapped = rpc.deserialize_properties(request.properties)
        secret_paths: set[str] = set()
        plain = unwrap_secrets(wrapped, "", secret_paths)
        resource_args = MockResourceArgs(
            typ=request.type, name=request.name, inputs=wrapped, provider=request.provider, resource_id=request.id
        )
        resource_id, state = self.mocks.new_resource(resource_args)
        props_proto = _sync_await(rpc.serialize_properties(state, {}))
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        self._record(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=True,
                id=resource_id,
                inputs=plain,
                outputs=unwrap_secrets(state),
                secret_input_paths=secret_paths,
                additional_secret_outputs=list(request.additionalSecretOutputs),
                dependencies=list(request.dependencies),
                read=True,
            )
        )
        return resource_pb2.ReadResourceResponse(urn=urn, properties=props_proto)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        _ensure_event_loop()
        outputs = rpc.deserialize_properties(request.outputs) if request.outputs else {}
        with self._lock:
            recorded = self._by_urn.get(request.urn)
            if recorded is not None:
                secret_paths: set[str] = set()
                recorded.registered_outputs = unwrap_secrets(outputs, "", secret_paths)
                recorded.outputs = recorded.registered_outputs
                recorded.additional_secret_outputs = sorted({p.split(".")[0].split("[")[0] for p in secret_paths})
        return empty_pb2.Empty()

    def _record(self, resource: RecordedResource) -> None:
        with self._lock:
            self.recorded.append(resource)
            self._by_urn[resource.urn] = resource
