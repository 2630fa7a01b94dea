"""The alarms on the probes' metrics: thresholds from config, catalogued metrics, a dead probe alarms."""

import json
import re
from typing import Any

import pytest

from components.alarms import GRANULARITY_SLUGS, catalog_dimensions
from components.settings import (
    DEFAULT_CANDLE_AGE_MAX_SECONDS,
    MIN_CANDLE_AGE_THRESHOLD_SECONDS,
    SettingsError,
    WorkersSettings,
    load_settings,
)
from lambdas.common import metric_catalog as mc
from offline.runner import REPO_ROOT, PlanResult
from tests.components.program import children_of, one, planned, run
from tests.components.test_settings import stack_file_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms_config(stack: str, **changes: Any) -> dict[str, Any]:
    raw, _ = stack_file_config(stack)
    stanza = json.loads(json.dumps(raw["workers"]))
    stanza["alarms"] = {**stanza["alarms"], **changes}
    return dict(stanza)


def probe_alarms(result: PlanResult) -> dict[str, dict[str, Any]]:
    component = one(result, "prices:alarms:ProbeAlarms", "alarms")
    found = {a.name.removeprefix("alarms-"): a.inputs for a in children_of(result, component)}
    assert all(a.type == ALARM for a in children_of(result, component))
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_probe_alarm_exists_with_the_reference_thresholds(stack: str) -> None:
    found = probe_alarms(planned(stack))
    expected: dict[str, tuple[str, str, str, float]] = {
        "mtls-not-after": ("MinDaysToNotAfter", "Minimum", "LessThanThreshold", 30),
        **{
            f"candle-age-{GRANULARITY_SLUGS[g]}": ("CandleAgeSeconds", "Maximum", "GreaterThanThreshold", seconds)
            # The stacks tighten the reference's coarse thresholds (test below, and the stack files say why).
            for g, seconds in {
                "1m": 900,
                "15m": 3600,
                "1h": 3600,
                "4h": 3600,
                "1d": 3600,
                "1w": 3600,
                "1M": 3600,
            }.items()
        },
        "current-prices-age": ("CurrentPricesAgeSeconds", "Maximum", "GreaterThanThreshold", 900),
        "clickhouse-free-disk": ("ClickHouseFreeDiskPct", "Minimum", "LessThanThreshold", 20),
        "clickhouse-write-latency": ("ClickHouseWriteLatencyMs", "Maximum", "GreaterThanThreshold", 2000),
        "backfill-push-age": ("BackfillPushAgeSeconds", "Maximum", "GreaterThanThreshold", 604_800),
    }
    assert set(found) == set(expected)
    for suffix, (metric, statistic, comparison, threshold) in expected.items():
        inputs = found[suffix]
        assert inputs["name"] == f"prices-{stack}-{suffix}"
        assert (inputs["namespace"], inputs["metricName"]) == ("Prices/Probes", metric)
        assert (inputs["statistic"], inputs["comparisonOperator"], inputs["threshold"]) == (
            statistic,
            comparison,
            threshold,
        )
        assert "docs/operations.md#" in inputs["alarmDescription"]


