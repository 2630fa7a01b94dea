from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import CONFIG_KEYS, PROJECT, SettingsError, load_settings, read_raw_config, read_secrets

ROOT = Path(__file__).resolve().parents[2]


def stack_file_config(stack: str) -> tuple[dict[str, Any], str | None]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    raw = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}
    return raw, config.get("aws:region")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stack_files_hold_every_setting_and_validate(stack: str) -> None:
    raw, region = stack_file_config(stack)
    settings = load_settings(stack, raw, region)
    assert settings.env == stack
    assert settings.aws_region == "eu-central-1"
    # Every key the program reads is present in the file, not left to a default.
    # Off-by-default options appear in the files as commented examples (checked by test_sidecar).
    assert set(raw) == set(CONFIG_KEYS) - {"sidecar"}
    assert settings.partner.ledger_events_topic_arn.startswith("arn:aws:sns:eu-central-1:")
    assert settings.network.admin_cidrs


def test_prod_and_dev_point_at_different_servers() -> None:
    dev = load_settings("dev", *stack_file_config("dev"))
    prod = load_settings("prod", *stack_file_config("prod"))
    assert dev.clickhouse.domain != prod.clickhouse.domain
    assert dev.clickhouse.hcloud_server_id != prod.clickhouse.hcloud_server_id


def test_missing_key_names_stack_and_key() -> None:
    raw, region = stack_file_config("dev")
    del raw["partner"]
    with pytest.raises(SettingsError, match=r"stack 'dev': config key 'prices-api:partner': is required"):
        load_settings("dev", raw, region)


def test_bad_nested_value_names_the_camel_case_key_and_expectation() -> None:
    raw, region = stack_file_config("prod")
    raw["partner"] = {**raw["partner"], "ledgerEventsTopicArn": "not-an-arn"}
    with pytest.raises(SettingsError) as err:
        load_settings("prod", raw, region)
    message = str(err.value)
    assert "stack 'prod'" in message
    assert "prices-api:partner.ledgerEventsTopicArn" in message
    assert "SNS topic ARN" in message
    assert "'not-an-arn'" in message


def test_typo_in_nested_key_is_rejected() -> None:
    raw, region = stack_file_config("dev")
    raw["pki"] = {**raw["pki"], "rotationGenration": 2}
    with pytest.raises(SettingsError, match=r"prices-api:pki.rotationGenration': is not a known setting"):
        load_settings("dev", raw, region)


def test_unknown_top_level_key_is_rejected() -> None:
    raw, region = stack_file_config("dev")
    raw["partnr"] = {}
    with pytest.raises(SettingsError, match=r"'prices-api:partnr' is not read by this program"):
        load_settings("dev", raw, region)


def test_ssh_open_to_the_world_is_refused() -> None:
    raw, region = stack_file_config("dev")
    raw["network"] = {"adminCidrs": ["0.0.0.0/0"]}
    with pytest.raises(SettingsError, match=r"prices-api:network.adminCidrs': 0.0.0.0/0 opens SSH"):
        load_settings("dev", raw, region)


def test_list_items_are_located_by_index() -> None:
    raw, region = stack_file_config("dev")
    raw["clickhouse"] = {**raw["clickhouse"], "userHostCidrs": ["127.0.0.1/32", "10.0.0.1/8"]}
    with pytest.raises(SettingsError, match=r"prices-api:clickhouse.userHostCidrs'.*10.0.0.1/8"):
        load_settings("dev", raw, region)


def test_renewal_window_must_fit_in_validity() -> None:
    raw, region = stack_file_config("dev")
    raw["pki"] = {**raw["pki"], "validityHours": 700, "earlyRenewalHours": 720}
    with pytest.raises(SettingsError, match="earlyRenewalHours must be smaller than validityHours"):
        load_settings("dev", raw, region)


def test_unknown_stack_and_bad_region() -> None:
    raw, _ = stack_file_config("dev")
    with pytest.raises(SettingsError, match="unknown stack"):
        load_settings("staging", raw, "eu-central-1")
    with pytest.raises(SettingsError, match=r"config key 'aws:region'"):
        load_settings("dev", raw, None)


def test_raw_config_reader_decodes_objects_and_keeps_strings() -> None:
    values = {"pki": '{"bootstrapCa": true}', "tags": '{"a": "b"}', "edge": None}
    raw = read_raw_config(values.get)
    assert raw == {"pki": {"bootstrapCa": True}, "tags": {"a": "b"}}


def test_missing_secrets_name_the_key_and_the_command() -> None:
    settings = load_settings("dev", *stack_file_config("dev"))
    with pytest.raises(SettingsError, match=r"'prices-api:caKeyPem' is missing.*pulumi config set --secret caKeyPem"):
        read_secrets("dev", settings, {"sshPrivateKey": "k", "caCertPem": "c"}.get)
    with pytest.raises(SettingsError, match=r"'prices-api:sshPrivateKey' is missing"):
        read_secrets("dev", settings, {"caKeyPem": "k", "caCertPem": "c"}.get)


def test_bootstrap_mode_needs_no_ca_secrets() -> None:
    raw, region = stack_file_config("dev")
    raw["pki"] = {**raw["pki"], "bootstrapCa": True}
    settings = load_settings("dev", raw, region)
    secrets = read_secrets("dev", settings, {"sshPrivateKey": "k"}.get)
    assert secrets.ca_key_pem is None


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("ingest", "logRetentionDays"), 31, "one of the CloudWatch Logs retention periods"),
        (("api", "accessLogRetentionDays"), 2, "one of the CloudWatch Logs retention periods"),
        (("workers", "probes", "logRetentionDays"), 8, "one of the CloudWatch Logs retention periods"),
        (("backfill", "fanOut", "logRetentionDays"), 9, "one of the CloudWatch Logs retention periods"),
        (("partner", "ledgerBucketName"), "Ledger_Bucket", "an S3 bucket name"),
        (("backups", "bucketName"), "Backups_Bucket", "an S3 bucket name"),
        (("ops", "alarmEmail"), "ops-at-example.com", "an e-mail address"),
    ],
)
def test_shared_field_types_validate_wherever_they_are_used(path: tuple[str, ...], value: Any, expected: str) -> None:
    raw, region = stack_file_config("prod")
    node = raw
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    with pytest.raises(SettingsError, match=rf"'{PROJECT}:{'.'.join(path)}': {expected}.*\(got {value!r}\)"):
        load_settings("prod", raw, region)
