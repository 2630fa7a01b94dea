"""The warm container's ClickHouse client through the mTLS edge, rebuilt when its certificate changes.

Every function that reads or writes ClickHouse (ledger processor, API, workers) holds one of these at
module scope: the client certificate comes from the function's own Secrets Manager bundle, re-read after
``MTLS_MAX_AGE_SECONDS`` so a rotation is picked up without a redeploy.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Protocol

import boto3

from lambdas.common.clickhouse_client import mtls_client
from lambdas.common.mtls import MtlsBundleCache
from lambdas.common.settings import EdgeSettings


class ClickHouseProvider(Protocol):
    def client(self) -> Any: ...

    def invalidate(self) -> None: ...


class EdgeClickHouse:
    """ClickHouse through the mTLS edge, with the client certificate from Secrets Manager."""

    def __init__(self, settings: EdgeSettings, bundle: MtlsBundleCache) -> None:
        self._settings = settings
        self._bundle = bundle
        self._client: Any = None
        self._digest: str | None = None

    @classmethod
    def from_settings(
        cls, settings: EdgeSettings, *, secrets: Any = None, pem_dir: Path | None = None
    ) -> EdgeClickHouse:
        bundle = MtlsBundleCache(
            secrets if secrets is not None else boto3.client("secretsmanager"),
            settings.MTLS_SECRET_NAME,
            pem_dir or Path(tempfile.gettempdir()) / "prices-mtls",
            settings.MTLS_MAX_AGE_SECONDS,
        )
        return cls(settings, bundle)

    def client(self) -> Any:
        files = self._bundle.get()
        if self._client is None or files.digest != self._digest:
            ca = str(files.ca) if self._settings.CLICKHOUSE_SERVER_CA == "bundle" else "certifi"
            self._client = mtls_client(
                self._settings.CLICKHOUSE_URL, cert_file=str(files.cert), key_file=str(files.key), ca_cert=ca
            )
            self._digest = files.digest
        return self._client

    def invalidate(self) -> None:
        # After a connection failure: rebuild the client, and re-read the bundle in case it was rotated.
        self._client = None
        self._bundle.invalidate()


class FixedClickHouse:
    """A provider around a client built elsewhere: the local data plane (`make run`), tests, benchmarks.

    `invalidate` is a no-op: there is no bundle to re-read; the caller owns the client's lifetime.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self) -> Any:
        return self._client

    def invalidate(self) -> None:
        return None
