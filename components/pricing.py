"""List prices the cost model uses, in one place.

Region: eu-central-1 (Frankfurt), on-demand list prices, USD, free tiers ignored (the account is shared
with the partner, whose usage already consumes them). Recorded 2026-11-24 from the AWS pricing pages
(aws.amazon.com/lambda/pricing, /api-gateway/pricing, /cloudwatch/pricing, /xray/pricing,
/secrets-manager/pricing, /sqs/pricing, /sns/pricing, /s3/pricing, /ec2/pricing/on-demand for data
transfer) and Hetzner's price list for the ClickHouse box. Re-check them before relying on a figure;
change them here only, with the date.
"""

from __future__ import annotations

PRICES_RECORDED_ON = "2026-11-24"

# Lambda, arm64
LAMBDA_GB_SECOND_ARM = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000

# API Gateway REST API (first 333M requests/month) and its stage cache, per hour by size (GB)
APIGW_REST_REQUEST = 3.70 / 1_000_000
APIGW_CACHE_HOURLY_BY_GB = {
    "0": 0.0,  # cache disabled
    "0.5": 0.020,
    "1.6": 0.038,
    "6.1": 0.200,
    "13.5": 0.250,
    "28.4": 0.500,
    "58.2": 1.000,
    "118": 1.900,
    "237": 3.800,
}
HOURS_PER_MONTH = 730

# CloudWatch and X-Ray
CW_LOG_INGEST_PER_GB = 0.63
CW_LOG_STORAGE_PER_GB_MONTH = 0.0324
CW_METRIC_PER_MONTH = 0.30
CW_ALARM_STANDARD_PER_MONTH = 0.10
CW_DASHBOARD_PER_MONTH = 3.00
XRAY_TRACE_RECORDED = 5.00 / 1_000_000

# Secrets Manager
SECRET_PER_MONTH = 0.40
SECRET_API_CALL = 0.05 / 10_000

# SNS / SQS (SNS → SQS deliveries are free; SQS standard queue requests)
SQS_REQUEST = 0.40 / 1_000_000
SQS_REQUESTS_PER_MESSAGE = 3  # receive, delete, and the redrive/visibility bookkeeping on average
SNS_EMAIL_NOTIFICATION = 2.00 / 100_000

# S3 (reading the partner's ledger bucket; same-region transfer to Lambda is free)
S3_GET_REQUEST = 0.00043 / 1_000
DATA_TRANSFER_OUT_PER_GB = 0.09  # Lambda → the ClickHouse box on the public internet

# AWS Budgets: the first two budgets per account are free; we create one per stack.
BUDGET_PER_MONTH = 0.0
