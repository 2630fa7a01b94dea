"""The mTLS client bundle from Secrets Manager, cached with a bounded age and written to 0600 files.

The secret holds JSON ``{"cert": PEM, "key": PEM, "ca": PEM}`` (components/mtls_secrets.py).
clickhouse-connect wants file paths, so the PEMs go to the function's ephemeral storage; every distinct
bundle gets its own file names (by content digest), so a client built from an older bundle keeps valid
paths while a rotation is picked up by the next ``get()`` after ``max_age_s``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BundleError(ValueError):
    """The secret does not hold a usable bundle (the message never includes secret material)."""


@dataclass(frozen=True)
class MtlsFiles:
    cert: Path
    key: Path
    ca: Path
    digest: str  # identifies the bundle version; changes when the secret's content changes


def _write_0600(path: Path, text: str) -> None:
    if path.exists():
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_bundle(secret_string: str) -> dict[str, str]:
    try:
        data = json.loads(secret_string)
    except json.JSONDecodeError:
        raise BundleError("mTLS secret is not JSON") from None
    if not isinstance(data, dict):
        raise BundleError("mTLS secret must be a JSON object {cert, key, ca}")
    out = {}
    for field, marker in (("cert", "CERTIFICATE"), ("key", "PRIVATE KEY"), ("ca", "CERTIFICATE")):
        value = data.get(field)
        if not isinstance(value, str) or "-----BEGIN " not in value or marker not in value:
            raise BundleError(f"mTLS secret field {field!r} is missing or not a PEM {marker.lower()}")
        out[field] = value
    return out


class MtlsBundleCache:
    def __init__(
        self,
        secrets_client: Any,
        secret_name: str,
        directory: Path,
        max_age_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secrets = secrets_client
        self._name = secret_name
        self._dir = directory
        self._max_age = max_age_s
        self._clock = clock
        self._files: MtlsFiles | None = None
        self._fetched_at = 0.0
        self.fetches = 0

    def get(self) -> MtlsFiles:
        now = self._clock()
        if self._files is None or now - self._fetched_at >= self._max_age:
            self._files = self._fetch()
            self._fetched_at = now
        return self._files

    def invalidate(self) -> None:
        self._files = None

    def _fetch(self) -> MtlsFiles:
        self.fetches += 1
        secret = self._secrets.get_secret_value(SecretId=self._name)
        bundle = parse_bundle(secret["SecretString"])
        digest = hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()[:16]
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        files = MtlsFiles(
            cert=self._dir / f"client-{digest}.pem",
            key=self._dir / f"client-{digest}.key",
            ca=self._dir / f"ca-{digest}.pem",
            digest=digest,
        )
        _write_0600(files.cert, bundle["cert"])
        _write_0600(files.key, bundle["key"])
        _write_0600(files.ca, bundle["ca"])
        return files
