"""Stack policies as plain functions over recorded resources (and stack outputs).

Each rule returns a list of `Violation`s; an empty list means compliant. The same functions run offline
(`offline.plan`, the tests) and in CrossGuard (`policies/__main__.py`). docs/policies.md explains each
rule, its heuristics and the documented-exception mechanism for `Resource: "*"`.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from offline.mocks import RecordedResource

if TYPE_CHECKING:
    from offline.runner import PlanResult

NO_ACTION_WILDCARDS = "iam-no-action-wildcards"
RESOURCE_STAR_NEEDS_REASON = "iam-resource-star-needs-reason"
NO_SECRETS_IN_LAMBDA_ENV = "no-secrets-in-lambda-env"
NO_SECRETS_IN_PLAIN_OUTPUTS = "no-secrets-in-plain-outputs"
FIREWALL_INBOUND = "hcloud-firewall-inbound-443-and-admin-ssh"
CA_KEY_PROTECTED = "ca-private-key-protected"
LAMBDA_OBSERVABILITY = "lambda-logs-and-alarms"
APIGW_NO_ANY_METHOD = "apigateway-no-any-method"
APIGW_CACHE_KEYS_COMPLETE = "apigateway-cache-keys-complete"
LAMBDA_STANDARD_ALARMS = "lambda-standard-alarms"
SERVER_PUBLIC_443_ONLY = "hcloud-server-public-443-only"

ALL_POLICIES = (
    NO_ACTION_WILDCARDS,
    RESOURCE_STAR_NEEDS_REASON,
    NO_SECRETS_IN_LAMBDA_ENV,
    NO_SECRETS_IN_PLAIN_OUTPUTS,
    FIREWALL_INBOUND,
    CA_KEY_PROTECTED,
    LAMBDA_OBSERVABILITY,
    APIGW_NO_ANY_METHOD,
    APIGW_CACHE_KEYS_COMPLETE,
    LAMBDA_STANDARD_ALARMS,
    SERVER_PUBLIC_443_ONLY,
)

# Actions AWS only authorises on `Resource: "*"`, each with the condition key (if any) that must narrow it.
# A statement with Resource "*" is accepted only if its Sid starts with ANY_RESOURCE_SID_PREFIX and every
# action is listed here (with its condition present). See docs/policies.md.
ANY_RESOURCE_SID_PREFIX = "AnyResource"
ANY_RESOURCE_ACTIONS: dict[str, str | None] = {
    "xray:puttracesegments": None,
    "xray:puttelemetryrecords": None,
    "xray:getsamplingrules": None,
    "xray:getsamplingtargets": None,
    "xray:getsamplingstatisticsummaries": None,
    "cloudwatch:putmetricdata": "cloudwatch:namespace",
}

# Identity policies: both IAM rules apply. Resource policies: only the action-wildcard rule.
_IDENTITY_POLICY_TYPES = {
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
}
_RESOURCE_POLICY_TYPES = {
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:secretsmanager/secretPolicy:SecretPolicy",
    "aws:s3/bucketPolicy:BucketPolicy",
}
_ATTACHMENT_TYPES = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
}
# AWS-managed policies we cannot read but know to grant wildcards.
_BROAD_MANAGED_POLICY = re.compile(
    r"^arn:aws:iam::aws:policy/(.*/)?(AdministratorAccess|PowerUserAccess|\w*FullAccess)$"
)

LAMBDA_FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
HCLOUD_FIREWALL = "hcloud:index/firewall:Firewall"
HCLOUD_SERVER = "hcloud:index/server:Server"
HCLOUD_FIREWALL_ATTACHMENT = "hcloud:index/firewallAttachment:FirewallAttachment"
TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
TLS_SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
TLS_LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
APIGW_METHOD = "aws:apigateway/method:Method"
APIGW_INTEGRATION = "aws:apigateway/integration:Integration"

_SENSITIVE_KEY = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|PEM|CREDENTIAL", re.IGNORECASE)
_REFERENCE_KEY_SUFFIX = re.compile(r"(_ARN|_NAME|_ID|_PATH|_PARAMETER|_PARAM)$", re.IGNORECASE)
_REFERENCES_KEY_SUFFIX = re.compile(r"(_ARNS|_NAMES)$", re.IGNORECASE)
_NAME_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=@:-]{0,255}$")
_PATH_LIKE = re.compile(r"^/?[A-Za-z0-9_.+=@-]+(/[A-Za-z0-9_.+=@-]+)+$")
_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_\-.~]+$")
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.urn}: {self.message}"


# ---------------------------------------------------------------------------------------------------------
# IAM documents
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDocument:
    resource: RecordedResource
    where: str  # which input holds it
    document: Any  # parsed JSON, or the raw value if it did not parse
    identity: bool  # identity policy (Resource rules apply) vs resource/trust policy


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _parse(document: Any) -> Any:
    if isinstance(document, str):
        try:
            return json.loads(document)
        except json.JSONDecodeError:
            return document
    return document


def policy_documents(resources: Sequence[RecordedResource]) -> list[PolicyDocument]:
    docs: list[PolicyDocument] = []
    for r in resources:
        if r.type in _IDENTITY_POLICY_TYPES and r.inputs.get("policy") is not None:
            docs.append(PolicyDocument(r, "policy", _parse(r.inputs["policy"]), identity=True))
        elif r.type in _RESOURCE_POLICY_TYPES and r.inputs.get("policy") is not None:
            docs.append(PolicyDocument(r, "policy", _parse(r.inputs["policy"]), identity=False))
        elif r.type == "aws:iam/role:Role":
            if r.inputs.get("assumeRolePolicy") is not None:
                docs.append(PolicyDocument(r, "assumeRolePolicy", _parse(r.inputs["assumeRolePolicy"]), False))
            for i, inline in enumerate(_as_list(r.inputs.get("inlinePolicies"))):
                if isinstance(inline, Mapping) and inline.get("policy"):
                    docs.append(PolicyDocument(r, f"inlinePolicies[{i}]", _parse(inline["policy"]), True))
    return docs


def _statements(doc: PolicyDocument) -> list[Mapping[str, Any]] | None:
    if not isinstance(doc.document, Mapping):
        return None
    return [s for s in _as_list(doc.document.get("Statement")) if isinstance(s, Mapping)]


def _is_wildcard_action(action: str) -> bool:
    return "*" in action or "?" in action


def no_iam_action_wildcards(resources: Sequence[RecordedResource]) -> list[Violation]:
    """(a) No `*`, `svc:*` or partial `svc:Get*` actions in any Allow statement; no Allow + NotAction."""
    violations: list[Violation] = []
    for doc in policy_documents(resources):
        statements = _statements(doc)
        if statements is None:
            violations.append(
                Violation(NO_ACTION_WILDCARDS, doc.resource.urn, f"{doc.where} is not a JSON policy document")
            )
            continue
        for st in statements:
            if st.get("Effect", "Allow") != "Allow":
                continue  # a broad Deny narrows access; it cannot widen it
            sid = st.get("Sid", "<no Sid>")
            wild = [a for a in _as_list(st.get("Action")) if isinstance(a, str) and _is_wildcard_action(a)]
            if wild:
                violations.append(
                    Violation(
                        NO_ACTION_WILDCARDS,
                        doc.resource.urn,
                        f"{doc.where} statement {sid} allows wildcard action(s) {', '.join(wild)}",
                    )
                )
            if st.get("NotAction") is not None:
                violations.append(
                    Violation(
                        NO_ACTION_WILDCARDS,
                        doc.resource.urn,
                        f"{doc.where} statement {sid} uses Allow with NotAction (an implicit wildcard)",
                    )
                )
    policy_by_arn = {r.outputs.get("arn"): r for r in resources if r.type == "aws:iam/policy:Policy"}
    for r in resources:
        if r.type not in _ATTACHMENT_TYPES:
            continue
        arn = str(r.inputs.get("policyArn") or r.inputs.get("policy_arn") or "")
        if arn in policy_by_arn:
            continue  # a custom policy: its document was checked above, on the Policy itself
        if _BROAD_MANAGED_POLICY.match(arn):
            violations.append(
                Violation(NO_ACTION_WILDCARDS, r.urn, f"attaches AWS-managed {arn}, which grants wildcard actions")
            )
    return violations


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    condition = statement.get("Condition")
    if isinstance(condition, Mapping):
        for operator_block in condition.values():
            if isinstance(operator_block, Mapping):
                keys.update(str(k).lower() for k in operator_block)
    return keys


def resource_star_needs_reason(resources: Sequence[RecordedResource]) -> list[Violation]:
    """(b) `Resource: "*"` only in an `AnyResource…` statement whose actions AWS supports only on `*`."""
    violations: list[Violation] = []
    for doc in policy_documents(resources):
        if not doc.identity:
            continue
        for st in _statements(doc) or []:
            if st.get("Effect", "Allow") != "Allow":
                continue
            sid = str(st.get("Sid") or "")
            label = sid or "<no Sid>"
            if st.get("NotResource") is not None:
                violations.append(
                    Violation(
                        RESOURCE_STAR_NEEDS_REASON,
                        doc.resource.urn,
                        f"{doc.where} statement {label} uses Allow with NotResource (an implicit Resource *)",
                    )
                )
            if "*" not in _as_list(st.get("Resource")):
                continue
            problems: list[str] = []
            if not sid.startswith(ANY_RESOURCE_SID_PREFIX):
                problems.append(f"its Sid does not start with {ANY_RESOURCE_SID_PREFIX!r}")
            conditions = _condition_keys(st)
            for action in _as_list(st.get("Action")):
                key = str(action).lower()
                if key not in ANY_RESOURCE_ACTIONS:
                    problems.append(f"{action} is not an action AWS supports only on Resource *")
                elif (needed := ANY_RESOURCE_ACTIONS[key]) and needed not in conditions:
                    problems.append(f"{action} on Resource * needs a {needed} condition")
            if problems:
                violations.append(
                    Violation(
                        RESOURCE_STAR_NEEDS_REASON,
                        doc.resource.urn,
                        f"{doc.where} statement {label} has Resource *: " + "; ".join(problems),
                    )
                )
    return violations


# ---------------------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------------------


def _shannon_entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_like_token(value: str) -> bool:
    """A long, random-looking credential: one unbroken segment of >= 20 token characters, high entropy,
    at least two of lower/upper/digits. Hex-only strings (digests, fingerprints) and ARNs/URLs are not tokens."""
    if value.startswith("arn:") or "://" in value or not _TOKEN_CHARS.match(value):
        return False
    for segment in re.split(r"[-_.:]", value):
        if len(segment) < 20 or re.fullmatch(r"[0-9a-fA-F]+", segment):
            continue
        classes = sum(bool(re.search(p, segment)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
        if classes >= 2 and _shannon_entropy(segment) >= 3.5:
            return True
    return False


def _is_certificate(value: str) -> bool:
    return value.strip().startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in value


_DIGEST = re.compile(r"^(sha256:)?([0-9a-f]{40}|[0-9a-f]{64})$")


def known_secret_values(resources: Iterable[RecordedResource], extra: Iterable[str] = ()) -> set[str]:
    """Strings that were secret somewhere, minus what cannot leak anything: short values, certificates
    (public by construction, even when they travel next to their key in a secret bundle) and SHA-1/SHA-256
    hex digests (published on purpose as change triggers and pins; Pulumi marks a whole `triggers` list
    secret when one element is, so the digest next to a secret looks secret too), and IP addresses (a
    server's public address is in DNS; it turns secret only by travelling in an SSH `connection` that also
    carries the private key)."""
    values: set[str] = set(extra)
    for r in resources:
        values.update(r.secret_values())
    return {
        v
        for v in values
        if len(v) >= MIN_SECRET_LENGTH and not _is_certificate(v) and not _DIGEST.match(v) and not _is_ip(v)
    }


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_reference(key: str, value: str) -> bool:
    if value.startswith("arn:") or _PATH_LIKE.match(value):
        return True
    if _REFERENCES_KEY_SUFFIX.search(key):
        return _is_reference_collection(key[:-1], value)
    return bool(_REFERENCE_KEY_SUFFIX.search(key) and _NAME_LIKE.match(value) and not looks_like_token(value))


def _is_reference_collection(singular_key: str, value: str) -> bool:
    """`X_NAMES` / `X_ARNS` holding a JSON object or list whose every value is itself a reference,
    e.g. `MTLS_SECRET_NAMES={"api": "prices/dev/clickhouse-mtls-api", ...}`."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return False
    leaves = list(parsed.values()) if isinstance(parsed, dict) else parsed if isinstance(parsed, list) else []
    return bool(leaves) and all(isinstance(v, str) and _is_reference(singular_key, v) for v in leaves)


