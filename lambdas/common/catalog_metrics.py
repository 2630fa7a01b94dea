"""Publishing metrics exactly as lambdas/common/metric_catalog.py defines them.

Alarms and the dashboard are built from the catalog; a metric published under another namespace, service or
dimension set would be a metric nobody watches (reference-system.md §13.8). So workers and the backfill fan-out
never call Powertools
with free-form names: they hand a ``MetricDef`` and the dimension values, and this module refuses anything the
catalog does not list.

Metrics without extra dimensions go through the function's Powertools ``Metrics`` (flushed by
``log_metrics`` at the end of the invocation, with the ``service`` dimension). A metric with extra dimensions
(per role, per granularity) is printed at once as its own EMF document via ``single_metric``: Powertools
applies a ``Metrics`` object's dimensions to every metric it flushes, which would mix the sets.
"""

from __future__ import annotations

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common.metric_catalog import MetricDef


class CatalogError(ValueError):
    """A worker tried to publish something the metric catalog does not define."""


class CatalogMetrics:
    def __init__(self, metrics: Metrics, namespace: str, service: str) -> None:
        self._metrics = metrics
        self.namespace = namespace
        self.service = service

    def put(self, metric: MetricDef, value: float, **dimensions: str) -> None:
        if (metric.namespace, metric.service) != (self.namespace, self.service):
            raise CatalogError(
                f"{metric.name} belongs to {metric.namespace}/{metric.service}, not {self.namespace}/{self.service}"
            )
        expected = dict(metric.dimensions)
        if set(dimensions) != set(expected):
            raise CatalogError(f"{metric.name} takes dimensions {sorted(expected)}, got {sorted(dimensions)}")
        for name, allowed in expected.items():
            if allowed is not None and dimensions[name] not in allowed:
                raise CatalogError(f"{metric.name}: {name}={dimensions[name]!r} is not one of {list(allowed)}")
        unit = MetricUnit(metric.unit)
        if dimensions:
            with single_metric(
                name=metric.name,
                unit=unit,
                value=value,
                namespace=metric.namespace,
                default_dimensions={"service": self.service, **dimensions},
            ):
                pass
        else:
            self._metrics.add_metric(name=metric.name, unit=unit, value=value)
