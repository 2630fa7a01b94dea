"""ClickHouse clients that go through the mTLS edge (Caddy) rather than to ClickHouse directly.

The edge terminates TLS, checks the client certificate and logs the request in as the ClickHouse user
mapped to the certificate's CN. So the client presents a certificate and sends no credentials: the
edge would strip them anyway, and clickhouse-connect's default "mutual" mode would ask ClickHouse
itself for certificate authentication, which is wrong behind a TLS-terminating proxy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

HTTPS_PORT = 443


def load_endpoints(endpoints: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(endpoints, Mapping):
        return endpoints
    return json.loads(Path(endpoints).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def edge_client(
    endpoints: Mapping[str, Any] | str | Path,
    role: str,
    *,
    connect_host: str | None = None,
    ca_cert: str | None = None,
    **client_kwargs: Any,
) -> Client:
    """A clickhouse-connect client for `role` ("ingestion", "api") through the edge.

    `endpoints` is the local data plane's endpoints.json (or its parsed content). `connect_host` dials
    another address (e.g. an IP) while SNI and certificate checks still use the edge hostname, which the
    edge needs: without SNI it answers 421. `ca_cert` overrides the edge's server CA file ("certifi" for
    the public ACME certificate in production).
    """
    config = load_endpoints(endpoints)
    identities = config["identities"]
    if role not in identities:
        raise KeyError(f"no identity {role!r} in endpoints; known: {', '.join(sorted(identities))}")
    identity = identities[role]
    edge = urlsplit(config["edge_url"])
    if edge.scheme != "https" or not edge.hostname:
        raise ValueError(f"edge_url must be https://<hostname>[:port], got {config['edge_url']!r}")
    return mtls_client(
        config["edge_url"],
        cert_file=str(identity["cert"]),
        key_file=str(identity["key"]),
        ca_cert=ca_cert or config.get("edge_server_ca") or "certifi",
        connect_host=connect_host,
        **client_kwargs,
    )


def mtls_client(
    edge_url: str,
    *,
    cert_file: str,
    key_file: str,
    ca_cert: str = "certifi",
    connect_host: str | None = None,
    **client_kwargs: Any,
) -> Client:
    """A clickhouse-connect client through the edge at ``edge_url`` (https://hostname[:port]) presenting the
    client certificate in ``cert_file``/``key_file`` (paths: clickhouse-connect does not take PEM strings)."""
    edge = urlsplit(edge_url)
    if edge.scheme != "https" or not edge.hostname:
        raise ValueError(f"edge_url must be https://<hostname>[:port], got {edge_url!r}")
    return clickhouse_connect.get_client(
        host=connect_host or edge.hostname,
        port=edge.port or HTTPS_PORT,
        interface="https",
        tls_mode="proxy",
        server_host_name=edge.hostname,
        ca_cert=ca_cert,
        client_cert=cert_file,
        client_cert_key=key_file,
        # Concurrent Lambda invocations share a container's client; a session id would serialise them
        # and fail with "session is locked".
        autogenerate_session_id=False,
        **client_kwargs,
    )
