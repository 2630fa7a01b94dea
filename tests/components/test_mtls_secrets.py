import pytest

from tests.components.program import bundle, one, planned


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_secret_per_role_named_by_env_and_role(stack: str) -> None:
    result = planned(stack)
    names = sorted(r.inputs["name"] for r in result.of_type("aws:secretsmanager/secret:Secret"))
    assert names == [f"prices/{stack}/clickhouse-mtls-api", f"prices/{stack}/clickhouse-mtls-ingestion"]
    assert result.outputs["mtls_secret_names"] == {
        "api": f"prices/{stack}/clickhouse-mtls-api",
        "ingestion": f"prices/{stack}/clickhouse-mtls-ingestion",
    }


def test_bundle_is_cert_key_ca_json_and_secret() -> None:
    result = planned("prod")
    for role in ("ingestion", "api"):
        material = bundle(result, role)
        assert set(material) == {"cert", "key", "ca"}
        assert "PRIVATE KEY" in material["key"]
        version = one(result, "aws:secretsmanager/secretVersion:SecretVersion", f"mtls-{role}-version")
        assert version.input_is_secret("secretString")
        assert "secretString" in version.additional_secret_outputs


def test_ingestion_and_api_bundles_hold_different_keys() -> None:
    result = planned("dev")
    assert bundle(result, "ingestion")["key"] != bundle(result, "api")["key"]
