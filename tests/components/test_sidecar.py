"""The sidecar ClickHouse server (components/sidecar.py): off by default; on, it takes over every consumer."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import stat
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from caddy.render import CertPin, EdgeIdentity, EdgeSite, render_site
from components import pricing
from components.settings import EdgeSettings, SettingsError, SidecarSettings, load_settings
from components.sidecar import (
    BOOTSTRAP_PATH,
    TEMPLATES,
    render_cloud_init,
    render_root_caddyfile,
)
from local.caddy_process import validate_caddyfile
from offline.mocks import RecordedResource
from offline.runner import PlanResult, run_program
from pki.issuer import make_ca
from policies.rules import SERVER_PUBLIC_443_ONLY, run_all, servers_expose_public_443_only
from tests.components.program import one, planned
from tests.components.test_settings import ROOT, stack_file_config

pytestmark = pytest.mark.unit

DOMAIN = "ch-sidecar-dev.prices.example.com"
SIDECAR = {
    "enabled": True,
    "domain": DOMAIN,
    "acmeEmail": "prices-ops@example.com",
    "route53ZoneId": "Z0123456789ABCDEFGHIJ",
    "adminSshKeyNames": ["alice-laptop"],
}
ADMIN_CIDRS = ["198.51.100.0/28"]  # Pulumi.dev.yaml network.adminCidrs
SERVER = "hcloud:index/server:Server"
FIREWALL = "hcloud:index/firewall:Firewall"
CMD = "command:remote:Command"


@cache
def with_sidecar() -> PlanResult:
    return run_program("dev", config_overrides={"sidecar": SIDECAR})


def user_data() -> str:
    return str(one(with_sidecar(), SERVER, "sidecar-server").inputs["userData"])


def cloud_config() -> dict[str, Any]:
    document = yaml.safe_load(user_data())
    assert isinstance(document, dict)
    return document


def written_files() -> dict[str, dict[str, str]]:
    return {f["path"]: f for f in cloud_config()["write_files"]}


def dependency_closure(result: PlanResult, resource: RecordedResource) -> set[str]:
    by_urn, seen, todo = result.by_urn(), set(), list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo.extend(by_urn[urn].dependencies if urn in by_urn else [])
    return seen


# ---------------------------------------------------------------------------------------------------------
# Off by default
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_off_by_default_no_server_and_the_partner_box_stays_the_target(stack: str) -> None:
    result = planned(stack)
    assert result.of_type(SERVER) == [] and result.of_type("prices:sidecar:Sidecar") == []
    settings = load_settings(stack, *stack_file_config(stack))
    assert settings.sidecar == SidecarSettings() and not settings.sidecar.enabled
    assert result.outputs["clickhouse_endpoint"] == f"https://{settings.clickhouse.domain}"
    assert result.outputs["monthly_cost_usd"]["hetzner_sidecar"] == 0
    assert result.outputs["monthly_cost_usd"]["hetzner_clickhouse_share"] > 0
    assert "sidecar_server_id" not in result.outputs
    apply = one(result, CMD, "clickhouse-apply-schema-and-grants")
    assert apply.inputs["connection"]["host"] == settings.clickhouse.server_ipv4
    assert [f.name for f in result.of_type(FIREWALL)] == ["edge-firewall"]


# ---------------------------------------------------------------------------------------------------------
# On: server, key, firewall
# ---------------------------------------------------------------------------------------------------------


def test_server_is_created_behind_its_firewall_with_the_generated_deploy_key() -> None:
    result = with_sidecar()
    server = one(result, SERVER, "sidecar-server")
    firewall = one(result, FIREWALL, "sidecar-firewall")
    ssh_key = one(result, "hcloud:index/sshKey:SshKey", "sidecar-deploy-key")
    deploy_key = one(result, "tls:index/privateKey:PrivateKey", "sidecar-deploy-key")
    inputs = server.inputs
    assert (inputs["serverType"], inputs["location"], inputs["image"]) == ("ccx23", "fsn1", "ubuntu-24.04")
    assert inputs["deleteProtection"] is True and inputs["rebuildProtection"] is True
    assert inputs["publicNets"] == [{"ipv4Enabled": True, "ipv6Enabled": True}]
    assert inputs["labels"] == {"project": "prices-api", "environment": "dev", "role": "clickhouse-sidecar"}
    # The firewall is attached at creation (firewallIds), not afterwards.
    assert server.property_dependencies["firewallIds"] == [firewall.urn]
    assert [str(int(i)) for i in inputs["firewallIds"]] == [firewall.id]
    assert server.property_dependencies["sshKeys"] == [ssh_key.urn]
    assert inputs["sshKeys"] == [ssh_key.id, "alice-laptop"]
    assert deploy_key.inputs["algorithm"] == "ED25519"
    assert ssh_key.inputs["publicKey"] == deploy_key.outputs["publicKeyOpenssh"]
    assert "privateKeyOpenssh" in deploy_key.additional_secret_outputs
    # The deploy key's private half is never a stack output.
    assert deploy_key.outputs["privateKeyOpenssh"] not in str(result.outputs)


def test_firewall_opens_443_to_everyone_and_22_to_the_admins_and_nothing_else() -> None:
    result = with_sidecar()
    rules = one(result, FIREWALL, "sidecar-firewall").inputs["rules"]
    assert sorted((r["direction"], r["protocol"], r["port"], tuple(r["sourceIps"])) for r in rules) == [
        ("in", "tcp", "22", tuple(ADMIN_CIDRS)),
        ("in", "tcp", "443", ("0.0.0.0/0", "::/0")),
    ]
    # The partner box's edge firewall is not managed when the sidecar is the target.
    assert [f.name for f in result.of_type(FIREWALL)] == ["sidecar-firewall"]
    assert result.of_type("hcloud:index/firewallAttachment:FirewallAttachment") == []


def test_the_plan_with_the_sidecar_passes_every_policy() -> None:
    assert run_all(with_sidecar(), ADMIN_CIDRS) == []


# ---------------------------------------------------------------------------------------------------------
# cloud-init
# ---------------------------------------------------------------------------------------------------------


def test_cloud_init_installs_the_packages_and_stages_our_files() -> None:
    text = user_data()
    assert text.startswith("#cloud-config\n")
    document = cloud_config()
    assert document["package_update"] is True
    assert {"curl", "gnupg", "ca-certificates"} <= set(document["packages"])
    assert document["runcmd"] == [[BOOTSTRAP_PATH]]
    files = written_files()
    assert set(files) == {
        "/etc/prices-sidecar/bootstrap.env",
        "/etc/prices-sidecar/clickhouse-server.xml",
        "/etc/prices-sidecar/clickhouse-admin.xml",
        "/etc/prices-sidecar/Caddyfile",
        BOOTSTRAP_PATH,
    }
    assert files[BOOTSTRAP_PATH]["permissions"] == "0755"
    assert files[BOOTSTRAP_PATH]["content"] == (TEMPLATES / "bootstrap.sh").read_text()
    assert files["/etc/prices-sidecar/bootstrap.env"]["content"] == (
        "CLICKHOUSE_SERIES=26.3\nSITE_DIR=/etc/caddy/sites\nCLIENT_CA_DIR=/etc/caddy/prices-api\n"
    )
    caddyfile = files["/etc/prices-sidecar/Caddyfile"]["content"]
    # The root config imports the directory CaddyEdge pushes the site into (EdgeSettings.site_config_path).
    assert "import /etc/caddy/sites/*.caddy" in caddyfile
    assert "\temail prices-ops@example.com\n" in caddyfile
    server_xml = files["/etc/prices-sidecar/clickhouse-server.xml"]["content"]
    assert '<listen_host replace="replace">127.0.0.1</listen_host>' in server_xml
    admin_xml = files["/etc/prices-sidecar/clickhouse-admin.xml"]["content"]
    assert "<access_management>1</access_management>" in admin_xml and "<ip>::/0</ip>" not in admin_xml
    script = files[BOOTSTRAP_PATH]["content"]
    for fragment in (
        "https://packages.clickhouse.com/deb lts main",
        "Pin: version ${CLICKHOUSE_SERIES}.*",
        "https://dl.cloudsmith.io/public/caddy/stable/deb/debian any-version main",
        "apt-get install -y clickhouse-server clickhouse-client caddy",
    ):
        assert fragment in script


def test_cloud_init_holds_no_secret() -> None:
    result = with_sidecar()
    text = user_data()
    assert "PRIVATE KEY" not in text
    secrets = {v for v in result.secret_values() if len(v) >= 8}
    passwords = {p.outputs["result"] for p in result.of_type("random:index/randomPassword:RandomPassword")}
    assert passwords and passwords <= secrets
    assert [s for s in secrets if s in text] == []
    # Reviewers see when the bootstrap changes through its digest.
    assert result.outputs["sidecar_user_data_sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_cloud_init_follows_the_settings() -> None:
    sidecar = SidecarSettings(enabled=True, domain=DOMAIN, clickhouse_version="25.8", acme_email=None)
    edge = EdgeSettings(site_config_path="/srv/caddy/conf/prices.caddy")
    files = {f["path"]: f["content"] for f in yaml.safe_load(render_cloud_init(sidecar, edge))["write_files"]}
    assert "CLICKHOUSE_SERIES=25.8\nSITE_DIR=/srv/caddy/conf\n" in files["/etc/prices-sidecar/bootstrap.env"]
    assert files["/etc/prices-sidecar/Caddyfile"].endswith("import /srv/caddy/conf/*.caddy\n")
    assert "email" not in files["/etc/prices-sidecar/Caddyfile"]


def test_the_bootstrap_script_is_valid_bash() -> None:
    done = subprocess.run(["bash", "-n", str(TEMPLATES / "bootstrap.sh")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


STUB = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$STUB_LOG"
if [ "$(basename "$0")" = gpg ]; then
  while [ $# -gt 0 ]; do if [ "$1" = -o ]; then cat > "$2"; shift; fi; shift; done
fi
if [ "$(basename "$0")" = curl ]; then echo "FAKE KEY for $*"; fi
"""


