"""The sidecar ClickHouse server (ADR 0007 alternative 3): our own ClickHouse + Caddy on a Hetzner Cloud server.

Off by default (`prices-api:sidecar.enabled`). When on, the stack provisions one dedicated server with its SSH
key and firewall, bootstraps ClickHouse and Caddy through cloud-init, and `clickhouse_target` points every
consumer at it: the Lambdas' CLICKHOUSE_URL, the ClickHouseDatabase SSH push (schema, users, grants) and the
CaddyEdge SSH push (the same rendered mTLS site, client CA and pins as on the partner's box). Only the
endpoint and the edge's server certificate change; the client certificates stay the same.

The cloud-init user data is readable in the Hetzner console and API, so it holds no secret: packages,
repositories, static configuration and the bootstrap script only. Everything secret (the site carries the
ClickHouse passwords the edge injects; the users carry password hashes) arrives over SSH afterwards, with
the deploy key this component generates (kept encrypted in the Pulumi state, never exported). docs/sidecar.md.
"""

from __future__ import annotations

import hashlib
import posixpath
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_hcloud as hcloud
import pulumi_tls as tls
import yaml

from components.clickhouse import ssh_connection
from components.edge import firewall_rules
from components.settings import ClickHouseSettings, EdgeSettings, SidecarSettings, StackSettings

TEMPLATES = Path(__file__).resolve().parent / "templates" / "sidecar"
STAGING_DIR = "/etc/prices-sidecar"
BOOTSTRAP_PATH = "/usr/local/sbin/prices-sidecar-bootstrap"
BOOTSTRAP_DONE = "/var/lib/prices-sidecar/bootstrap-done"
CADDYFILE = "/etc/caddy/Caddyfile"
# Hetzner images log in as root with the keys given at creation.
SSH_USER = "root"
CLIENT_COMMAND = "clickhouse-client --multiquery"
# Caddy runs next to ClickHouse (systemd, not Docker): users connect from loopback only.
USER_HOST_CIDRS = ("127.0.0.1/32",)
PACKAGES = ("apt-transport-https", "ca-certificates", "curl", "gnupg")
# Written by cloud-init into the staging dir, installed into place by the bootstrap script.
STATIC_FILES = ("clickhouse-server.xml", "clickhouse-admin.xml")


def sidecar_clickhouse(shared: ClickHouseSettings, sidecar: SidecarSettings) -> ClickHouseSettings:
    """The ClickHouse settings consumers use when the sidecar is on: its domain, its admin path, one server.

    `server_ipv4` and `hcloud_server_id` still name the partner's box; every SSH consumer takes the sidecar's
    address from `ClickHouseTarget.ssh_host` (known only once the server exists) and the sidecar's firewall is
    its own, so neither value is used for it."""
    if sidecar.domain is None:
        raise ValueError("sidecar.domain is required when the sidecar is enabled")
    return shared.model_copy(
        update={
            "domain": sidecar.domain,
            "ssh_user": SSH_USER,
            "ssh_port": 22,
            "client_command": CLIENT_COMMAND,
            "user_host_cidrs": USER_HOST_CIDRS,
            "cluster": None,
        }
    )


def sidecar_edge(edge: EdgeSettings) -> EdgeSettings:
    """The partner's Caddy runs in Docker; the sidecar's is the Debian package's systemd service."""
    return edge.model_copy(
        update={
            "upstream": "127.0.0.1:8123",
            "validate_command": f"caddy validate --config {CADDYFILE} --adapter caddyfile",
            "reload_command": "systemctl reload caddy",
        }
    )


def render_root_caddyfile(site_dir: str, acme_email: str | None) -> str:
    """Caddy's root config on the sidecar: global options and an import of the pushed site(s)."""
    lines = [
        "# prices-api sidecar (components/sidecar.py). The mTLS site itself (caddy/render.py, the same as on",
        "# the partner's box) is pushed over SSH into the imported directory.",
    ]
    if acme_email is not None:
        # The edge's server certificate comes from Let's Encrypt over TLS-ALPN-01 on 443, the one open port.
        lines += ["{", f"\temail {acme_email}", "}", ""]
    lines.append(f"import {site_dir}/*.caddy")
    return "\n".join(lines) + "\n"