def test_every_what_to_do_anchor_is_a_section_of_the_operations_doc() -> None:
    result = planned("dev")
    doc = (REPO_ROOT / "docs" / "operations.md").read_text()
    sections = {line.removeprefix("### ").strip() for line in doc.splitlines() if line.startswith("### ")}
    anchors = {
        anchor
        for alarm in result.of_type(ALARM)
        for anchor in re.findall(r"docs/operations\.md#([a-z0-9-]+)", alarm.inputs.get("alarmDescription", ""))
    }
    # The probe alarms (one section for the seven candle-age alarms) and oracle-no-prices.
    assert len(anchors) == 7
    assert sorted(anchors - sections) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_dead_probe_alarms_except_where_silence_means_nothing_to_watch(stack: str) -> None:
    result = planned(stack)
    topic = [result.outputs["ops_alarm_topic_arn"]]
    for suffix, inputs in probe_alarms(result).items():
        # Missing data is breaching: a probe that stops publishing must not hide a stale table or an expiring
        # certificate. The backfill push age is published only while a backfill runs.
        expected = "notBreaching" if suffix == "backfill-push-age" else "breaching"
        assert inputs["treatMissingData"] == expected, suffix
        # One period per probe run, three consecutive probe periods.
        assert (inputs["period"], inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (300, 3, 3)
        assert inputs["alarmActions"] == inputs["okActions"] == topic


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_alarm_watches_the_exact_dimension_set_the_probe_publishes(stack: str) -> None:
    found = probe_alarms(planned(stack))
    for granularity, slug in GRANULARITY_SLUGS.items():
        assert found[f"candle-age-{slug}"]["dimensions"] == {"service": "probes", "Granularity": granularity}
    for suffix in ("mtls-not-after", "current-prices-age", "clickhouse-free-disk", "backfill-push-age"):
        assert found[suffix]["dimensions"] == {"service": "probes"}


def test_thresholds_and_window_come_from_config() -> None:
    changes = {
        "evaluationPeriods": 2,
        "minDaysToNotAfter": 45,
        "candleAgeMaxSeconds": {"1m": 600},
        "currentPricesMaxAgeSeconds": 1200,
        "minFreeDiskPct": 15,
        "maxWriteLatencyMs": 750,
        "maxBackfillPushAgeSeconds": 86_400,
    }
    raw, _ = stack_file_config("dev")
    workers = alarms_config("dev", **changes)
    workers["probes"] = {**raw["workers"]["probes"], "schedule": "rate(10 minutes)"}
    found = probe_alarms(run("dev", config_overrides={"workers": workers}))
    assert found["mtls-not-after"]["threshold"] == 45
    assert found["candle-age-1m"]["threshold"] == 600
    assert found["candle-age-15m"]["threshold"] == 3600  # unlisted granularities keep their default
    assert found["current-prices-age"]["threshold"] == 1200
    assert found["clickhouse-free-disk"]["threshold"] == 15
    assert found["clickhouse-write-latency"]["threshold"] == 750
    assert found["backfill-push-age"]["threshold"] == 86_400
    assert {(a["period"], a["evaluationPeriods"]) for a in found.values()} == {(600, 2)}


def test_freshness_thresholds_are_above_a_healthy_age_and_the_defaults_are_the_references() -> None:
    # The probe's age is now − close time of the newest ledger a tier absorbed (docs/workers.md): a healthy tier
    # is ingest lag plus a few one-minute refreshes old, so every threshold must sit above that floor.
    assert WorkersSettings().alarms.candle_age_max_seconds == {
        "1m": 900,
        "15m": 3600,
        "1h": 10_800,
        "4h": 43_200,
        "1d": 172_800,
        "1w": 864_000,
        "1M": 3_888_000,
    }
    assert min(DEFAULT_CANDLE_AGE_MAX_SECONDS.values()) > MIN_CANDLE_AGE_THRESHOLD_SECONDS
    assert set(DEFAULT_CANDLE_AGE_MAX_SECONDS) == set(mc.GRANULARITY_TABLES) == set(GRANULARITY_SLUGS)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_stuck_rollup_alarms_while_the_views_look_back_can_still_heal_it(stack: str) -> None:
    # The rollup views re-roll only what changed in their look-back (schema/008: 2 hours). A threshold plus the
    # evaluation window beyond it would announce a freeze only once a manual rollup_range repair is needed.
    view = (REPO_ROOT / "schema" / "008_rollup_refreshable_views.sql").read_text()
    (hours,) = set(re.findall(r"changed_since = now64\(3, 'UTC'\) - INTERVAL (\d+) HOUR", view))
    workers = load_settings(stack, *stack_file_config(stack)).workers
    window = workers.alarms.evaluation_periods * workers.probes.cadence_period_seconds
    for granularity, threshold in workers.alarms.candle_age_max_seconds.items():
        assert threshold + window < int(hours) * 3600, granularity


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"candleAgeMaxSeconds": {"1M": 300}}, r"workers.alarms.candleAgeMaxSeconds': 1M: 300 s is not above the 300"),
        ({"candleAgeMaxSeconds": {"1m": 60}}, r"workers.alarms.candleAgeMaxSeconds': 1m: 60 s is not above the 300 s"),
        ({"candleAgeMaxSeconds": {"2h": 9000}}, r"workers.alarms.candleAgeMaxSeconds': unknown granularity '2h'"),
        ({"candleAgeMaxSeconds": {"1h": "soon"}}, r"workers.alarms.candleAgeMaxSeconds': 1h: 'soon' is not a whole"),
        ({"minFreeDiskPct": 100}, r"workers.alarms.minFreeDiskPct'"),
        ({"minDaysToNotAfter": 0}, r"workers.alarms.minDaysToNotAfter'"),
        ({"evaluationPeriods": 300}, r"workers.alarms.evaluationPeriods'"),
        ({"maxWriteLatencyMs": 0}, r"workers.alarms.maxWriteLatencyMs'"),
    ],
)
def test_bad_alarm_settings_name_the_key(changes: dict[str, Any], message: str) -> None:
    raw, region = stack_file_config("prod")
    raw["workers"] = alarms_config("prod", **changes)
    with pytest.raises(SettingsError, match=message):
        load_settings("prod", raw, region)


def test_probe_alarm_window_must_fit_cloudwatch_for_the_probe_cadence() -> None:
    raw, region = stack_file_config("prod")
    raw["workers"] = alarms_config("prod", evaluationPeriods=100)
    assert load_settings("prod", raw, region).workers.alarms.evaluation_periods == 100  # 100 x 300 s fits a day
    raw["workers"]["probes"] = {**raw["workers"]["probes"], "schedule": "rate(15 minutes)"}
    with pytest.raises(
        SettingsError,
        match=r"workers': alarms.evaluationPeriods: 100 x 900 s = 90000 s exceeds CloudWatch's 86400 s limit",
    ):
        load_settings("prod", raw, region)


def test_catalog_dimensions_refuse_what_is_never_published() -> None:
    assert catalog_dimensions(mc.CANDLE_AGE_SECONDS, {"Granularity": "1w"}) == {
        "service": "probes",
        "Granularity": "1w",
    }
    assert catalog_dimensions(mc.LEDGERS_INGESTED) == {"service": "ledger-processor"}
    with pytest.raises(ValueError, match=r"published with dimensions \['Granularity', 'service'\]"):
        catalog_dimensions(mc.CANDLE_AGE_SECONDS)
    with pytest.raises(ValueError, match=r"Granularity='2h' is never published"):
        catalog_dimensions(mc.CANDLE_AGE_SECONDS, {"Granularity": "2h"})
    with pytest.raises(ValueError, match=r"got values for \['Role'\]"):
        catalog_dimensions(mc.MIN_DAYS_TO_NOT_AFTER, {"Role": "api"})
