"""Unresolved Soroban swaps are persisted with the ledger, not dropped."""

import dataclasses
from typing import Any

from lambdas.ledger_processor.ledger_ingest import PreparedLedger, prepare_ledger
from lambdas.ledger_processor.trades import UnresolvedSwap
from lambdas.ledger_processor.writer import INGESTED_TABLE, UNRESOLVED_TABLE, write_ledger
from tests.lambdas.ledger_processor.helpers import FIXTURES

PUBNET = "Public Global Stellar Network ; September 2015"


class RecordingClient:
    def __init__(self) -> None:
        self.inserts: list[dict[str, Any]] = []

    def insert(self, table: str, rows: Any, **kw: Any) -> None:
        self.inserts.append({"table": table, "rows": rows, **kw})


def prepared_fixture() -> PreparedLedger:
    path = FIXTURES / "mainnet" / "ledger-63092990.xdr.gz"
    return prepare_ledger(path.read_bytes(), path.name, PUBNET, 63092990)


def test_unresolved_swaps_are_written_before_the_ledger_record() -> None:
    prepared = prepared_fixture()
    swap = UnresolvedSwap(
        ledger=prepared.ledger,
        tx_hash="ab" * 32,
        op_index=0,
        event_index=3,
        source="soroswap",
        contract="CAM7DY53G63XA4AJRS24Z6VFYAFSSF76C3RZ45BE5YU3FQS5255OOABP",
        amounts=(0, 1873180072, 434109811, 0),
    )
    with_unresolved = dataclasses.replace(prepared, trades=dataclasses.replace(prepared.trades, unresolved=[swap]))
    client = RecordingClient()
    write_ledger(client, with_unresolved)
    tables = [i["table"] for i in client.inserts]
    assert tables.index(UNRESOLVED_TABLE) < tables.index(INGESTED_TABLE)
    unresolved = next(i for i in client.inserts if i["table"] == UNRESOLVED_TABLE)
    assert unresolved["rows"] == [
        [swap.contract, "soroswap", prepared.ledger, "ab" * 32, 0, 3, ["0", "1873180072", "434109811", "0"]]
    ]
    assert unresolved["settings"]["insert_deduplication_token"] == f"unresolved:{prepared.ledger}:{prepared.sha256}"
    record = next(i for i in client.inserts if i["table"] == INGESTED_TABLE)
    assert record["rows"][0][-1] == 1  # unresolved_count


def test_a_fully_resolved_ledger_writes_no_unresolved_rows() -> None:
    prepared = prepared_fixture()
    assert prepared.unresolved_count == 0
    client = RecordingClient()
    write_ledger(client, prepared)
    assert UNRESOLVED_TABLE not in [i["table"] for i in client.inserts]
