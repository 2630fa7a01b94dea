"""What every scheduled worker module sets up at import: its Powertools objects and its clock.

The Logger, Metrics, Tracer and catalog publisher of a worker all take the namespace and service of the metrics
it is catalogued with (lambdas/common/metric_catalog.py): derived here from one of its ``MetricDef`` s, so no
worker can flush under a namespace or service that the alarms and the dashboard do not watch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from aws_lambda_powertools import Logger, Metrics, Tracer

from lambdas.common.catalog_metrics import CatalogMetrics
from lambdas.common.metric_catalog import MetricDef


class WorkerPowertools(NamedTuple):
    logger: Logger
    metrics: Metrics
    tracer: Tracer
    publisher: CatalogMetrics


def worker_powertools(metric: MetricDef) -> WorkerPowertools:
    """The Powertools objects of the worker that publishes ``metric`` (its namespace and service)."""
    service, namespace = metric.service, metric.namespace
    metrics = Metrics(namespace=namespace, service=service)
    return WorkerPowertools(
        logger=Logger(service=service),
        metrics=metrics,
        tracer=Tracer(service=service),
        publisher=CatalogMetrics(metrics, namespace, service),
    )


def utc_now() -> datetime:
    """The default clock of every worker runtime (tests put a fixed one in)."""
    return datetime.now(UTC)
