"""Scheduled worker Lambdas: oracle prices, retention cleanup, probes (and backups)."""
