-- One row per ledger file the processor has fully written (parts first, then this record), so
-- reconcile can find gaps with an anti-join against numbers(). Re-ingesting a ledger rewrites the
-- same key; the latest record wins.
CREATE TABLE IF NOT EXISTS prices.ingested_ledgers
(
    ledger UInt32,
    close_time DateTime('UTC'),
    file_key String,
    -- sha256 (hex) of the decompressed file bytes
    sha256 String,
    trade_count UInt32,
    unresolved_count UInt32,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY intDiv(ledger, 10000000)
ORDER BY ledger
SETTINGS non_replicated_deduplication_window = 10000;
