"""The `prices` database on the ClickHouse box: schema migrations, users, roles, grants, profiles.

Everything is SQL applied with clickhouse-client over SSH (pulumi-command), re-run whenever the rendered
script changes. SQL-defined users (not users.xml) because XML users cannot take SQL GRANTs and edits to
bind-mounted XML were silently not applied on the partner's box (reference pitfalls 3 and 4).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_random as random

from components.remote_scripts import run_sql_script
from components.settings import ClickHouseSettings
from schema.cluster import Cluster, render_rbac_for_cluster, render_schema_script
from schema.migrations import migrations_sha256
from schema.rbac import prices_access_model, render_rbac_sql


@dataclass(frozen=True)
class ClickHouseDatabaseArgs:
    settings: ClickHouseSettings
    ssh_private_key: pulumi.Input[str]
    # The SSH target when it is not settings.server_ipv4: the sidecar's address, known once it exists.
    ssh_host: pulumi.Input[str] | None = None
    # What the SSH push must wait for (the sidecar's bootstrap); a component's own depends_on does not
    # reach its children.
    ssh_depends_on: tuple[pulumi.Resource, ...] = ()


def ssh_connection(
    settings: ClickHouseSettings, private_key: pulumi.Input[str], host: pulumi.Input[str] | None = None
) -> command.remote.ConnectionArgs:
    return command.remote.ConnectionArgs(
        host=settings.server_ipv4 if host is None else host,
        port=settings.ssh_port,
        user=settings.ssh_user,
        private_key=private_key,
    )


class ClickHouseDatabase(pulumi.ComponentResource):
    passwords: dict[str, pulumi.Output[str]]
    schema_sha256: str
    schema_mode: str
    script_sha256: pulumi.Output[str]

    def __init__(self, name: str, args: ClickHouseDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:clickhouse:ClickHouseDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        users = prices_access_model()

        # The edge authenticates to ClickHouse as the mapped user with this password; the server
        # stores only its SHA-256, so a process on the box cannot impersonate a user by header alone.
        self.passwords = {}
        for user in users:
            password = random.RandomPassword(f"{name}-{user.name}-password", length=40, special=False, opts=child)
            self.passwords[user.name] = pulumi.Output.secret(password.result)

        hashes = pulumi.Output.all(**self.passwords).apply(
            lambda pw: {user: hashlib.sha256(value.encode()).hexdigest() for user, value in pw.items()}
        )
        cidrs = list(args.settings.user_host_cidrs)
        # Cluster mode renders the same migrations ON CLUSTER / Replicated (docs/cluster.md); off, the script
        # is byte for byte the single-node one.
        cluster = args.settings.cluster
        target = None if cluster is None else Cluster(cluster.name, cluster.mode)
        schema_script = render_schema_script(target)
        script: pulumi.Output[str] = hashes.apply(
            lambda h: schema_script + "\n" + render_rbac_for_cluster(render_rbac_sql(users, h, cidrs), target)
        )
        self.schema_mode = "single-node" if target is None else f"{target.mode} cluster {target.name}"
        self.schema_sha256 = migrations_sha256()
        self.script_sha256 = pulumi.Output.unsecret(script.apply(lambda s: hashlib.sha256(s.encode()).hexdigest()))

        self.apply_sql = command.remote.Command(
            f"{name}-apply-schema-and-grants",
            connection=ssh_connection(args.settings, args.ssh_private_key, args.ssh_host),
            create=run_sql_script(args.settings.client_command),
            stdin=script,
            triggers=[self.script_sha256],
            opts=pulumi.ResourceOptions(
                parent=self, additional_secret_outputs=["stdin"], depends_on=list(args.ssh_depends_on)
            ),
        )
        self.register_outputs(
            {
                "schema_sha256": self.schema_sha256,
                "schema_mode": self.schema_mode,
                "script_sha256": self.script_sha256,
                "users": list(self.passwords),
            }
        )
