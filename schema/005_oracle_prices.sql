-- Oracle observations. RMT without a version column: a re-delivered observation with the
-- same key collapses to one row (the last inserted).
CREATE TABLE IF NOT EXISTS prices.oracle_prices
(
    asset_id String,
    oracle_name LowCardinality(String),
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    price_usd Float64,
    raw_data String CODEC(ZSTD(3)),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, oracle_name, timestamp);
