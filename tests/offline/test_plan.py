"""The real program plans offline for both stacks with zero policy violations; the CLI says so by exit code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_hcloud as hcloud
import pytest

from offline import plan
from offline.runner import REPO_ROOT, ProgramError, fake_ca, run_program
from policies.rules import FIREWALL_INBOUND, run_all
from tests.conftest import MockRuntime

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).parent / "sample_program" / "__main__.py"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offline.plan", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_program_plans_with_zero_violations_and_a_positive_cost(mock_runtime: MockRuntime, stack: str) -> None:
    result = run_program(stack)
    cidrs = plan.admin_cidrs_from_config(result.config)
    assert cidrs, "the stack file must configure admin CIDRs for the ssh rule"
    assert run_all(result, cidrs) == []
    assert result.outputs["monthly_cost_usd"]["total"] > 0
    assert any(r.type == "hcloud:index/firewall:Firewall" for r in result.resources)
    assert all(r.urn.startswith(f"urn:pulumi:{stack}::prices-api::") for r in result.resources)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_cli_exits_zero_and_never_prints_secret_values(stack: str) -> None:
    done = cli("--stack", stack)
    assert done.returncode == 0, done.stderr
    assert "all passed" in done.stdout and "total" in done.stdout
    assert "PRIVATE KEY" not in done.stdout and "FAKE-offline-hcloud-token" not in done.stdout
    as_json = cli("--stack", stack, "--json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["policies"]["violations"] == []
    assert document["outputs"]["monthly_cost_usd"]["total"] > 0
    for name in document["secret_outputs"]:
        assert document["outputs"][name] == "[secret]"
    assert "PRIVATE KEY" not in as_json.stdout


def test_an_injected_violating_resource_fails_the_plan(mock_runtime: MockRuntime) -> None:
    def open_clickhouse_port() -> None:
        hcloud.Firewall(
            "injected",
            rules=[{"direction": "in", "protocol": "tcp", "port": "8123", "source_ips": ["0.0.0.0/0"]}],
        )

    out, err = io.StringIO(), io.StringIO()
    code = plan.main(["--stack", "dev"], out=out, err=err, extra=open_clickhouse_port)
    assert code == plan.EXIT_VIOLATIONS
    assert f"VIOLATION [{FIREWALL_INBOUND}] urn:pulumi:dev::prices-api::hcloud:index/firewall:Firewall::injected" in (
        out.getvalue()
    )
    assert "1 policy violation(s)" in err.getvalue()


def test_a_config_override_opening_a_port_fails_the_cli() -> None:
    done = cli("--stack", "dev", "--program", str(SAMPLE), "--set", "extraPort=8123")
    assert done.returncode == 1
    assert "rule 2 (tcp 8123): inbound rule from anywhere is not tcp 443 or admin ssh" in done.stdout
    assert cli("--stack", "dev", "--program", str(SAMPLE)).returncode == 0


def test_bad_config_exits_two_naming_the_key() -> None:
    missing = cli("--stack", "prod", "--unset", "aws:region")
    assert missing.returncode == 2
    assert "aws:region" in missing.stderr and missing.stdout == ""
    empty = cli("--stack", "dev", "--set", 'network={"adminCidrs": []}')
    assert empty.returncode == 2
    assert "prices-api:network.adminCidrs" in empty.stderr


def test_run_program_raises_a_clean_error_naming_the_key(mock_runtime: MockRuntime) -> None:
    with pytest.raises(ProgramError, match=r"aws:region"):
        run_program("dev", config_overrides={"aws:region": None})
    # and the runtime is usable again afterwards
    assert run_program("dev").outputs["monthly_cost_usd"]["total"] > 0


def test_outputs_secrets_and_previous_outputs_flow_through_the_runner(mock_runtime: MockRuntime) -> None:
    pins = [{"role": "api", "sha256": "cd" * 32, "accept_until_unix": 1_900_000_000}]
    sample = run_program("prod", program=SAMPLE, previous_outputs={"client_cert_pins": pins})
    assert sample.outputs["client_cert_pins"] == pins
    assert "clickhouse_password" in sample.secret_outputs
    assert "alerts_topic_arn" not in sample.secret_outputs
    assert sample.config["prices-api:caCertPem"] == fake_ca().cert_pem
    assert "prices-api:caKeyPem" in sample.secret_config_keys
    first_deploy = run_program("dev", program=SAMPLE)
    assert first_deploy.outputs["client_cert_pins"] == []
    # The root Stack is fresh per run: nothing exported by the sample leaks into the real program's outputs.
    real = run_program("dev")
    assert "clickhouse_password" not in real.outputs and "budget_usd" not in real.outputs
    assert not any(r.name == "prices" and r.type == "prices:sample:Sample" for r in real.resources)


def test_collect_and_run_program_share_one_mock_runtime(mock_runtime: MockRuntime) -> None:
    run_program("dev", program=SAMPLE)
    resources = mock_runtime.collect(lambda: pulumi.ComponentResource("prices:test:Empty", "empty"))
    assert [r.name for r in resources] == ["empty"]


def test_sample_program_exercises_every_resource_rule_and_passes(mock_runtime: MockRuntime) -> None:
    result = run_program("dev", program=SAMPLE)
    types = {r.type for r in result.resources}
    assert {
        "aws:lambda/function:Function",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:iam/rolePolicy:RolePolicy",
        "hcloud:index/firewall:Firewall",
    } <= types
    (policy,) = result.of_type("aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert [s.get("Sid") for s in statements] == ["ReadMtls", "AnyResourceXray"]
    assert statements[1]["Resource"] == "*"
    assert run_all(result, plan.admin_cidrs_from_config(result.config)) == []
    assert run_all(result, []) != []  # the ssh rule needs the admin CIDRs: they are really consulted


def test_set_with_a_path_sets_one_field_inside_an_object_key() -> None:
    stack = {"prices-api:clickhouse": json.dumps({"domain": "ch.example.com", "sshUser": "deploy"})}
    overrides: dict[str, object] = {}
    plan.set_config_path(overrides, "clickhouse.cluster.name", "prices", lambda: stack)
    plan.set_config_path(overrides, "prices-api:clickhouse.cluster.mode", "replicated-database", lambda: stack)
    plan.set_config_path(overrides, "sidecar.enabled", True, lambda: stack)  # absent from the stack file
    plan.set_config_path(overrides, "aws:region", "eu-west-1", lambda: stack)
    assert overrides == {
        "prices-api:clickhouse": {
            "domain": "ch.example.com",
            "sshUser": "deploy",
            "cluster": {"name": "prices", "mode": "replicated-database"},
        },
        "prices-api:sidecar": {"enabled": True},
        "aws:region": "eu-west-1",
    }
    with pytest.raises(ValueError, match="domain is not an object"):
        plan.set_config_path(overrides, "clickhouse.domain.x", 1, lambda: stack)


def test_plan_shows_the_sidecar_and_cluster_options_when_enabled_by_path(mock_runtime: MockRuntime) -> None:
    out, err = io.StringIO(), io.StringIO()
    sidecar = ["--set", "sidecar.enabled=true", "--set", "sidecar.domain=ch-sidecar-dev.prices.example.com"]
    assert plan.main(["--stack", "dev", "--json", *sidecar], out=out, err=err) == plan.EXIT_OK, err.getvalue()
    document = json.loads(out.getvalue())
    assert {"hcloud:index/server:Server", "prices:sidecar:Sidecar"} <= {r["type"] for r in document["resources"]}
    assert document["outputs"]["clickhouse_endpoint"] == "https://ch-sidecar-dev.prices.example.com"
    assert document["outputs"]["monthly_cost_usd"]["hetzner_sidecar"] > 0
    out = io.StringIO()
    cluster = ["--set", "clickhouse.cluster.name=prices"]
    assert plan.main(["--stack", "prod", *cluster], out=out, err=err) == plan.EXIT_OK, err.getvalue()
    assert "clickhouse_schema_mode: on-cluster cluster prices" in out.getvalue()
    bad = io.StringIO()
    assert plan.main(["--stack", "dev", "--set", "clickhouse.domain.x=1"], out=io.StringIO(), err=bad) == 2
    assert "prices-api:clickhouse.domain is not an object" in bad.getvalue()