def test_the_bootstrap_script_installs_everything_in_place(tmp_path: Path) -> None:
    root, stubs, log = tmp_path / "root", tmp_path / "bin", tmp_path / "calls.log"
    for entry in cloud_config()["write_files"]:
        target = root / entry["path"].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(entry["content"])
        target.chmod(int(entry["permissions"], 8))
    stubs.mkdir()
    for name in ("curl", "gpg", "apt-get", "apt-mark", "systemctl", "chgrp"):
        (stubs / name).write_text(STUB)
        (stubs / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}:/usr/bin:/bin", "PRICES_SIDECAR_ROOT": str(root), "STUB_LOG": str(log)}
    done = subprocess.run(
        ["bash", str(root / BOOTSTRAP_PATH.lstrip("/"))], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    staged = root / "etc/prices-sidecar"
    assert (root / "etc/clickhouse-server/config.d/prices-sidecar.xml").read_text() == (
        staged / "clickhouse-server.xml"
    ).read_text()
    assert (root / "etc/clickhouse-server/users.d/prices-sidecar-admin.xml").read_text() == (
        staged / "clickhouse-admin.xml"
    ).read_text()
    assert (root / "etc/caddy/Caddyfile").read_text() == (staged / "Caddyfile").read_text()
    assert (root / "etc/apt/preferences.d/clickhouse").read_text().splitlines()[1] == "Pin: version 26.3.*"
    assert (
        "signed-by=/usr/share/keyrings/clickhouse-keyring.gpg"
        in (root / "etc/apt/sources.list.d/clickhouse.list").read_text()
    )
    assert (root / "usr/share/keyrings/caddy-stable-archive-keyring.gpg").read_text().startswith("FAKE KEY")
    for directory in ("etc/caddy/sites", "etc/caddy/prices-api"):
        assert stat.S_IMODE((root / directory).stat().st_mode) == 0o2750
    assert (root / "var/lib/prices-sidecar/bootstrap-done").is_file()
    calls = log.read_text().splitlines()
    assert calls.index("apt-get update") < calls.index("apt-get install -y clickhouse-server clickhouse-client caddy")
    assert "apt-mark hold clickhouse-server clickhouse-client clickhouse-common-static" in calls
    assert f"chgrp caddy {root}/etc/caddy/sites" in calls
    assert calls[-1] == "systemctl restart clickhouse-server caddy"


@pytest.mark.edge
def test_caddy_accepts_the_root_caddyfile_with_and_without_the_pushed_site(tmp_path: Path) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(render_root_caddyfile(str(sites), "prices-ops@example.com"))
    # First boot: no site pushed yet; Caddy must still start.
    assert "Valid configuration" in validate_caddyfile(caddyfile, tmp_path / "home")
    ca = tmp_path / "clients-ca.pem"
    ca.write_text(make_ca().cert_pem)
    site = EdgeSite(
        address=DOMAIN,
        client_ca_file=str(ca),
        identities=(EdgeIdentity("prices-api-dev", "prices_reader", "Re4der_password-abcdefghij"),),
        pins=(CertPin("a" * 64, 2_000_000_000),),
    )
    (sites / "prices-api.caddy").write_text(render_site(site))
    output = validate_caddyfile(caddyfile, tmp_path / "home")
    assert "Valid configuration" in output and "enabling strict SNI-Host enforcement" in output


# ---------------------------------------------------------------------------------------------------------
# Every consumer points at the sidecar; only endpoint and certificates change
# ---------------------------------------------------------------------------------------------------------


def test_every_lambda_reaches_clickhouse_at_the_sidecar_endpoint() -> None:
    result = with_sidecar()
    assert result.outputs["clickhouse_endpoint"] == f"https://{DOMAIN}"
    urls = {
        fn.name: fn.inputs["environment"]["variables"]["CLICKHOUSE_URL"]
        for fn in result.of_type("aws:lambda/function:Function")
        if "CLICKHOUSE_URL" in (fn.inputs.get("environment") or {}).get("variables", {})
    }
    # The ledger processor, the API, the workers, the backup job: every function that talks to ClickHouse.
    assert {"ingest-processor", "api-handler", "workers-probes"} <= set(urls), urls
    assert len(urls) == len(result.of_type("aws:lambda/function:Function")) >= 5
    assert set(urls.values()) == {f"https://{DOMAIN}"}


def test_every_ssh_push_targets_the_sidecar_after_its_bootstrap() -> None:
    result = with_sidecar()
    server = one(result, SERVER, "sidecar-server")
    deploy_key = one(result, "tls:index/privateKey:PrivateKey", "sidecar-deploy-key")
    wait = one(result, CMD, "sidecar-wait-for-bootstrap")
    pushes = [c for c in result.of_type(CMD) if c.name != wait.name]
    assert {"clickhouse-apply-schema-and-grants", "edge-push-client-ca", "edge-push-site"} <= {c.name for c in pushes}
    for push in [wait, *pushes]:
        connection = push.inputs["connection"]
        assert connection["user"] == "root", push.name
        # The host is the server's address (known once it exists), the key the generated deploy key.
        assert set(push.property_dependencies["connection"]) >= {server.urn, deploy_key.urn}, push.name
        assert connection["privateKey"] == deploy_key.outputs["privateKeyOpenssh"]
        assert push.input_is_secret("connection.privateKey")
        if push is not wait:
            assert wait.urn in dependency_closure(result, push), push.name
    apply = one(result, CMD, "clickhouse-apply-schema-and-grants")
    assert apply.inputs["create"].splitlines()[-1] == "clickhouse-client --multiquery"
    site = one(result, CMD, "edge-push-site").inputs["create"]
    assert "caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile" in site
    assert "systemctl reload caddy" in site and "docker" not in site


def _normalised(site: str) -> str:
    """The site without what differs between two runs: the address, the pins (fresh certificates every run)
    and the generated passwords (the CN -> user mapping stays)."""
    lines = []
    for line in site.splitlines():
        if re.fullmatch(r'\t\t[0-9a-f]{64} "\d{10}"', line) or re.fullmatch(r"[a-z0-9.-]+ \{", line):
            continue
        lines.append(re.sub(r'^(\t\t"CN=[^"]+" \w+) [A-Za-z0-9_-]{16,}$', r"\1", line))
    return "\n".join(lines)


def test_the_pushed_site_is_the_shared_box_site_with_only_the_address_changed() -> None:
    shared = one(planned("dev"), CMD, "edge-push-site").inputs["stdin"]
    sidecar_result = with_sidecar()
    sidecar = one(sidecar_result, CMD, "edge-push-site").inputs["stdin"]
    assert f"\n{DOMAIN} {{\n" in sidecar and f"\n{DOMAIN} {{\n" not in shared
    # Same gates, same CN -> user map, same client CA path, same upstream.
    assert _normalised(sidecar) == _normalised(shared)
    assert '\t\t"CN=prices-api-dev" prices_reader ' in sidecar
    assert "trust_pool file /etc/caddy/prices-api/clients-ca.pem" in _normalised(sidecar)
    assert "reverse_proxy @allowed 127.0.0.1:8123 {" in _normalised(sidecar)
    for sha256 in sidecar_result.outputs["client_cert_sha256"].values():
        assert sha256 in sidecar


def test_the_cost_model_prices_the_server_and_drops_the_share() -> None:
    result = with_sidecar()
    lines = {line["item"]: line for line in result.outputs["monthly_cost_lines"]}
    server = lines["sidecar ClickHouse server ccx23"]
    assert server["category"] == "hetzner_sidecar"
    assert server["usd"] == round(pricing.HCLOUD_SERVER_MONTHLY_EUR["ccx23"] * 1.08, 2)
    assert pricing.HCLOUD_PRICES_ENTERED_ON in server["basis"]
    assert lines["sidecar primary IPv4"]["usd"] == round(pricing.HCLOUD_PRIMARY_IPV4_MONTHLY_EUR * 1.08, 2)
    assert lines["ClickHouse server share"]["usd"] == 0
    summary = result.outputs["monthly_cost_usd"]
    assert summary["hetzner_sidecar"] == pytest.approx(server["usd"] + lines["sidecar primary IPv4"]["usd"], abs=0.01)


# ---------------------------------------------------------------------------------------------------------
# Policy: the sidecar exposes tcp 443 publicly and nothing else
# ---------------------------------------------------------------------------------------------------------


def _with_rules(resources: list[RecordedResource], rules: list[dict[str, Any]]) -> list[RecordedResource]:
    return [dataclasses.replace(r, inputs={**r.inputs, "rules": rules}) if r.type == FIREWALL else r for r in resources]


def test_policy_passes_the_sidecar_as_planned_and_catches_another_public_port() -> None:
    resources = with_sidecar().resources
    assert servers_expose_public_443_only(resources, ADMIN_CIDRS) == []
    rules = list(one(with_sidecar(), FIREWALL, "sidecar-firewall").inputs["rules"])
    opened = _with_rules(
        resources, [*rules, {"direction": "in", "protocol": "tcp", "port": "8123", "sourceIps": ["0.0.0.0/0"]}]
    )
    violations = servers_expose_public_443_only(opened, ADMIN_CIDRS)
    assert [v.policy for v in violations] == [SERVER_PUBLIC_443_ONLY]
    assert "(tcp 8123) is open to 0.0.0.0/0, beyond the admin CIDRs" in violations[0].message
    # SSH widened beyond the admins is public too.
    wide_ssh = [{**r, "sourceIps": ["203.0.113.0/24"]} if r["port"] == "22" else r for r in rules]
    assert (
        "(tcp 22) is open to 203.0.113.0/24"
        in servers_expose_public_443_only(_with_rules(resources, wide_ssh), ADMIN_CIDRS)[0].message
    )


def test_policy_requires_public_443_and_a_firewall_at_all() -> None:
    resources = with_sidecar().resources
    admins_only = [{"direction": "in", "protocol": "tcp", "port": "443", "sourceIps": ADMIN_CIDRS}]
    assert (
        "edge would be unreachable"
        in servers_expose_public_443_only(_with_rules(resources, admins_only), ADMIN_CIDRS)[0].message
    )
    bare = [
        dataclasses.replace(r, inputs={**r.inputs, "firewallIds": []}, property_dependencies={})
        if r.type == SERVER
        else r
        for r in resources
    ]
    assert [v.message for v in servers_expose_public_443_only(bare, ADMIN_CIDRS)] == [
        "no firewall is applied to the server"
    ]


# ---------------------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sidecar", "fragment"),
    [
        ({"enabled": True}, "domain is required when the sidecar is enabled"),
        ({"enabled": True, "domain": DOMAIN, "serverType": "cx22"}, "priced in components/pricing.py: ccx13"),
        ({"enabled": True, "domain": DOMAIN, "image": "centos-7"}, "Debian or Ubuntu image"),
        ({"enabled": True, "domain": DOMAIN, "clickhouseVersion": "latest"}, "release series such as 26.3"),
        ({"enabled": True, "domain": DOMAIN, "location": "mars1"}, "prices-api:sidecar.location"),
        ({"enabled": True, "domain": "203.0.113.9"}, "a hostname, not an IP"),
    ],
)
def test_bad_sidecar_settings_name_the_key(sidecar: dict[str, Any], fragment: str) -> None:
    raw, region = stack_file_config("dev")
    raw["sidecar"] = sidecar
    with pytest.raises(SettingsError, match="prices-api:sidecar") as err:
        load_settings("dev", raw, region)
    assert fragment in str(err.value)