def no_secrets_in_lambda_env(
    resources: Sequence[RecordedResource], known_secrets: set[str] | None = None
) -> list[Violation]:
    """(c1) Lambda environment variables hold names and ARNs, never secret values."""
    secrets = known_secrets if known_secrets is not None else known_secret_values(resources)
    violations: list[Violation] = []
    for fn in resources:
        if fn.type != LAMBDA_FUNCTION:
            continue
        environment = fn.inputs.get("environment") or {}
        variables = environment.get("variables") or {} if isinstance(environment, Mapping) else {}
        for key, raw in variables.items():
            value = str(raw)
            reason = None
            if fn.input_is_secret(f"environment.variables.{key}"):
                reason = "its value is a Pulumi secret"
            elif _PEM_BLOCK.search(value):
                reason = "its value is a PEM block"
            elif value in secrets:
                reason = "its value is a secret elsewhere in the stack"
            elif _SENSITIVE_KEY.search(key) and not _is_reference(key, value):
                reason = "the name says it holds a credential and the value is not an ARN or a name"
            elif looks_like_token(value):
                reason = "its value looks like a high-entropy token"
            if reason:
                violations.append(Violation(NO_SECRETS_IN_LAMBDA_ENV, fn.urn, f"environment variable {key}: {reason}"))
    return violations


