import hashlib

import pytest

from tests.components.program import children_of, one, planned, run

CMD = "command:remote:Command"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_site_maps_each_cn_to_its_clickhouse_user_and_fails_closed(stack: str) -> None:
    result = planned(stack)
    site = one(result, CMD, "edge-push-site").inputs["stdin"]
    assert f"CN=prices-ingestion-{stack}" in site
    assert f"CN=prices-api-{stack}" in site
    assert "prices_writer" in site and "prices_reader" in site
    assert "__unmapped__" in site
    assert "require_and_verify" in site
    assert "tls1.3" in site
    assert "/etc/caddy/prices-api/clients-ca.pem" in site
    assert "127.0.0.1:8123" in site
    # The edge injects each user's password; they come from the database component's random passwords.
    for password in result.of_type("random:index/randomPassword:RandomPassword"):
        assert password.outputs["result"] in site


def test_rendered_site_is_secret_and_its_digest_triggers_the_push() -> None:
    result = planned("prod")
    push = one(result, CMD, "edge-push-site")
    assert push.input_is_secret("stdin")
    digest = hashlib.sha256(push.inputs["stdin"].encode()).hexdigest()
    assert result.outputs["edge_config_sha256"] == digest
    assert "edge_config_sha256" not in result.secret_outputs
    assert digest in push.inputs["triggers"]


def test_push_validates_then_reloads_and_runs_after_the_client_ca() -> None:
    result = planned("prod")
    push = one(result, CMD, "edge-push-site")
    ca_push = one(result, CMD, "edge-push-client-ca")
    script = push.inputs["create"]
    assert script.index("caddy validate") < script.index("caddy reload")
    assert "/etc/caddy/sites/prices-api.caddy" in script
    assert ca_push.urn in push.dependencies
    assert "BEGIN CERTIFICATE" in ca_push.inputs["stdin"]
    assert push.inputs["connection"]["host"] == "203.0.113.10"
    assert push.inputs["connection"]["user"] == "deploy"


def test_site_changes_when_a_pin_changes() -> None:
    first = planned("prod")
    again = run("prod", previous_outputs={"client_cert_pins": first.outputs["client_cert_pins"]})
    assert first.outputs["edge_config_sha256"] != again.outputs["edge_config_sha256"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_firewall_opens_443_to_all_and_22_to_admins_only(stack: str) -> None:
    result = planned(stack)
    firewall = one(result, "hcloud:index/firewall:Firewall", "edge-firewall")
    rules = sorted((r["direction"], r["protocol"], r["port"], tuple(r["sourceIps"])) for r in firewall.inputs["rules"])
    assert rules == [
        ("in", "tcp", "22", ("198.51.100.0/28",)),
        ("in", "tcp", "443", ("0.0.0.0/0", "::/0")),
    ]
    attachment = one(result, "hcloud:index/firewallAttachment:FirewallAttachment", "edge-firewall-attachment")
    expected_server = {"dev": 51034712, "prod": 48210377}[stack]
    assert attachment.inputs["serverIds"] == [expected_server]
    edge = one(result, "prices:edge:CaddyEdge", "edge")
    assert {r.name for r in children_of(result, edge)} == {
        "edge-push-client-ca",
        "edge-push-site",
        "edge-firewall",
        "edge-firewall-attachment",
    }
