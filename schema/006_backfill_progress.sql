-- One row per backfill task; the newest updated_at wins.
CREATE TABLE IF NOT EXISTS prices.backfill_progress
(
    task_name String,
    start_ledger UInt32,
    target_ledger UInt32,
    current_ledger UInt32,
    status Enum8('running' = 1, 'paused' = 2, 'completed' = 3, 'error' = 4),
    last_push_at Nullable(DateTime('UTC')),
    earliest_data_available Nullable(DateTime('UTC')),
    newest_data_available Nullable(DateTime('UTC')),
    started_at DateTime('UTC'),
    completed_at Nullable(DateTime('UTC')),
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY task_name;
