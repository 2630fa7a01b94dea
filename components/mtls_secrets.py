"""One Secrets Manager secret per client role, holding the mTLS bundle `{cert, key, ca}`.

Pulumi writes the value, so a rotation reaches the Lambdas in the same `pulumi up` that issues the new
certificate; nobody pastes bundles by hand. Lambda environments carry only the secret's name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pki.profile import Role


@dataclass(frozen=True)
class MtlsBundle:
    secret_name: str
    cert_pem: pulumi.Input[str]
    key_pem: pulumi.Input[str]


@dataclass(frozen=True)
class MtlsSecretsArgs:
    ca_cert_pem: pulumi.Input[str]
    bundles: dict[Role, MtlsBundle]
    tags: dict[str, str]
    # Days AWS keeps a deleted secret recoverable (0 would delete at once; 7 is the minimum otherwise).
    recovery_window_days: int = 7


class MtlsSecrets(pulumi.ComponentResource):
    secret_arns: dict[Role, pulumi.Output[str]]
    secret_names: dict[Role, str]

    def __init__(self, name: str, args: MtlsSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:mtls_secrets:MtlsSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret_arns = {}
        self.secret_names = {}
        for role, bundle in sorted(args.bundles.items()):
            secret = aws.secretsmanager.Secret(
                f"{name}-{role}",
                name=bundle.secret_name,
                description=f"mTLS client bundle of the prices {role} identity (written by Pulumi)",
                recovery_window_in_days=args.recovery_window_days,
                tags={**args.tags, "role": role},
                opts=child,
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{role}-version",
                secret_id=secret.id,
                secret_string=pulumi.Output.json_dumps(
                    {"cert": bundle.cert_pem, "key": bundle.key_pem, "ca": args.ca_cert_pem}
                ),
                # The bundle holds a private key whatever the secretness of its inputs.
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["secret_string"]),
            )
            self.secret_arns[role] = secret.arn
            self.secret_names[role] = bundle.secret_name
        self.register_outputs({"secret_arns": self.secret_arns, "secret_names": self.secret_names})
