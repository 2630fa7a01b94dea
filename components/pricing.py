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
# The first 3 dashboards (up to 50 metrics each) per account are free (aws.amazon.com/cloudwatch/pricing,
# recorded 2026-11-24); not deducted, like every free tier here.
CW_FREE_DASHBOARDS_PER_ACCOUNT = 3
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

# EventBridge scheduled rules: the events a schedule emits on the default bus are AWS service events, which are
# not charged (aws.amazon.com/eventbridge/pricing, recorded 2026-11-24; scheduled rules are not itemised there,
# so this zero is an inference — the paid alternative, EventBridge Scheduler, is $1.00/M after 14M free).
EVENTBRIDGE_SCHEDULED_EVENT = 0.0

# Hetzner Cloud, for the sidecar ClickHouse server (components/sidecar.py): monthly cap in EUR, excluding VAT,
# Germany/Finland locations, dedicated-vCPU (CCX) types only — ClickHouse merges and refreshes want cores that
# are not shared with noisy neighbours. Figures from Hetzner's cloud price list as last seen by us (entered
# 2026-11-24 WITHOUT an online re-check: the team machines have no web access). Hetzner announced a price
# adjustment effective 2026-04-01 whose new figures we could not obtain, so these are likely LOW; re-check on
# hetzner.com/cloud before relying on the sidecar line, and change them here only, with the date.
HCLOUD_PRICES_ENTERED_ON = "2026-11-24"
HCLOUD_SERVER_MONTHLY_EUR = {
    "ccx13": 12.49,  # 2 dedicated vCPU, 8 GB, 80 GB NVMe
    "ccx23": 24.49,  # 4 dedicated vCPU, 16 GB, 160 GB NVMe
    "ccx33": 48.49,  # 8 dedicated vCPU, 32 GB, 240 GB NVMe
    "ccx43": 96.49,  # 16 dedicated vCPU, 64 GB, 360 GB NVMe
    "ccx53": 192.49,  # 32 dedicated vCPU, 128 GB, 600 GB NVMe
    "ccx63": 288.49,  # 48 dedicated vCPU, 192 GB, 960 GB NVMe
}
HCLOUD_PRIMARY_IPV4_MONTHLY_EUR = 0.50  # billed separately from the server since 2024-02

# S3 for the ClickHouse backups (components/backups.py), Europe (Frankfurt), first 50 TB tier. Storage per
# GB-month: Standard 0.0245, Standard-IA 0.0135, Glacier Instant Retrieval 0.005 (entered 2026-11-24 from the S3
# pricing page as last seen by us, WITHOUT an online re-check; the storage figures match a 2025 third-party
# table for eu-central-1). Requests per 1,000: PUT/COPY/POST/LIST 0.0054 (S3_GET_REQUEST above for GET/HEAD);
# lifecycle transitions 0.01 into Standard-IA, 0.02 into Glacier IR (us-east-1 figures; Frankfurt's unconfirmed).
# Uploads from the Hetzner box into S3 are inbound transfer: free.
S3_BACKUP_PRICES_ENTERED_ON = "2026-11-24"
S3_STORAGE_PER_GB_MONTH = {"STANDARD": 0.0245, "STANDARD_IA": 0.0135, "GLACIER_IR": 0.005}
S3_PUT_LIST_REQUEST = 0.0054 / 1_000
S3_TRANSITION_REQUEST = {"STANDARD_IA": 0.01 / 1_000, "GLACIER_IR": 0.02 / 1_000}

# Backfill fan-out (components/backfill.py, cost.backfill_fanout_estimate): Lambda, SQS, S3 GET and LIST and
# internet egress are priced with the figures above (S3_PUT_LIST_REQUEST covers LIST). Added here: S3 transfer
# between regions (an archive bucket in another region than the stack), $0.02/GB out of us-east-2 and
# eu-central-1 as last seen by us (entered 2026-11-24 WITHOUT an online re-check). The public archive is not
# requester-pays, so its requests and transfer are billed to its owner (AWS Open Data), not to us.
BACKFILL_PRICES_ENTERED_ON = "2026-11-24"
S3_INTER_REGION_TRANSFER_PER_GB = 0.02
# An event source mapping long-polls an idle queue (20 s waits) with a few pollers; assumed 5, not verified.
SQS_EVENT_SOURCE_IDLE_POLLERS = 5
SQS_LONG_POLL_SECONDS = 20
