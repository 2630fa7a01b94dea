"""The API function's environment: exactly what the Api component deploys, validated once at cold start.

``CLICKHOUSE_URL``, ``MTLS_SECRET_NAME`` (the reader identity's bundle), optional ``MTLS_MAX_AGE_SECONDS``
and ``CLICKHOUSE_SERVER_CA`` come from ``EdgeSettings``; ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` are read by Powertools itself. Nothing else is needed, so nothing else is
declared: an unrelated variable is ignored, a missing or bad one stops the cold start with its name.
"""

from __future__ import annotations

from collections.abc import Mapping

from lambdas.common.settings import EdgeSettings, load_env_settings

# The Powertools service and metrics namespace: the handler's Logger/Metrics/Tracer and the Api component's
# POWERTOOLS_* variables and PutMetricData grant both take them from here.
SERVICE = "api"
METRICS_NAMESPACE = "Prices/Api"


class ApiSettings(EdgeSettings):
    """The reader's edge settings; the API needs no variable of its own."""


def load_api_settings(environ: Mapping[str, str]) -> ApiSettings:
    return load_env_settings(ApiSettings, environ, SERVICE)
