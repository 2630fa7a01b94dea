"""Catalog-checked publishing: what the workers may publish is exactly what the alarms and dashboard watch."""

from __future__ import annotations

import pytest

from lambdas.common import metric_catalog as catalog
from lambdas.common.catalog_metrics import CatalogError
from lambdas.workers.scaffold import worker_powertools
from tests.lambdas.workers.helpers import EmfMetric, emf_metrics


def test_a_metric_outside_the_workers_catalog_entry_is_refused_before_anything_is_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    publisher = worker_powertools(catalog.DAYS_TO_NOT_AFTER).publisher
    refused = [
        (lambda: publisher.put(catalog.PARTITIONS_DROPPED, 1), "belongs to Prices/Cleanup/cleanup, not Prices/Probes"),
        (lambda: publisher.put(catalog.DAYS_TO_NOT_AFTER, 1), r"takes dimensions \['Role'\], got \[\]"),
        (lambda: publisher.put(catalog.MIN_DAYS_TO_NOT_AFTER, 1, Role="api"), r"takes dimensions \[\], got \['Role'\]"),
        (lambda: publisher.put(catalog.DAYS_TO_NOT_AFTER, 1, Role="admin"), "Role='admin' is not one of"),
        (lambda: publisher.put(catalog.CANDLE_AGE_SECONDS, 1, Granularity="2h"), "Granularity='2h' is not one of"),
    ]
    for put, message in refused:
        with pytest.raises(CatalogError, match=message):
            put()
    assert emf_metrics(capsys.readouterr().out) == []


def test_each_metric_is_printed_with_its_catalogued_namespace_service_and_dimensions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger, metrics, tracer, publisher = worker_powertools(catalog.CANDLE_AGE_SECONDS)
    assert (logger.service, tracer.service, publisher.service, publisher.namespace) == (
        "probes",
        "probes",
        "probes",
        "Prices/Probes",
    )
    publisher.put(catalog.CANDLE_AGE_SECONDS, 90, Granularity="1h")  # its own EMF document, at once
    publisher.put(catalog.CLICKHOUSE_FREE_DISK_PCT, 42.5)  # buffered until the flush
    assert emf_metrics(capsys.readouterr().out) == [
        EmfMetric("Prices/Probes", "CandleAgeSeconds", "Seconds", 90.0, {"service": "probes", "Granularity": "1h"})
    ]
    metrics.flush_metrics()
    assert emf_metrics(capsys.readouterr().out) == [
        EmfMetric("Prices/Probes", "ClickHouseFreeDiskPct", "Percent", 42.5, {"service": "probes"})
    ]
