"""The production path of all three workers: ``build_runtime`` from the environment the infrastructure sets,
the mTLS bundles read from Secrets Manager (moto), ClickHouse reached through the real Caddy mTLS edge as the
ingestion identity (prices_writer) — the local data plane, one per module."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import clickhouse_connect
import pytest
from moto import mock_aws

from lambdas.workers import cleanup, oracle, probes
from local.dataplane import DataPlane, start_dataplane
from local.soroban_rpc_standin import PUBNET, OracleContract, StandInState, running_standin
from pki.issuer import not_after
from tests.lambdas.workers.helpers import FakeContext, emf_metrics, scheduled_event

pytestmark = [pytest.mark.engine, pytest.mark.edge]

CEX = "CAFJZQWSED6YAWZU3GWRTOCNPPCGBN32L7QV43XX5LZLFTK6JLN34DLN"
SECRETS = {
    "ingestion": "prices/local/clickhouse-mtls-prices-ingestion-local",
    "api": "prices/local/clickhouse-mtls-prices-api-local",
}


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlane]:
    with start_dataplane(Path(tmp_path_factory.mktemp("workers-plane")), progress=lambda _m: None) as p:
        yield p


@pytest.fixture
def aws(plane: DataPlane) -> Iterator[None]:
    with mock_aws():
        client = boto3.client("secretsmanager")
        for role, name in SECRETS.items():
            identity = plane.pki.identities[role]
            bundle = {
                "cert": identity.cert.read_text(),
                "key": identity.key.read_text(),
                "ca": plane.pki.edge_server_ca.read_text(),
            }
            client.create_secret(Name=name, SecretString=json.dumps(bundle))
        yield


def base_env(plane: DataPlane) -> dict[str, str]:
    # What components/workers.py sets for every worker (the writer bundle by name, never its content).
    return {
        "CLICKHOUSE_URL": plane.edge_url,
        "MTLS_SECRET_NAME": SECRETS["ingestion"],
        "CLICKHOUSE_SERVER_CA": "bundle",
    }


def direct(plane: DataPlane) -> Any:
    port = int(plane.clickhouse_http.rsplit(":", 1)[1])
    return clickhouse_connect.get_client(host="127.0.0.1", port=port, username="default", autogenerate_session_id=False)


def test_oracle_then_cleanup_then_probes_through_the_edge(
    plane: DataPlane, aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "prices-local-probes")  # the code's catalog service wins
    round_at = int(datetime.now(UTC).timestamp()) // 300 * 300
    state = StandInState()
    state.contracts[CEX] = OracleContract(
        base=("Other", "USD"), assets=[("Other", "XLM")], prices={("Other", "XLM"): (12_500_000_000_000, round_at)}
    )
    with running_standin(state) as url:
        env = base_env(plane) | {
            "SOROBAN_RPC_URL": url,
            "NETWORK_PASSPHRASE": PUBNET,
            "ORACLE_CONTRACTS": json.dumps([{"name": "reflector-cex", "contract_id": CEX}]),
        }
        oracle.set_runtime(oracle.build_runtime(env, pem_dir=tmp_path / "oracle-pem"))
        try:
            assert oracle.handler(scheduled_event(), FakeContext())["written"] == 1
        finally:
            oracle.set_runtime(None)
    admin = direct(plane)
    assert admin.query(
        "SELECT asset_id, oracle_name, toUnixTimestamp(timestamp), price_usd FROM prices.oracle_prices FINAL"
    ).result_rows == [("native", "reflector-cex", round_at, 0.125)]

    # Cleanup, through the edge as the writer: an observation from 2020 goes, this month's stays.
    admin.insert(
        "prices.oracle_prices",
        [["native", "reflector-cex", datetime(2020, 1, 15, tzinfo=UTC), 0.07, "{}"]],
        column_names=["asset_id", "oracle_name", "timestamp", "price_usd", "raw_data"],
    )
    env = base_env(plane) | {"RETENTION_DAYS": json.dumps({"oracle_prices": 396}), "DRY_RUN": "false"}
    cleanup.set_runtime(cleanup.build_runtime(env, pem_dir=tmp_path / "cleanup-pem"))
    try:
        summary = cleanup.handler(scheduled_event(), FakeContext())
    finally:
        cleanup.set_runtime(None)
    assert summary["tables"]["oracle_prices"]["dropped"] == ["202001"]
    assert admin.query("SELECT count() FROM prices.oracle_prices").result_rows == [(1,)]

    # Probes: both bundles' certificates, the timed write through the edge.
    env = base_env(plane) | {"MTLS_SECRET_NAMES": json.dumps(SECRETS)}
    rt = probes.build_runtime(env, pem_dir=tmp_path / "probes-pem")
    fixed = datetime.now(UTC).replace(microsecond=0)
    rt.clock = lambda: fixed
    probes.set_runtime(rt)
    capsys.readouterr()
    try:
        summary = probes.handler(scheduled_event(), FakeContext(aws_request_id="edge-probe"))
    finally:
        probes.set_runtime(None)
    published = emf_metrics(capsys.readouterr().out)
    values = {m.name + m.dimensions.get("Role", ""): m.value for m in published}
    for role in SECRETS:
        expected = (not_after(plane.pki.identities[role].issued.cert_pem) - fixed) / timedelta(days=1)
        assert values[f"DaysToNotAfter{role}"] == expected
    assert values["MinDaysToNotAfter"] == min(values["DaysToNotAfteringestion"], values["DaysToNotAfterapi"])
    assert values["ClickHouseWriteLatencyMs"] > 0 and 0 < values["ClickHouseFreeDiskPct"] <= 100
    assert summary["errors"] == []
    assert admin.query("SELECT probe_id FROM prices.probe_writes").result_rows == [("edge-probe",)]
    # Every service dimension is the catalog's, whatever POWERTOOLS_SERVICE_NAME says.
    assert {m.dimensions["service"] for m in published} == {"probes"}
