"""GET /v1/oracles/{asset}, /v1/backfill/status and /health on the real engine (conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lambdas.api import endpoints, handler
from lambdas.backfill.progress_table import ProgressRow
from lambdas.common.edge_clickhouse import EdgeClickHouse, FixedClickHouse
from lambdas.common.settings import EdgeSettings
from tests.chfront_fixture import running_front
from tests.lambdas.api.conftest import NEVER_SEEN, UNTRADED, USDC, Call, Engine, reader_client

pytestmark = [pytest.mark.engine, pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")]


def test_oracles_latest_observation_per_oracle(call: Call) -> None:
    answer = call("GET", "/v1/oracles/XLM")
    assert answer.status == 200 and answer.headers["Cache-Control"] == "public, max-age=60"
    assert answer.body == {
        "asset": "native",
        "oracles": [
            {"oracle": "redstone", "price_usd": 0.3, "updated_at": "2026-06-18T23:02:00Z"},
            {"oracle": "reflector", "price_usd": 0.27, "updated_at": "2026-06-18T23:10:00Z"},
        ],
    }
    assert call("GET", f"/v1/oracles/{USDC}").body["oracles"] == [
        {"oracle": "reflector", "price_usd": 1.0, "updated_at": "2026-06-18T23:00:00Z"}
    ]


def test_oracles_of_a_known_asset_without_observations_and_of_an_unknown_one(call: Call) -> None:
    assert call("GET", f"/v1/oracles/{UNTRADED}").body == {"asset": UNTRADED, "oracles": []}
    unknown = call("GET", f"/v1/oracles/{NEVER_SEEN}")
    assert (unknown.status, unknown.body["code"]) == (404, "asset_not_found")


def data_min(engine: Engine, condition: str) -> datetime:
    # A plain scan of every part, independent of the handler's two-step lookup.
    value = engine.admin.query(f"SELECT min(timestamp) FROM prices.candle_parts_1m WHERE {condition}").result_rows[0][0]
    return value.replace(tzinfo=UTC)


def test_backfill_status_fields_and_earliest_dates_the_data_supports(call: Call, engine: Engine) -> None:
    answer = call("GET", "/v1/backfill/status")
    assert answer.status == 200
    body = answer.body
    assert body["realtime_tip_ledger"] == engine.tip_ledger == 63_092_996
    assert datetime.fromisoformat(body["realtime_tip_closed_at"]) == engine.tip_closed_at
    sdex_data, amm_data = data_min(engine, "source = 'sdex'"), data_min(engine, "source != 'sdex'")
    assert sdex_data < datetime(2025, 1, 1, tzinfo=UTC) and amm_data > datetime(2020, 1, 1, tzinfo=UTC)
    # sdex: the dedicated task, completed (walked down to its start); its stored claim (2025) is stricter
    # than the data (2024), so it stands.
    assert body["sdex"] == {
        "task": "sdex_archive",
        "status": "completed",
        "start_ledger": 1,
        "target_ledger": 63_000_000,
        "current_ledger": 1,
        "progress_pct": 100.0,
        "ledgers_remaining": 0,
        "last_push_at": "2026-06-17T00:00:00Z",
        "completed_at": "2026-06-17T00:00:00Z",
        "earliest_data_available": "2025-01-01T00:00:00Z",
    }
    # soroban_amm: the one-pass history task; it claims 2020, the data starts later: the data wins.
    amm = body["soroban_amm"]
    assert amm["task"] == "history" and amm["status"] == "running"
    assert (amm["start_ledger"], amm["target_ledger"], amm["current_ledger"]) == (50_000_000, 63_000_000, 57_000_000)
    assert amm["progress_pct"] == round(100 * 6_000_001 / 13_000_001, 2) == 46.15
    assert amm["ledgers_remaining"] == 7_000_000 and amm["completed_at"] is None
    assert amm["last_push_at"] == "2026-06-18T12:00:00Z"
    assert datetime.fromisoformat(amm["earliest_data_available"]) == amm_data


def facts(**kw: Any) -> ProgressRow:
    base: dict[str, Any] = {
        "task_name": "history",
        "start_ledger": 10,
        "target_ledger": 110,
        "current_ledger": 60,
        "status": "running",
        "last_push_at": None,
        "earliest_data_available": datetime(2024, 1, 1, tzinfo=UTC),
        "newest_data_available": None,
        "started_at": datetime(2024, 1, 1, tzinfo=UTC),
        "completed_at": None,
    }
    return ProgressRow(**{**base, **kw})


def test_backfill_section_rules() -> None:
    data = datetime(2024, 6, 1, tzinfo=UTC)
    section = endpoints.backfill_task("sdex", {"history": facts()}, data)
    # [60, 110] of [10, 110] is complete: 51 of 101 ledgers (inclusive, like `python -m lambdas.backfill status`).
    assert (section.progress_pct, section.ledgers_remaining, section.earliest_data_available) == (50.5, 50, data)
    # No candles at all: nothing is claimed, whatever the task stored.
    assert endpoints.backfill_task("sdex", {"history": facts()}, None).earliest_data_available is None
    # A stored claim later than the data stands.
    later = datetime(2025, 1, 1, tzinfo=UTC)
    assert (
        endpoints.backfill_task("sdex", {"history": facts(earliest_data_available=later)}, data).earliest_data_available
        == later
    )
    # No row: not started, but the data (live ingestion) still shows where candles begin.
    idle = endpoints.backfill_task("soroban_amm", {}, data)
    assert (idle.status, idle.task, idle.progress_pct, idle.earliest_data_available) == (
        "not_started",
        "history",
        None,
        data,
    )
    # Degenerate ranges never divide by zero; progress stays within 0..100.
    assert (
        endpoints.backfill_task(
            "sdex", {"history": facts(start_ledger=5, target_ledger=5, current_ledger=5, status="completed")}, data
        ).progress_pct
        == 100.0
    )
    assert endpoints.backfill_task("sdex", {"history": facts(current_ledger=500)}, data).progress_pct == 0.0
    # The dedicated task wins over the one-pass task.
    both = {"history": facts(), "sdex_archive": facts(task_name="sdex_archive", current_ledger=10, status="completed")}
    assert endpoints.backfill_task("sdex", both, data).task == "sdex_archive"
    assert endpoints.backfill_task("soroban_amm", both, data).task == "history"


def test_health_up(call: Call) -> None:
    answer = call("GET", "/health")
    assert (answer.status, answer.body) == (200, {"status": "ok", "clickhouse": "up"})
    assert answer.headers["Cache-Control"] == "no-store"


def test_health_down_when_clickhouse_went_away(call: Call, tmp_path: Path) -> None:
    with running_front(tmp_path / "gone") as front:
        client = reader_client(front)
        assert client.ping()
    handler.set_runtime(handler.Runtime(FixedClickHouse(client)))
    answer = call("GET", "/health")
    assert (answer.status, answer.body["code"]) == (503, "clickhouse_unavailable")
    assert "1.5 s" in answer.body["message"] and answer.headers["Cache-Control"] == "no-store"
    # Any data route answers 503 too (the connection failed), never a 500 or a hang.
    data = call("GET", "/v1/assets/native/price")
    assert (data.status, data.body["code"]) == (503, "upstream_unavailable")


class BrokenSecrets:
    def get_secret_value(self, **_: Any) -> dict[str, Any]:
        raise RuntimeError("AccessDeniedException: secret arn:aws:secretsmanager:...:prices-api")


def test_health_down_when_the_mtls_bundle_cannot_be_read(
    call: Call, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = EdgeSettings(CLICKHOUSE_URL="https://ch.example.org", MTLS_SECRET_NAME="prices/dev/api")
    handler.set_runtime(
        handler.Runtime(EdgeClickHouse.from_settings(settings, secrets=BrokenSecrets(), pem_dir=tmp_path))
    )
    answer = call("GET", "/health")
    assert (answer.status, answer.body["code"]) == (503, "clickhouse_unavailable")
    other = call("GET", "/v1/assets")
    assert (other.status, other.body["code"]) == (500, "internal_error")
    assert "secret" not in other.text.lower() and "AccessDenied" not in other.text
    assert "AccessDeniedException" in caplog.text, "the cause is logged"