def bootstrap_env(settings: SidecarSettings, edge: EdgeSettings) -> str:
    values = {
        "CLICKHOUSE_SERIES": settings.clickhouse_version,
        "SITE_DIR": posixpath.dirname(edge.site_config_path),
        "CLIENT_CA_DIR": posixpath.dirname(edge.client_ca_path),
    }
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())


class _CloudConfigDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so the console shows the files as they will be written."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CloudConfigDumper.add_representer(str, _str_presenter)


def cloud_init_document(settings: SidecarSettings, edge: EdgeSettings) -> dict[str, Any]:
    site_dir = posixpath.dirname(edge.site_config_path)

    def staged(name: str, content: str, permissions: str = "0644") -> dict[str, str]:
        return {"path": f"{STAGING_DIR}/{name}", "permissions": permissions, "content": content}

    files = [
        staged("bootstrap.env", bootstrap_env(settings, edge)),
        *(staged(name, (TEMPLATES / name).read_text(encoding="utf-8")) for name in STATIC_FILES),
        staged("Caddyfile", render_root_caddyfile(site_dir, settings.acme_email)),
        {
            "path": BOOTSTRAP_PATH,
            "permissions": "0755",
            "content": (TEMPLATES / "bootstrap.sh").read_text(encoding="utf-8"),
        },
    ]
    return {
        "package_update": True,
        "packages": list(PACKAGES),
        "write_files": files,
        "runcmd": [[BOOTSTRAP_PATH]],
    }


def render_cloud_init(settings: SidecarSettings, edge: EdgeSettings) -> str:
    """The server's user data: `#cloud-config` YAML with no secret in it (it is visible in the console)."""
    header = (
        "#cloud-config\n"
        "# prices-api sidecar ClickHouse (components/sidecar.py). Holds no secret: the site, the client CA, the\n"
        "# users and the schema are pushed over SSH once this bootstrap has finished.\n"
    )
    body = yaml.dump(cloud_init_document(settings, edge), Dumper=_CloudConfigDumper, sort_keys=False, width=1000)
    return header + body


def wait_for_bootstrap_script() -> str:
    """Run over SSH right after the server is created: block until cloud-init's bootstrap has finished."""
    return "\n".join(
        [
            "set -euo pipefail",
            "cloud-init status --wait >/dev/null 2>&1 || true",
            f"if [ ! -f {BOOTSTRAP_DONE} ]; then",
            '  echo "the sidecar bootstrap did not finish; the end of its log:" >&2',
            "  tail -n 40 /var/log/cloud-init-output.log >&2 || true",
            "  exit 1",
            "fi",
            f'{CLIENT_COMMAND} --query "SELECT version()"',
            "",
        ]
    )


@dataclass(frozen=True)
class SidecarArgs:
    env: str
    settings: SidecarSettings
    edge: EdgeSettings
    admin_cidrs: tuple[str, ...]


