-- One tiny row per probe run: the probes Lambda times this INSERT through the mTLS edge as the writer
-- (metric ClickHouseWriteLatencyMs, lambdas/workers/probes.py). Nothing reads the rows back but tests.
-- Daily partitions + a one-day TTL with ttl_only_drop_parts: expired days are dropped whole at merge
-- time, so the table holds at most about two days of rows (~600 at one run per 5 minutes) and never grows.
CREATE TABLE IF NOT EXISTS prices.probe_writes
(
    probe_at DateTime64(3, 'UTC'),
    -- the Lambda request id of the run, to find a probe's row when debugging
    probe_id String
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(probe_at)
ORDER BY probe_at
TTL toDateTime(probe_at) + INTERVAL 1 DAY
SETTINGS ttl_only_drop_parts = 1;