def test_the_sidecar_and_cluster_mode_are_mutually_exclusive() -> None:
    raw, region = stack_file_config("prod")
    raw["sidecar"] = {"enabled": True, "domain": DOMAIN}
    raw["clickhouse"] = {**raw["clickhouse"], "cluster": {"name": "prices"}}
    with pytest.raises(SettingsError, match="the sidecar is a single ClickHouse server"):
        load_settings("prod", raw, region)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_commented_examples_in_the_stack_files_are_valid_settings(stack: str) -> None:
    lines = (ROOT / f"Pulumi.{stack}.yaml").read_text().splitlines()
    start = lines.index("  # prices-api:sidecar:")
    block = [lines[start].replace("# ", "", 1)]
    block += [line.replace("#   ", "  ", 1) for line in lines[start + 1 :] if line.startswith("  #   ")]
    example = yaml.safe_load("\n".join(block))["prices-api:sidecar"]
    raw, region = stack_file_config(stack)
    settings = load_settings(stack, {**raw, "sidecar": example}, region)
    assert settings.sidecar.enabled and settings.sidecar.domain is not None
    (cluster_line,) = [line for line in lines if line.startswith("    # cluster: ")]
    cluster = yaml.safe_load(cluster_line.replace("# ", "", 1).split("  #")[0])["cluster"]
    settings = load_settings(stack, {**raw, "clickhouse": {**raw["clickhouse"], "cluster": cluster}}, region)
    assert settings.clickhouse.cluster is not None and settings.clickhouse.cluster.mode == "on-cluster"
