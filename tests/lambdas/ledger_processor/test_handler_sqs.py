"""The ledger-processor handler called directly (never moto Lambda invoke), S3/Secrets/SQS through moto,
ClickHouse through the real engine behind the stand-in (and once through the real mTLS edge)."""

from __future__ import annotations

import hashlib
import json
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import zstandard
from moto import mock_aws

from lambdas.common.mtls import BundleError, MtlsBundleCache
from lambdas.common.settings import IngestSettings, SettingsError, load_ingest_settings
from lambdas.ledger_processor import handler as h
from lambdas.ledger_processor.ledger_files import ledger_key_for, zstd_decompress
from lambdas.ledger_processor.network_check import WrongNetworkError, check_network
from lambdas.ledger_processor.values import PUBNET_PASSPHRASE
from local.caddy_process import free_port
from local.dataplane import ChFront, execute_as_default, start_dataplane
from schema.migrations import apply_migrations
from schema.rbac import prices_access_model, stand_in_users
from tests.chfront_fixture import PASSWORDS, Front, running_front
from tests.lambdas.ledger_processor.helpers import FIXTURES, MAINNET, ledger_xdrs
from tests.lambdas.ledger_processor.test_candles_engine import (
    admin_client,
    fresh_prices,
    refresh_chain,
    snapshot,
    writer_client,
)

pytestmark = [pytest.mark.engine]

BUCKET = "ledger-bucket-test"
TESTNET = "Test SDF Network ; September 2015"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ingest"


@dataclass(frozen=True)
class Address:
    host: str
    port: int


@dataclass
class FakeContext:
    function_name: str = "ledger-processor"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ledger-processor"
    aws_request_id: str = "req-1"


