"""Ledger processor: decode Stellar ledger files and extract DEX trades."""
