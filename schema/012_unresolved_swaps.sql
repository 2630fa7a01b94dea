-- Soroban swaps from pool contracts the registry could not resolve to tokens (e.g. a Soroswap pair
-- whose token storage the ledger did not show). Kept, not dropped: once the pool is known, these
-- ledgers can be re-ingested (docs/candles.md). One row per swap event; a replay rewrites the same key.
CREATE TABLE IF NOT EXISTS prices.unresolved_swaps
(
    contract_id String,
    source LowCardinality(String),
    ledger UInt32,
    tx_hash String,
    op_index UInt16,
    event_index UInt16,
    -- raw i128/u128 amounts of the event, as decimal strings, in the event's own order
    amounts Array(String),
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY intDiv(ledger, 10000000)
ORDER BY (contract_id, ledger, tx_hash, op_index, event_index)
SETTINGS non_replicated_deduplication_window = 10000;