class StaticClickHouse:
    """A plain-HTTP client factory (the edge is covered by its own test)."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._client: Any = None
        self.invalidations = 0

    def client(self) -> Any:
        if self._client is None:
            self._client = self._make()
        return self._client

    def invalidate(self) -> None:
        self.invalidations += 1
        self._client = None


def settings(**overrides: Any) -> IngestSettings:
    env = {
        "CLICKHOUSE_URL": "https://clickhouse.example.org",
        "MTLS_SECRET_NAME": "prices/ingestion/mtls",
        "LEDGER_BUCKET": BUCKET,
        "NETWORK_PASSPHRASE": PUBNET_PASSPHRASE,
        "INGEST_QUEUE_URL": QUEUE_URL,
        **overrides,
    }
    return load_ingest_settings(env)


def s3_body(key: str, bucket: str = BUCKET) -> str:
    return json.dumps(
        {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]}
    )


def sns_body(key: str) -> str:
    return json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": s3_body(key)})


def sqs_event(bodies: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": mid,
                "receiptHandle": f"rh-{mid}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "awsRegion": "us-east-1",
            }
            for mid, body in bodies
        ]
    }


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {f["itemIdentifier"] for f in response["batchItemFailures"]}


def upload_mainnet(s3: Any) -> dict[int, str]:
    keys = {}
    for seq, rel in MAINNET.items():
        keys[seq] = ledger_key_for(seq)
        s3.put_object(Bucket=BUCKET, Key=keys[seq], Body=(FIXTURES / rel).read_bytes())
    return keys


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for k, v in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": h.NAMESPACE,
    }.items():
        monkeypatch.setenv(k, v)
    yield
    h.set_runtime(None)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    with running_front(Path(tmp_path_factory.mktemp("chfront-handler"))) as f:
        yield f


# ---- pure pieces -------------------------------------------------------------------------------------


def test_settings_name_the_missing_or_invalid_variable() -> None:
    with pytest.raises(SettingsError, match="MTLS_SECRET_NAME is not set"):
        load_ingest_settings({"CLICKHOUSE_URL": "https://ch.example.org", "LEDGER_BUCKET": "b" * 5})
    with pytest.raises(SettingsError, match="CLICKHOUSE_URL"):
        settings(CLICKHOUSE_URL="http://ch.example.org")
    s = settings(CLICKHOUSE_URL="https://ch.example.org:8443/")
    assert (s.clickhouse_host, s.clickhouse_port, s.MTLS_MAX_AGE_SECONDS) == ("ch.example.org", 8443, 300)


def test_network_check_accepts_mainnet_and_rejects_other_networks() -> None:
    for rel in MAINNET.values():
        (xdr,) = ledger_xdrs(rel)
        assert check_network(xdr, PUBNET_PASSPHRASE).checked
        with pytest.raises(WrongNetworkError):
            check_network(xdr, TESTNET)
    (testnet,) = ledger_xdrs("testnet-local/FFFFFC18--999.xdr.zstd")
    assert check_network(testnet, TESTNET).checked
    with pytest.raises(WrongNetworkError):
        check_network(testnet, PUBNET_PASSPHRASE)


def test_s3_objects_reads_raw_and_sns_wrapped_events_and_ignores_the_test_event() -> None:
    key = ledger_key_for(63092990)
    assert list(h.s3_objects(s3_body(key))) == [(BUCKET, key)]
    assert list(h.s3_objects(sns_body(key))) == [(BUCKET, key)]
    encoded = json.dumps({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%2Fc.xdr.zst"}}}]})
    assert list(h.s3_objects(encoded)) == [("b", "a b/c.xdr.zst")]
    assert list(h.s3_objects(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"}))) == []
    for bad in ("not json", "[]", json.dumps({"Records": []}), json.dumps({"Records": [{"s3": {}}]})):
        with pytest.raises(h.PoisonLedgerError, match="bad_message"):
            list(h.s3_objects(bad))


def test_mtls_bundle_is_cached_with_a_bounded_age_and_written_0600(tmp_path: Path) -> None:
    now = [1000.0]
    with mock_aws():
        sm = boto3.client("secretsmanager")
        bundle = {"cert": "-----BEGIN CERTIFICATE-----\nAAA\n", "key": "-----BEGIN PRIVATE KEY-----\nBBB\n"}
        sm.create_secret(Name="mtls", SecretString=json.dumps({**bundle, "ca": "-----BEGIN CERTIFICATE-----\nC\n"}))
        cache = MtlsBundleCache(sm, "mtls", tmp_path / "pem", max_age_s=60, clock=lambda: now[0])
        first = cache.get()
        assert cache.get() == first and cache.fetches == 1
        for path in (first.cert, first.key, first.ca):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert first.key.read_text() == bundle["key"]
        sm.put_secret_value(
            SecretId="mtls", SecretString=json.dumps({**bundle, "ca": "-----BEGIN CERTIFICATE-----\nD"})
        )
        now[0] += 59
        assert cache.get() == first  # still within the bounded age
        now[0] += 1
        rotated = cache.get()
        assert cache.fetches == 2 and rotated.digest != first.digest and rotated.ca.read_text().endswith("D")
        assert first.cert.exists()  # a client built from the old bundle keeps valid paths
        sm.put_secret_value(SecretId="mtls", SecretString=json.dumps({"cert": "x", "key": "y", "ca": "z"}))
        now[0] += 60
        with pytest.raises(BundleError, match="'cert'") as info:
            cache.get()
        assert "x" not in str(info.value).replace("'cert'", "")


# ---- handler on the engine -------------------------------------------------------------------------


def test_poison_records_fail_alone_and_good_records_in_the_same_batch_are_written(front: Front) -> None:
    admin = admin_client(front)
    fresh_prices(admin)
    galexie = (FIXTURES / MAINNET[53312000]).read_bytes()
    raw = zstd_decompress(galexie)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        keys = upload_mainnet(s3)
        poison_objects = {
            "corrupt-zstd": (ledger_key_for(53312001), galexie[:4] + bytes(b ^ 0x5A for b in galexie[4:])),
            "truncated-xdr": (ledger_key_for(53312002), zstandard.ZstdCompressor().compress(raw[: len(raw) // 2])),
            "wrong-network": (ledger_key_for(999), (FIXTURES / "testnet-local/FFFFFC18--999.xdr.zstd").read_bytes()),
            "key-mismatch": (ledger_key_for(53312003), galexie),  # holds 53312000
            "bad-key": ("junk/ledger-53312000.xdr.zst", galexie),
        }
        for key, body in poison_objects.values():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        h.set_runtime(h.Runtime(settings(), s3, StaticClickHouse(lambda: writer_client(front))))
        bodies = [(f"good-{seq}", s3_body(key) if seq % 2 else sns_body(key)) for seq, key in keys.items()]
        bodies += [(name, s3_body(key)) for name, (key, _) in poison_objects.items()]
        bodies += [
            ("not-json", "{{{"),
            ("foreign-bucket", s3_body(keys[63092990], bucket="someone-else")),
            ("test-event", json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})),
        ]
        response = h.handler(sqs_event(bodies), FakeContext())
    assert failed_ids(response) == {*poison_objects, "not-json", "foreign-bucket"}
    ingested = admin.query("SELECT ledger, file_key FROM prices.ingested_ledgers FINAL ORDER BY ledger").result_rows
    assert ingested == sorted((seq, key) for seq, key in keys.items())
    assert admin.query("SELECT sum(trade_count) FROM prices.candle_parts_1m FINAL").result_rows == [(481,)]


def test_clickhouse_down_mid_batch_fails_the_rest_and_redelivery_matches_a_clean_run(tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    users = tmp_path / "users.json"
    hashes = {u: hashlib.sha256(pw.encode()).hexdigest() for u, pw in PASSWORDS.items()}
    users.write_text(json.dumps(stand_in_users(prices_access_model(), hashes)))
    # ChFront takes a fixed port and keeps its data directory: stop() and start() again is a server
    # restart at the same address, with the same data.
    chfront = ChFront(tmp_path / "ch", users, port)
    chfront.start()
    try:
        front = Address("127.0.0.1", port)
        apply_migrations(execute_as_default(chfront.url))
        with mock_aws():
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            keys = upload_mainnet(s3)
            ordered = sorted(keys.items())

            class StopsClickHouseOnThirdGet:
                def __init__(self) -> None:
                    self.gets = 0

                def get_object(self, **kw: Any) -> Any:
                    self.gets += 1
                    if self.gets == 3:
                        chfront.stop()
                    return s3.get_object(**kw)

            provider = StaticClickHouse(lambda: writer_client(front))
            h.set_runtime(h.Runtime(settings(), StopsClickHouseOnThirdGet(), provider))
            event = sqs_event([(str(seq), s3_body(key)) for seq, key in ordered])
            first = h.handler(event, FakeContext())
            assert failed_ids(first) == {str(seq) for seq, _ in ordered[2:]}
            assert provider.invalidations >= 4

            chfront.start()  # same data directory and port: the server is back
            h.set_runtime(h.Runtime(settings(), s3, provider))
            pending = failed_ids(first)
            for _ in range(3):  # SQS redelivers what failed
                if not pending:
                    break
                redelivery = sqs_event([(str(seq), s3_body(key)) for seq, key in ordered if str(seq) in pending])
                pending = failed_ids(h.handler(redelivery, FakeContext()))
            assert pending == set()
            # a duplicate delivery of the whole batch changes nothing either
            assert failed_ids(h.handler(event, FakeContext())) == set()
            admin = admin_client(front)
            refresh_chain(admin)
            recovered = snapshot(admin)

            fresh_prices(admin)
            assert failed_ids(h.handler(event, FakeContext())) == set()
            refresh_chain(admin)
            assert snapshot(admin) == recovered
            assert sum(r[-2] for r in recovered["1m"]) == 481  # trade_count
    finally:
        chfront.stop()


def test_production_path_reads_the_mtls_bundle_from_secrets_manager_and_writes_through_the_edge(
    tmp_path: Path,
) -> None:
    with start_dataplane(tmp_path / "plane", progress=lambda _m: None) as plane:
        ident = plane.pki.identities["ingestion"]
        bundle = {
            "cert": ident.cert.read_text(),
            "key": ident.key.read_text(),
            "ca": plane.pki.edge_server_ca.read_text(),
        }
        env = {
            "CLICKHOUSE_URL": plane.edge_url,
            "MTLS_SECRET_NAME": "prices/local/ingestion",
            "LEDGER_BUCKET": BUCKET,
            "NETWORK_PASSPHRASE": PUBNET_PASSPHRASE,
            "INGEST_QUEUE_URL": QUEUE_URL,
            "CLICKHOUSE_SERVER_CA": "bundle",
        }
        with mock_aws():
            boto3.client("secretsmanager").create_secret(Name=env["MTLS_SECRET_NAME"], SecretString=json.dumps(bundle))
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            key = ledger_key_for(63092990)
            s3.put_object(Bucket=BUCKET, Key=key, Body=(FIXTURES / MAINNET[63092990]).read_bytes())
            h.set_runtime(h.build_runtime(env, pem_dir=tmp_path / "pem"))
            response = h.handler(sqs_event([("m1", sns_body(key))]), FakeContext())
        assert response == {"batchItemFailures": []}
        pems = sorted((tmp_path / "pem").iterdir())
        assert len(pems) == 3 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in pems)
        direct = admin_client(Address("127.0.0.1", int(plane.clickhouse_http.rsplit(":", 1)[1])))
        assert direct.query("SELECT ledger, trade_count FROM prices.ingested_ledgers FINAL").result_rows == [
            (63092990, 60)
        ]
