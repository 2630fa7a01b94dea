"""The Caddy edge on the ClickHouse box: rendered site config, pushed over SSH, and the Hetzner firewall."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_hcloud as hcloud

from caddy.render import CertPin, EdgeIdentity, EdgeSite, render_site
from components.clickhouse import ssh_connection
from components.remote_scripts import install_file_script
from components.settings import ClickHouseSettings, EdgeSettings
from pki.profile import ClientCertProfile

ANYWHERE = ["0.0.0.0/0", "::/0"]


@dataclass(frozen=True)
class EdgeIdentityArgs:
    profile: ClientCertProfile
    clickhouse_password: pulumi.Input[str]


@dataclass(frozen=True)
class CaddyEdgeArgs:
    env: str
    edge: EdgeSettings
    clickhouse: ClickHouseSettings
    admin_cidrs: tuple[str, ...]
    client_ca_cert_pem: pulumi.Input[str]
    identities: tuple[EdgeIdentityArgs, ...]
    # Leaf pins from Pki.pins: [{role, sha256, accept_until_unix, ...}]
    pins: pulumi.Input[list[dict[str, Any]]]
    ssh_private_key: pulumi.Input[str]
    # The SSH target when it is not clickhouse.server_ipv4: the sidecar's address, known once it exists.
    ssh_host: pulumi.Input[str] | None = None
    # False on the sidecar, whose server is created with its own firewall (components/sidecar.py).
    manage_firewall: bool = True
    # What the SSH pushes must wait for (the sidecar's bootstrap); a component's own depends_on does not
    # reach its children.
    ssh_depends_on: tuple[pulumi.Resource, ...] = ()


def firewall_rules(admin_cidrs: tuple[str, ...]) -> list[hcloud.FirewallRuleArgs]:
    """443 from anywhere (mTLS is the gate), 22 from the admins only, nothing else inbound."""
    return [
        hcloud.FirewallRuleArgs(
            direction="in", protocol="tcp", port="443", source_ips=ANYWHERE, description="mTLS edge"
        ),
        hcloud.FirewallRuleArgs(
            direction="in", protocol="tcp", port="22", source_ips=list(admin_cidrs), description="admin SSH"
        ),
    ]


def site_for(args: CaddyEdgeArgs, passwords: list[str], pins: list[dict[str, Any]]) -> EdgeSite:
    return EdgeSite(
        address=args.clickhouse.domain,
        client_ca_file=args.edge.client_ca_path,
        identities=tuple(
            EdgeIdentity(
                common_name=identity.profile.common_name,
                clickhouse_user=identity.profile.clickhouse_user,
                clickhouse_password=password,
            )
            for identity, password in zip(args.identities, passwords, strict=True)
        ),
        pins=tuple(CertPin(sha256=p["sha256"], accept_until_unix=int(p["accept_until_unix"])) for p in pins),
        upstream=args.edge.upstream,
    )


class CaddyEdge(pulumi.ComponentResource):
    rendered_config: pulumi.Output[str]
    config_sha256: pulumi.Output[str]

    def __init__(self, name: str, args: CaddyEdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:edge:CaddyEdge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Secret: the site carries the per-user ClickHouse passwords the edge injects upstream.
        self.rendered_config = pulumi.Output.secret(
            pulumi.Output.all(
                pulumi.Output.from_input(args.pins), *[i.clickhouse_password for i in args.identities]
            ).apply(lambda v: render_site(site_for(args, list(v[1:]), v[0])))
        )
        # A digest reveals nothing of the passwords; plain, so reviewers can see when the edge changes.
        self.config_sha256 = pulumi.Output.unsecret(
            self.rendered_config.apply(lambda s: hashlib.sha256(s.encode()).hexdigest())
        )
        ca_sha256 = pulumi.Output.from_input(args.client_ca_cert_pem).apply(
            lambda pem: hashlib.sha256(pem.encode()).hexdigest()
        )
        connection = ssh_connection(args.clickhouse, args.ssh_private_key, args.ssh_host)

        push_ca = command.remote.Command(
            f"{name}-push-client-ca",
            connection=connection,
            create=install_file_script(args.edge.client_ca_path, mode="0644", validate=None, reload=None),
            stdin=args.client_ca_cert_pem,
            triggers=[ca_sha256],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.ssh_depends_on)),
        )
        self.push_site = command.remote.Command(
            f"{name}-push-site",
            connection=connection,
            create=install_file_script(
                args.edge.site_config_path,
                mode="0640",
                validate=args.edge.validate_command,
                reload=args.edge.reload_command,
            ),
            stdin=self.rendered_config,
            triggers=[self.config_sha256, ca_sha256],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[push_ca], additional_secret_outputs=["stdin"]),
        )

        self.firewall: hcloud.Firewall | None = None
        if args.manage_firewall:
            self.firewall = hcloud.Firewall(
                f"{name}-firewall",
                name=f"prices-{args.env}-clickhouse-edge",
                rules=firewall_rules(args.admin_cidrs),
                labels={"project": "prices-api", "environment": args.env},
                opts=child,
            )
            hcloud.FirewallAttachment(
                f"{name}-firewall-attachment",
                firewall_id=self.firewall.id.apply(int),
                server_ids=[args.clickhouse.hcloud_server_id],
                opts=child,
            )
        self.register_outputs(
            {"config_sha256": self.config_sha256, "firewall_id": self.firewall.id if self.firewall else None}
        )
