-- Per-ledger partial candles: one row per (minute, asset, quote asset, source, ledger), written by the
-- ledger processor. A ledger's rows are a pure function of that ledger, so a replay writes identical rows
-- under identical keys and ReplacingMergeTree collapses them; the 1m tier is DERIVED from this table by
-- prices.rollup_1m_from_parts (011), so concurrent writers never read-modify-write a candle.
-- open_order / close_order: the global trade-order key of the part's first / last trade,
-- ledger << 32 | tx_index << 20 | op_index << 13 | fill_index (docs/candles.md).
-- non_replicated_deduplication_window: the writer retries inserts with insert_deduplication_token
-- (clickhouse-connect never retries inserts); the token is only honoured with a window.
CREATE TABLE IF NOT EXISTS prices.candle_parts_1m
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    ledger UInt32,
    open Float64,
    open_order UInt64,
    high Float64,
    low Float64,
    close Float64,
    close_order UInt64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    trade_count UInt32,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp, ledger)
SETTINGS non_replicated_deduplication_window = 10000;
