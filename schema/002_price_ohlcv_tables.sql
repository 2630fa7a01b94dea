-- OHLCV candles, one table per tier, all with identical columns so every rollup step
-- has the same shape. Written out per tier (not CREATE ... AS) so an ALTER is visible
-- per table in review; a test checks that the column lists are identical.

CREATE TABLE IF NOT EXISTS prices.price_ohlcv_1m
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    -- Thousands of distinct assets: plain String, LowCardinality would degrade past ~10k values.
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    open Float64,
    high Float64,
    low Float64,
    close Float64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    volume_quote_usd Float64,
    close_usd Float64,
    vwap Float64,
    trade_count UInt32,
    -- 1m: ledger_seq * 1000 + intra-ledger order; rolled tiers: max(version) of the bucket.
    version UInt64,
    -- Drives the change-driven rollups (008): a bucket is re-rolled when any of its source
    -- rows was inserted recently, however old its candle timestamp is.
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp);

CREATE TABLE IF NOT EXISTS prices.price_ohlcv_15m
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    -- Thousands of distinct assets: plain String, LowCardinality would degrade past ~10k values.
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    open Float64,
    high Float64,
    low Float64,
    close Float64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    volume_quote_usd Float64,
    close_usd Float64,
    vwap Float64,
    trade_count UInt32,
    -- 1m: ledger_seq * 1000 + intra-ledger order; rolled tiers: max(version) of the bucket.
    version UInt64,
    -- Drives the change-driven rollups (008): a bucket is re-rolled when any of its source
    -- rows was inserted recently, however old its candle timestamp is.
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp);

CREATE TABLE IF NOT EXISTS prices.price_ohlcv_1h
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    -- Thousands of distinct assets: plain String, LowCardinality would degrade past ~10k values.
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    open Float64,
    high Float64,
    low Float64,
    close Float64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    volume_quote_usd Float64,
    close_usd Float64,
    vwap Float64,
    trade_count UInt32,
    -- 1m: ledger_seq * 1000 + intra-ledger order; rolled tiers: max(version) of the bucket.
    version UInt64,
    -- Drives the change-driven rollups (008): a bucket is re-rolled when any of its source
    -- rows was inserted recently, however old its candle timestamp is.
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp);

CREATE TABLE IF NOT EXISTS prices.price_ohlcv_4h
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    -- Thousands of distinct assets: plain String, LowCardinality would degrade past ~10k values.
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    open Float64,
    high Float64,
    low Float64,
    close Float64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    volume_quote_usd Float64,
    close_usd Float64,
    vwap Float64,
    trade_count UInt32,
    -- 1m: ledger_seq * 1000 + intra-ledger order; rolled tiers: max(version) of the bucket.
    version UInt64,
    -- Drives the change-driven rollups (008): a bucket is re-rolled when any of its source
    -- rows was inserted recently, however old its candle timestamp is.
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp);

CREATE TABLE IF NOT EXISTS prices.price_ohlcv_1d
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    -- Thousands of distinct assets: plain String, LowCardinality would degrade past ~10k values.
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    open Float64,
    high Float64,
    low Float64,
    close Float64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    volume_quote_usd Float64,
    close_usd Float64,
    vwap Float64,
    trade_count UInt32,
    -- 1m: ledger_seq * 1000 + intra-ledger order; rolled tiers: max(version) of the bucket.
    version UInt64,
    -- Drives the change-driven rollups (008): a bucket is re-rolled when any of its source
    -- rows was inserted recently, however old its candle timestamp is.
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp);

CREATE TABLE IF NOT EXISTS prices.price_ohlcv_1w
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    -- Thousands of distinct assets: plain String, LowCardinality would degrade past ~10k values.
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    open Float64,
    high Float64,
    low Float64,
    close Float64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    volume_quote_usd Float64,
    close_usd Float64,
    vwap Float64,
    trade_count UInt32,
    -- 1m: ledger_seq * 1000 + intra-ledger order; rolled tiers: max(version) of the bucket.
    version UInt64,
    -- Drives the change-driven rollups (008): a bucket is re-rolled when any of its source
    -- rows was inserted recently, however old its candle timestamp is.
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp);

CREATE TABLE IF NOT EXISTS prices.price_ohlcv_1M
(
    timestamp DateTime('UTC') CODEC(DoubleDelta, ZSTD),
    -- Thousands of distinct assets: plain String, LowCardinality would degrade past ~10k values.
    asset_id String,
    quote_asset_id String,
    source LowCardinality(String),
    open Float64,
    high Float64,
    low Float64,
    close Float64,
    volume_base Decimal(38, 18),
    volume_quote Decimal(38, 18),
    volume_quote_usd Float64,
    close_usd Float64,
    vwap Float64,
    trade_count UInt32,
    -- 1m: ledger_seq * 1000 + intra-ledger order; rolled tiers: max(version) of the bucket.
    version UInt64,
    -- Drives the change-driven rollups (008): a bucket is re-rolled when any of its source
    -- rows was inserted recently, however old its candle timestamp is.
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    INDEX idx_inserted_at inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (asset_id, quote_asset_id, source, timestamp);