def _walk(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


def no_secrets_in_plain_outputs(
    outputs: Mapping[str, Any],
    secret_outputs: set[str],
    known_secrets: set[str],
    stack_urn: str = "stack",
) -> list[Violation]:
    """(c2) Stack outputs not marked secret carry no private keys, passwords or other secret values."""
    violations: list[Violation] = []
    for name, value in outputs.items():
        if name in secret_outputs:
            continue
        for path, leaf in _walk(value, name):
            if not isinstance(leaf, str):
                continue
            reason = None
            if "PRIVATE KEY-----" in leaf:
                reason = "holds a private key"
            elif leaf in known_secrets:
                reason = "holds a value that is secret elsewhere in the stack"
            elif any(len(s) >= 16 and s in leaf for s in known_secrets):
                reason = "embeds a value that is secret elsewhere in the stack"
            elif re.search(r"password|passwd|private_?key", path, re.IGNORECASE) and leaf:
                reason = "its name says it is a credential"
            if reason:
                violations.append(
                    Violation(NO_SECRETS_IN_PLAIN_OUTPUTS, stack_urn, f"output {path} is not secret but {reason}")
                )
    return violations


# ---------------------------------------------------------------------------------------------------------
# Hetzner firewall
# ---------------------------------------------------------------------------------------------------------

_ANYWHERE = {ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")}


def _networks(values: Iterable[Any]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(str(v), strict=False) for v in values]


def firewall_inbound_rules(resources: Sequence[RecordedResource], admin_cidrs: Sequence[str]) -> list[Violation]:
    """(d) Inbound: tcp 443 from anywhere, tcp 22 only from the admin CIDRs; no other inbound rule."""
    admins = _networks(admin_cidrs)
    violations: list[Violation] = []
    for fw in resources:
        if fw.type != HCLOUD_FIREWALL:
            continue
        for i, rule in enumerate(_as_list(fw.inputs.get("rules"))):
            if not isinstance(rule, Mapping) or rule.get("direction", "in") != "in":
                continue
            protocol = str(rule.get("protocol", "")).lower()
            port = str(rule.get("port", "")).strip()
            where = f"rule {i} ({protocol} {port or '<all ports>'})"
            try:
                sources = _networks(_as_list(rule.get("sourceIps")))
            except ValueError as exc:
                violations.append(Violation(FIREWALL_INBOUND, fw.urn, f"{where}: bad source address: {exc}"))
                continue
            if protocol == "tcp" and port == "443":
                continue
            if protocol == "tcp" and port == "22":
                if not admins:
                    violations.append(Violation(FIREWALL_INBOUND, fw.urn, f"{where}: no admin CIDRs are configured"))
                    continue
                outside = [
                    str(s)
                    for s in sources
                    if not any(s.version == a.version and s.subnet_of(a) for a in admins)  # type: ignore[arg-type]
                ]
                if outside or not sources:
                    violations.append(
                        Violation(
                            FIREWALL_INBOUND,
                            fw.urn,
                            f"{where}: ssh open to {', '.join(outside) or 'no listed source'}, "
                            f"outside the admin CIDRs {', '.join(admin_cidrs)}",
                        )
                    )
                continue
            anywhere = " from anywhere" if any(s in _ANYWHERE for s in sources) else ""
            violations.append(
                Violation(FIREWALL_INBOUND, fw.urn, f"{where}: inbound rule{anywhere} is not tcp 443 or admin ssh")
            )
    return violations


def _firewalls_of(server: RecordedResource, resources: Sequence[RecordedResource]) -> list[RecordedResource]:
    """Firewalls applied to `server`: named in its `firewallIds` (by id or by dependency) or attached to it."""
    firewalls = {r.urn: r for r in resources if r.type == HCLOUD_FIREWALL}
    by_id = {str(r.id): r for r in firewalls.values() if r.id is not None}
    found = {urn: firewalls[urn] for urn in server.property_dependencies.get("firewallIds", []) if urn in firewalls}
    found.update(
        {by_id[str(i)].urn: by_id[str(i)] for i in _as_list(server.inputs.get("firewallIds")) if str(i) in by_id}
    )
    for attachment in resources:
        if attachment.type != HCLOUD_FIREWALL_ATTACHMENT:
            continue
        server_ids = {str(i) for i in _as_list(attachment.inputs.get("serverIds"))}
        if server.urn not in attachment.property_dependencies.get("serverIds", []) and str(server.id) not in server_ids:
            continue
        for urn in attachment.property_dependencies.get("firewallId", []):
            if urn in firewalls:
                found[urn] = firewalls[urn]
        if str(attachment.inputs.get("firewallId")) in by_id:
            fw = by_id[str(attachment.inputs.get("firewallId"))]
            found[fw.urn] = fw
    return list(found.values())


def servers_expose_public_443_only(
    resources: Sequence[RecordedResource], admin_cidrs: Sequence[str]
) -> list[Violation]:
    """(j) Every Hetzner server the stack creates (the sidecar ClickHouse) is firewalled, its firewalls open tcp 443
    to the whole internet (the mTLS edge every consumer connects to) and nothing else to anyone outside the admin
    CIDRs. A server without a firewall exposes whatever listens on it."""
    admins = _networks(admin_cidrs)
    violations: list[Violation] = []
    for server in resources:
        if server.type != HCLOUD_SERVER:
            continue
        firewalls = _firewalls_of(server, resources)
        if not firewalls:
            violations.append(Violation(SERVER_PUBLIC_443_ONLY, server.urn, "no firewall is applied to the server"))
            continue
        edge_public = False
        for fw in firewalls:
            for i, rule in enumerate(_as_list(fw.inputs.get("rules"))):
                if not isinstance(rule, Mapping) or rule.get("direction", "in") != "in":
                    continue
                protocol = str(rule.get("protocol", "")).lower()
                port = str(rule.get("port", "")).strip()
                try:
                    sources = _networks(_as_list(rule.get("sourceIps")))
                except ValueError:
                    continue  # reported by the firewall rule (d)
                if protocol == "tcp" and port == "443":
                    edge_public = edge_public or ipaddress.ip_network("0.0.0.0/0") in sources
                    continue
                public = [
                    str(n)
                    for n in sources
                    if not any(n.version == a.version and n.subnet_of(a) for a in admins)  # type: ignore[arg-type]
                ]
                if public:
                    violations.append(
                        Violation(
                            SERVER_PUBLIC_443_ONLY,
                            server.urn,
                            f"firewall {fw.name} rule {i} ({protocol} {port or '<all ports>'}) is open to "
                            f"{', '.join(public)}, beyond the admin CIDRs; only tcp 443 may be public",
                        )
                    )
        if not edge_public:
            violations.append(
                Violation(
                    SERVER_PUBLIC_443_ONLY,
                    server.urn,
                    "no firewall of the server opens tcp 443 to 0.0.0.0/0: the edge would be unreachable",
                )
            )
    return violations


# ---------------------------------------------------------------------------------------------------------
# CA key
# ---------------------------------------------------------------------------------------------------------


def ca_private_key_protected(resources: Sequence[RecordedResource]) -> list[Violation]:
    """(e) A tls PrivateKey that signs certificates (a CA key) must be `protect=True`."""
    keys = [r for r in resources if r.type == TLS_PRIVATE_KEY]
    key_by_pem = {str(k.outputs.get("privateKeyPem")): k for k in keys if k.outputs.get("privateKeyPem")}
    key_by_urn = {k.urn: k for k in keys}
    ca_keys: dict[str, tuple[RecordedResource, str]] = {}
    for r in resources:
        field_name = None
        if r.type == TLS_LOCALLY_SIGNED:
            field_name = "caPrivateKeyPem"
        elif r.type == TLS_SELF_SIGNED and r.inputs.get("isCaCertificate"):
            field_name = "privateKeyPem"
        if field_name is None:
            continue
        found = key_by_pem.get(str(r.inputs.get(field_name)))
        candidates = [found] if found else []
        candidates += [key_by_urn[u] for u in r.property_dependencies.get(field_name, []) if u in key_by_urn]
        for key in candidates:
            ca_keys[key.urn] = (key, f"{r.type.rsplit(':', 1)[-1]} {r.name}")
    return [
        Violation(CA_KEY_PROTECTED, key.urn, f"CA private key (signs {used_by}) is not protect=True")
        for key, used_by in ca_keys.values()
        if not key.protect
    ]


# ---------------------------------------------------------------------------------------------------------
# Lambda logs and alarms
# ---------------------------------------------------------------------------------------------------------


def _alarm_metrics(alarm: RecordedResource, function_name: str) -> tuple[set[str], set[str], list[str]]:
    """Metrics of `function_name` this alarm watches, the query ids carrying them, and its expressions."""
    metrics: set[str] = set()
    ids: set[str] = set()
    expressions: list[str] = []
    inputs = alarm.inputs
    if (
        inputs.get("namespace") == "AWS/Lambda"
        and (inputs.get("dimensions") or {}).get("FunctionName") == function_name
    ):
        metrics.add(str(inputs.get("metricName")))
    for query in _as_list(inputs.get("metricQueries")):
        if not isinstance(query, Mapping):
            continue
        metric = query.get("metric")
        if (
            isinstance(metric, Mapping)
            and metric.get("namespace") == "AWS/Lambda"
            and (metric.get("dimensions") or {}).get("FunctionName") == function_name
        ):
            metrics.add(str(metric.get("metricName")))
            if metric.get("metricName") == "Invocations":
                ids.add(str(query.get("id")))
        if query.get("expression"):
            expressions.append(str(query["expression"]))
    return metrics, ids, expressions


def lambda_observability(resources: Sequence[RecordedResource]) -> list[Violation]:
    """(f) Each Lambda has `/aws/lambda/<name>` with retention, and Errors, Duration and no-invocation alarms."""
    violations: list[Violation] = []
    log_groups = [r for r in resources if r.type == LOG_GROUP]
    alarms = [r for r in resources if r.type == METRIC_ALARM]
    for fn in resources:
        if fn.type != LAMBDA_FUNCTION:
            continue
        name = str(fn.outputs.get("name") or fn.inputs.get("name") or "")
        expected = f"/aws/lambda/{name}"
        groups = [g for g in log_groups if (g.inputs.get("name") or g.outputs.get("name")) == expected]
        if not groups:
            violations.append(Violation(LAMBDA_OBSERVABILITY, fn.urn, f"no LogGroup named {expected}"))
        elif not any(int(g.inputs.get("retentionInDays") or 0) > 0 for g in groups):
            violations.append(Violation(LAMBDA_OBSERVABILITY, fn.urn, f"LogGroup {expected} has no retentionInDays"))
        watched: set[str] = set()
        invocations_guarded = False
        for alarm in alarms:
            metrics, invocation_ids, expressions = _alarm_metrics(alarm, name)
            watched |= metrics
            if "Invocations" in metrics:
                fills = any(
                    "FILL(" in e.upper() and (not invocation_ids or any(i in e for i in invocation_ids))
                    for e in expressions
                )
                if alarm.inputs.get("treatMissingData") == "breaching" or fills:
                    invocations_guarded = True
        for metric in ("Errors", "Duration"):
            if metric not in watched:
                violations.append(Violation(LAMBDA_OBSERVABILITY, fn.urn, f"no alarm on {metric} for {name}"))
        if "Invocations" not in watched:
            violations.append(Violation(LAMBDA_OBSERVABILITY, fn.urn, f"no alarm on Invocations for {name}"))
        elif not invocations_guarded:
            violations.append(
                Violation(
                    LAMBDA_OBSERVABILITY,
                    fn.urn,
                    f"the Invocations alarm for {name} does not fire on silence "
                    "(needs treatMissingData=breaching or a FILL() metric-math expression)",
                )
            )
    return violations


# ---------------------------------------------------------------------------------------------------------
# API Gateway methods and cache keys (reference-system.md §13.11)
# ---------------------------------------------------------------------------------------------------------


def apigateway_no_any_method(resources: Sequence[RecordedResource]) -> list[Violation]:
    """(g) Every REST method names its verb: an `ANY` method broke the reference's production for 20 minutes
    and answers verbs the handler never declared."""
    return [
        Violation(APIGW_NO_ANY_METHOD, r.urn, "method ANY: declare each verb the route serves as its own method")
        for r in resources
        if r.type == APIGW_METHOD and str(r.inputs.get("httpMethod", "")).upper() == "ANY"
    ]


def _method_key(resource: RecordedResource) -> tuple[str, str, str]:
    inputs = resource.inputs
    return (str(inputs.get("restApi")), str(inputs.get("resourceId")), str(inputs.get("httpMethod", "")).upper())


def apigateway_cache_keys_complete(resources: Sequence[RecordedResource]) -> list[Violation]:
    """(h) Each integration's cacheKeyParameters are exactly its method's declared path and query parameters:
    a declared parameter missing from the key lets one caller's response be served for another's request
    (cache poisoning); a key parameter the method does not declare is refused by API Gateway at deploy."""
    methods = {_method_key(r): r for r in resources if r.type == APIGW_METHOD}
    violations: list[Violation] = []
    for integration in resources:
        if integration.type != APIGW_INTEGRATION:
            continue
        method = methods.get(_method_key(integration))
        if method is None:
            continue  # its method is in another stack or not registered: nothing to compare with
        all_declared = {str(name) for name in method.inputs.get("requestParameters") or {}}
        # Headers may stay out of the key: the handler reads none, and x-api-key in it would split the cache per key.
        declared = {n for n in all_declared if n.startswith(("method.request.path.", "method.request.querystring."))}
        keys = {str(k) for k in _as_list(integration.inputs.get("cacheKeyParameters"))}
        missing, undeclared = sorted(declared - keys), sorted(keys - all_declared)
        if missing:
            violations.append(
                Violation(
                    APIGW_CACHE_KEYS_COMPLETE,
                    integration.urn,
                    f"cacheKeyParameters lack declared parameter(s) {', '.join(missing)}: responses would be "
                    "shared across requests that differ in them",
                )
            )
        if undeclared:
            violations.append(
                Violation(
                    APIGW_CACHE_KEYS_COMPLETE,
                    integration.urn,
                    f"cacheKeyParameters name parameter(s) {', '.join(undeclared)} the method does not declare",
                )
            )
    return violations


# ---------------------------------------------------------------------------------------------------------
# Lambda standard alarms, complete (reference-system.md §13.8)
# ---------------------------------------------------------------------------------------------------------

DURATION_ALARM_MAX_PCT_OF_TIMEOUT = 80
LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3  # what AWS applies when a function sets none


def _lambda_metric(metric: Any, function_name: str) -> str | None:
    """The AWS/Lambda metric name `metric` (alarm inputs or a query's `metric`) watches for this function."""
    if not isinstance(metric, Mapping) or metric.get("namespace") != "AWS/Lambda":
        return None
    if (metric.get("dimensions") or {}).get("FunctionName") != function_name:
        return None
    return str(metric.get("metricName"))


def _errors_alarm_problems(inputs: Mapping[str, Any]) -> list[str]:
    problems = []
    if inputs.get("statistic") != "Sum":
        problems.append("its statistic is not Sum")
    operator, threshold = inputs.get("comparisonOperator"), float(inputs.get("threshold", math.inf))
    fires_on_first = (operator == "GreaterThanOrEqualToThreshold" and 0 < threshold <= 1) or (
        operator == "GreaterThanThreshold" and 0 <= threshold < 1
    )
    if not fires_on_first:
        problems.append(f"{operator} {threshold:g} does not fire on the first error")
    return problems


def _duration_alarm_problems(inputs: Mapping[str, Any], timeout_seconds: float) -> list[str]:
    problems = []
    if inputs.get("statistic") != "Maximum":
        problems.append("its statistic is not Maximum (one slow run must count)")
    limit_ms = timeout_seconds * 1000 * DURATION_ALARM_MAX_PCT_OF_TIMEOUT / 100
    threshold = float(inputs.get("threshold", math.inf))
    if inputs.get("comparisonOperator") not in ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold"):
        problems.append(f"comparison {inputs.get('comparisonOperator')} does not fire on long runs")
    if not 0 < threshold <= limit_ms:
        problems.append(
            f"threshold {threshold:g} ms is not within {DURATION_ALARM_MAX_PCT_OF_TIMEOUT} % of the "
            f"{timeout_seconds:g} s timeout ({limit_ms:g} ms)"
        )
    return problems


def _silence_alarm_problems(inputs: Mapping[str, Any], invocation_ids: set[str]) -> list[str]:
    problems = []
    expressions = [q for q in _as_list(inputs.get("metricQueries")) if isinstance(q, Mapping) and q.get("expression")]
    filled = [
        q
        for q in expressions
        if q.get("returnData") is not False
        and any(
            re.fullmatch(rf"\s*FILL\(\s*{re.escape(i)}\s*,\s*0\s*\)\s*", str(q["expression"]), re.IGNORECASE)
            for i in invocation_ids
        )
    ]
    if not filled:
        problems.append("it does not alarm on FILL(<invocations>, 0) (a dead function emits no datapoint)")
    if inputs.get("treatMissingData") != "breaching":
        problems.append("treatMissingData is not breaching")
    operator, threshold = inputs.get("comparisonOperator"), float(inputs.get("threshold", -math.inf))
    fires_on_zero = (operator == "LessThanThreshold" and threshold > 0) or (
        operator == "LessThanOrEqualToThreshold" and threshold >= 0
    )
    if not fires_on_zero:
        problems.append(f"{operator} {threshold:g} does not fire on zero invocations")
    return problems


def _action_problems(inputs: Mapping[str, Any]) -> list[str]:
    alarm_actions = {str(a) for a in _as_list(inputs.get("alarmActions"))}
    ok_actions = {str(a) for a in _as_list(inputs.get("okActions"))}
    problems = []
    if inputs.get("actionsEnabled") is False:
        problems.append("its actions are disabled")
    if not alarm_actions:
        problems.append("it has no alarm action")
    elif ok_actions != alarm_actions:
        problems.append("its OK actions are not its alarm actions (nobody hears it recover)")
    return problems


def lambda_standard_alarms(resources: Sequence[RecordedResource]) -> list[Violation]:
    """(i) Each Lambda has its three standard alarms, each complete and heard (ALARM and OK actions alike):
    errors (Sum, fires on the first error), duration near timeout (Maximum, threshold within 80 % of the
    function's own timeout) and no invocations (`FILL(<Invocations>, 0)` with treatMissingData breaching)."""
    alarms = [r for r in resources if r.type == METRIC_ALARM]
    violations: list[Violation] = []
    for fn in resources:
        if fn.type != LAMBDA_FUNCTION:
            continue
        name = str(fn.outputs.get("name") or fn.inputs.get("name") or "")
        timeout = float(fn.inputs.get("timeout") or LAMBDA_DEFAULT_TIMEOUT_SECONDS)
        found: dict[str, list[tuple[RecordedResource, list[str]]]] = {"errors": [], "duration": [], "silence": []}
        for alarm in alarms:
            inputs = alarm.inputs
            direct = _lambda_metric(inputs, name)
            invocation_ids = {
                str(q.get("id"))
                for q in _as_list(inputs.get("metricQueries"))
                if isinstance(q, Mapping) and _lambda_metric(q.get("metric"), name) == "Invocations"
            }
            if direct == "Errors":
                found["errors"].append((alarm, _errors_alarm_problems(inputs) + _action_problems(inputs)))
            elif direct == "Duration":
                found["duration"].append((alarm, _duration_alarm_problems(inputs, timeout) + _action_problems(inputs)))
            elif invocation_ids or direct == "Invocations":
                found["silence"].append(
                    (alarm, _silence_alarm_problems(inputs, invocation_ids) + _action_problems(inputs))
                )
        for kind, what in (
            ("errors", "errors"),
            ("duration", "duration-near-timeout"),
            ("silence", "no-invocations"),
        ):
            candidates = found[kind]
            if not candidates:
                violations.append(Violation(LAMBDA_STANDARD_ALARMS, fn.urn, f"no {what} alarm for {name}"))
            elif all(problems for _, problems in candidates):
                alarm, problems = candidates[0]
                violations.append(
                    Violation(
                        LAMBDA_STANDARD_ALARMS,
                        fn.urn,
                        f"the {what} alarm {alarm.inputs.get('name') or alarm.name} for {name}: " + "; ".join(problems),
                    )
                )
    return violations


# ---------------------------------------------------------------------------------------------------------
# All together
# ---------------------------------------------------------------------------------------------------------


def check_resources(
    resources: Sequence[RecordedResource], admin_cidrs: Sequence[str], known_secrets: set[str] | None = None
) -> list[Violation]:
    """Every rule that needs only the resources (what CrossGuard can see)."""
    secrets = known_secrets if known_secrets is not None else known_secret_values(resources)
    return [
        *no_iam_action_wildcards(resources),
        *resource_star_needs_reason(resources),
        *no_secrets_in_lambda_env(resources, secrets),
        *firewall_inbound_rules(resources, admin_cidrs),
        *ca_private_key_protected(resources),
        *lambda_observability(resources),
        *apigateway_no_any_method(resources),
        *apigateway_cache_keys_complete(resources),
        *lambda_standard_alarms(resources),
        *servers_expose_public_443_only(resources, admin_cidrs),
    ]


def run_all(result: PlanResult, admin_cidrs: Sequence[str]) -> list[Violation]:
    secrets = known_secret_values(result.resources, result.secret_values())
    stack_urn = f"urn:pulumi:{result.stack}::prices-api::pulumi:pulumi:Stack::prices-api-{result.stack}"
    return [
        *check_resources(result.resources, admin_cidrs, secrets),
        *no_secrets_in_plain_outputs(result.outputs, result.secret_outputs, secrets, stack_urn),
    ]


# ---------------------------------------------------------------------------------------------------------
# CrossGuard adapter (used by policies/__main__.py; pure, so it is tested without a PolicyPack)
# ---------------------------------------------------------------------------------------------------------


def _plain(value: Any, path: str, secret_paths: set[str]) -> Any:
    """CrossGuard props → plain values; `pulumi_policy.Secret` wrappers are unwrapped and remembered."""
    if type(value).__name__ == "Secret" and hasattr(value, "value"):
        secret_paths.add(path)
        return _plain(value.value, path, set())
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{path}.{k}" if path else str(k), secret_paths) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{path}[{i}]", secret_paths) for i, v in enumerate(value)]
    return value


def recorded_from_policy_resource(resource: Any) -> RecordedResource:
    """A `pulumi_policy.PolicyResource` as a RecordedResource (props serve as both inputs and outputs)."""
    secret_paths: set[str] = set()
    props = _plain(resource.props, "", secret_paths)
    opts = getattr(resource, "opts", None)
    parent = getattr(resource, "parent", None)
    return RecordedResource(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        parent=parent.urn if parent is not None else None,
        custom=True,
        protect=bool(getattr(opts, "protect", False)),
        inputs=props,
        outputs=props,
        secret_input_paths=secret_paths,
        additional_secret_outputs=list(getattr(opts, "additional_secret_outputs", []) or []),
        dependencies=[d.urn for d in getattr(resource, "dependencies", []) or []],
        property_dependencies={
            k: [d.urn for d in v] for k, v in (getattr(resource, "property_dependencies", {}) or {}).items()
        },
    )


def crossguard_violations(policy_resources: Sequence[Any], admin_cidrs: Sequence[str]) -> list[Violation]:
    """What the CrossGuard stack policy reports: every resource rule (stack outputs are not visible there)."""
    return check_resources([recorded_from_policy_resource(r) for r in policy_resources], admin_cidrs)
