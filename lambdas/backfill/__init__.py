"""History backfill: walk a ledger archive (SEP-54 layout, a directory or S3) into the prices database."""
