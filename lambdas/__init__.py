"""Lambda functions of the Stellar Prices API."""
