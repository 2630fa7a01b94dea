"""Operations plumbing every other component reports to: the ops-alarm topic and the AWS budget."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import OpsSettings


@dataclass(frozen=True)
class OpsArgs:
    name_prefix: str
    settings: OpsSettings
    tags: dict[str, str]


def topic_policy(topic_arn: str, account_id: str) -> dict[str, object]:
    """Let CloudWatch alarms and AWS Budgets of this account publish to the ops topic, and nobody else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlarmsAndBudgetsPublish",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


class Ops(pulumi.ComponentResource):
    alarm_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: OpsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("prices:ops:Ops", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings

        topic = aws.sns.Topic(f"{name}-alarms", name=f"{args.name_prefix}-ops-alarms", tags=args.tags, opts=child)
        self.alarm_topic_arn = topic.arn
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        aws.sns.TopicPolicy(
            f"{name}-alarms-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(
                pulumi.Output.all(topic.arn, account_id).apply(lambda v: topic_policy(v[0], v[1]))
            ),
            opts=child,
        )
        if settings.alarm_email:
            aws.sns.TopicSubscription(
                f"{name}-alarms-email",
                topic=topic.arn,
                protocol="email",
                endpoint=settings.alarm_email,
                opts=child,
            )

        aws.budgets.Budget(
            f"{name}-budget",
            name=f"{args.name_prefix}-monthly",
            budget_type="COST",
            limit_amount=f"{settings.budget_monthly_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[
                aws.budgets.BudgetCostFilterArgs(
                    name="TagKeyValue", values=[f"user:environment${args.tags['environment']}"]
                )
            ],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    threshold=float(pct),
                    threshold_type="PERCENTAGE",
                    notification_type=kind,
                    subscriber_email_addresses=list(settings.budget_alert_emails),
                    subscriber_sns_topic_arns=[topic.arn],
                )
                for pct in settings.budget_alert_thresholds_pct
                # Forecast alerts give a warning while there is still month left to act.
                for kind in (["ACTUAL", "FORECASTED"] if pct >= 100 else ["ACTUAL"])
            ],
            tags=args.tags,
            opts=child,
        )
        self.register_outputs({"alarm_topic_arn": self.alarm_topic_arn})