class Sidecar(pulumi.ComponentResource):
    ipv4_address: pulumi.Output[str]
    ssh_private_key: pulumi.Output[str]
    user_data: str

    def __init__(self, name: str, args: SidecarArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:sidecar:Sidecar", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        if not s.enabled or s.domain is None:
            raise ValueError("Sidecar is only created when prices-api:sidecar.enabled is true and a domain is set")
        labels = {"project": "prices-api", "environment": args.env, "role": "clickhouse-sidecar"}

        # The deploy key pulumi-command uses for every SSH push; it never leaves the (encrypted) state.
        deploy_key = tls.PrivateKey(
            f"{name}-deploy-key",
            algorithm="ED25519",
            opts=pulumi.ResourceOptions(
                parent=self, additional_secret_outputs=["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]
            ),
        )
        self.ssh_key = hcloud.SshKey(
            f"{name}-deploy-key",
            name=f"prices-{args.env}-sidecar-deploy",
            public_key=deploy_key.public_key_openssh,
            labels=labels,
            opts=child,
        )
        self.firewall = hcloud.Firewall(
            f"{name}-firewall",
            name=f"prices-{args.env}-clickhouse-sidecar",
            rules=firewall_rules(args.admin_cidrs),
            labels=labels,
            opts=child,
        )
        self.user_data = render_cloud_init(s, args.edge)
        self.server = hcloud.Server(
            f"{name}-server",
            name=f"prices-{args.env}-clickhouse-sidecar",
            server_type=s.server_type,
            location=s.location,
            image=s.image,
            ssh_keys=[self.ssh_key.id, *s.admin_ssh_key_names],
            # Attached at creation, so the server is never reachable without it.
            firewall_ids=[self.firewall.id.apply(int)],
            public_nets=[hcloud.ServerPublicNetArgs(ipv4_enabled=True, ipv6_enabled=True)],
            user_data=self.user_data,
            delete_protection=s.protect,
            rebuild_protection=s.protect,
            shutdown_before_deletion=True,
            labels=labels,
            # Changing user data would REPLACE the server and lose its data; the bootstrap runs once, and
            # everything that changes later is pushed over SSH. Re-bootstrap deliberately with --replace.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["userData"]),
        )
        self.ipv4_address = self.server.ipv4_address
        self.ssh_private_key = pulumi.Output.secret(deploy_key.private_key_openssh)
        self.ready = command.remote.Command(
            f"{name}-wait-for-bootstrap",
            connection=command.remote.ConnectionArgs(
                host=self.ipv4_address,
                user=SSH_USER,
                private_key=self.ssh_private_key,
                # The server takes a minute or two to accept SSH after creation.
                dial_error_limit=60,
            ),
            create=wait_for_bootstrap_script(),
            triggers=[self.server.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.server]),
        )
        if s.route53_zone_id is not None:
            aws.route53.Record(
                f"{name}-dns",
                zone_id=s.route53_zone_id,
                name=s.domain,
                type="A",
                ttl=300,
                records=[self.ipv4_address],
                opts=child,
            )
        self.user_data_sha256 = hashlib.sha256(self.user_data.encode()).hexdigest()
        self.register_outputs(
            {
                "server_id": self.server.id,
                "ipv4_address": self.ipv4_address,
                "firewall_id": self.firewall.id,
                "user_data_sha256": self.user_data_sha256,
            }
        )


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where the stack's ClickHouse lives: the partner's box (default) or the sidecar. Every consumer reads it."""

    clickhouse: ClickHouseSettings
    edge: EdgeSettings
    ssh_private_key: pulumi.Input[str]
    ssh_host: pulumi.Input[str] | None
    # What the SSH pushes must wait for (the sidecar's bootstrap).
    depends_on: tuple[pulumi.Resource, ...]
    # The partner's box gets the edge firewall from CaddyEdge; the sidecar brings its own.
    manage_edge_firewall: bool

    @property
    def endpoint(self) -> str:
        return f"https://{self.clickhouse.domain}"

    def connection(self) -> command.remote.ConnectionArgs:
        """SSH to the ClickHouse host, for any component that runs commands there."""
        return ssh_connection(self.clickhouse, self.ssh_private_key, self.ssh_host)


def clickhouse_target(
    settings: StackSettings, shared_ssh_private_key: pulumi.Input[str], sidecar: Sidecar | None
) -> ClickHouseTarget:
    if sidecar is None:
        return ClickHouseTarget(
            clickhouse=settings.clickhouse,
            edge=settings.edge,
            ssh_private_key=shared_ssh_private_key,
            ssh_host=None,
            depends_on=(),
            manage_edge_firewall=True,
        )
    return ClickHouseTarget(
        clickhouse=sidecar_clickhouse(settings.clickhouse, settings.sidecar),
        edge=sidecar_edge(settings.edge),
        ssh_private_key=sidecar.ssh_private_key,
        ssh_host=sidecar.ipv4_address,
        depends_on=(sidecar.ready,),
        manage_edge_firewall=False,
    )
