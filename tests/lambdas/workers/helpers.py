"""Shared pieces of the worker tests: Lambda context and scheduled event, EMF capture, engine clients."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdas.common.metric_catalog import MetricDef

# The engine clients every engine test uses (admin as `default`, the writer user with its settings profile).
from tests.lambdas.ledger_processor.test_candles_engine import admin_client, writer_client

__all__ = ["admin_client", "writer_client"]


@dataclass
class FakeContext:
    function_name: str = "prices-test-worker"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:prices-test-worker"
    aws_request_id: str = "req-0001"


def scheduled_event(time: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    """What EventBridge Scheduler / a schedule rule delivers to the function."""
    return {
        "version": "0",
        "id": "5c0f3c3e-2f46-4e0d-9b0a-000000000001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "eu-central-1",
        "resources": ["arn:aws:events:eu-central-1:123456789012:rule/prices-test-schedule"],
        "detail": {},
    }


@dataclass(frozen=True)
class EmfMetric:
    namespace: str
    name: str
    unit: str
    value: float
    dimensions: dict[str, str]


def emf_metrics(stdout: str) -> list[EmfMetric]:
    """Every metric in the CloudWatch EMF documents Powertools printed."""
    out: list[EmfMetric] = []
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            (dimension_names,) = directive["Dimensions"]
            dimensions = {name: str(doc[name]) for name in dimension_names}
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                for v in value if isinstance(value, list) else [value]:
                    out.append(EmfMetric(directive["Namespace"], metric["Name"], metric["Unit"], float(v), dimensions))
    return out


def assert_catalog_metrics(published: list[EmfMetric], catalog_defs: tuple[MetricDef, ...]) -> None:
    """Every published metric is a catalog entry: namespace, name, unit, service and dimension names and values."""
    by_name = {d.name: d for d in catalog_defs}
    assert published, "nothing was published"
    for metric in published:
        definition = by_name.get(metric.name)
        assert definition is not None, f"{metric.name} is not a catalog metric of this worker"
        assert metric.namespace == definition.namespace
        assert metric.unit == definition.unit
        assert set(metric.dimensions) == set(definition.dimension_names), metric
        assert metric.dimensions["service"] == definition.service
        for name, allowed in definition.dimensions:
            assert allowed is None or metric.dimensions[name] in allowed, metric
