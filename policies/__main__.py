"""CrossGuard entry point: `pulumi up --policy-pack policies` (where a Pulumi CLI exists).

Adapts the plain rules in `policies.rules` (the same ones `offline.plan` and the tests run) into one
mandatory stack-validation policy per rule. NEVER import this module in tests: constructing a PolicyPack
starts a gRPC server and blocks waiting for the CLI (docs/platform-notes.md §2).

Policy config: `adminCidrs` (list of CIDRs allowed to reach tcp 22 on the Hetzner firewall), e.g.
`pulumi up --policy-pack policies --policy-pack-config policy-config.json` with
`{"hcloud-firewall-inbound-443-and-admin-ssh": {"adminCidrs": ["198.51.100.0/28"]}}`.
The plain-outputs secret rule needs stack outputs, which CrossGuard does not expose; `make plan` runs it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the pack runs from policies/

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies import rules

_DESCRIPTIONS = {
    rules.NO_ACTION_WILDCARDS: "IAM Allow statements name exact actions (no *, svc:*, svc:Get*, NotAction).",
    rules.RESOURCE_STAR_NEEDS_REASON: "Resource * only in AnyResource… statements of actions AWS supports only on *.",
    rules.NO_SECRETS_IN_LAMBDA_ENV: "Lambda environment variables hold names and ARNs, never secret values.",
    rules.FIREWALL_INBOUND: "Hetzner firewall inbound: tcp 443 from anywhere, tcp 22 from admin CIDRs only.",
    rules.CA_KEY_PROTECTED: "The CA private key is protect=True.",
    rules.LAMBDA_OBSERVABILITY: "Each Lambda has a retained log group and Errors/Duration/no-invocation alarms.",
    rules.APIGW_NO_ANY_METHOD: "API Gateway methods name their HTTP method (no ANY).",
    rules.APIGW_CACHE_KEYS_COMPLETE: "Each integration's cache key holds exactly the parameters its method declares.",
    rules.LAMBDA_STANDARD_ALARMS: "Each Lambda has errors, duration >= 80 % of timeout and FILL no-invocation alarms.",
    rules.SERVER_PUBLIC_443_ONLY: "Each Hetzner server has a firewall exposing only 443 publicly (22 to admins).",
}


def _validator(policy: str) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        admin_cidrs = list(args.get_config().get("adminCidrs", []))
        for violation in rules.crossguard_violations(args.resources, admin_cidrs):
            if violation.policy == policy:
                report_violation(violation.message, violation.urn)

    return validate


_ADMIN_SCHEMA = PolicyConfigSchema(
    properties={"adminCidrs": {"type": "array", "items": {"type": "string"}}}, required=["adminCidrs"]
)

PolicyPack(
    name="prices-api",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        StackValidationPolicy(
            name=name,
            description=description,
            validate=_validator(name),
            config_schema=_ADMIN_SCHEMA if name in (rules.FIREWALL_INBOUND, rules.SERVER_PUBLIC_443_ONLY) else None,
        )
        for name, description in _DESCRIPTIONS.items()
    ],
)
