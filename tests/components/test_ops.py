import json

from tests.components.program import one, planned, run
from tests.components.test_settings import stack_file_config


def test_alarm_topic_with_email_and_policy_for_alarms_and_budgets() -> None:
    result = planned("prod")
    topic = one(result, "aws:sns/topic:Topic", "ops-alarms")
    assert topic.inputs["name"] == "prices-prod-ops-alarms"
    email = one(result, "aws:sns/topicSubscription:TopicSubscription", "ops-alarms-email")
    assert (email.inputs["protocol"], email.inputs["endpoint"]) == ("email", "prices-prod-alerts@rumblefish.dev")
    policy = json.loads(one(result, "aws:sns/topicPolicy:TopicPolicy", "ops-alarms-policy").inputs["policy"])
    statement = policy["Statement"][0]
    assert set(statement["Principal"]["Service"]) == {"cloudwatch.amazonaws.com", "budgets.amazonaws.com"}
    assert statement["Resource"] == topic.outputs["arn"]
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert result.outputs["ops_alarm_topic_arn"] == topic.outputs["arn"]


def test_budget_limit_and_thresholds_come_from_config() -> None:
    result = planned("prod")
    budget = one(result, "aws:budgets/budget:Budget", "ops-budget")
    assert budget.inputs["limitAmount"] == "150.00"
    assert budget.inputs["timeUnit"] == "MONTHLY"
    thresholds = sorted((n["threshold"], n["notificationType"]) for n in budget.inputs["notifications"])
    assert thresholds == [(50.0, "ACTUAL"), (80.0, "ACTUAL"), (100.0, "ACTUAL"), (100.0, "FORECASTED")]
    topic_arn = one(result, "aws:sns/topic:Topic", "ops-alarms").outputs["arn"]
    assert all(n["subscriberSnsTopicArns"] == [topic_arn] for n in budget.inputs["notifications"])


def test_without_alarm_email_no_subscription_is_created() -> None:
    raw, _ = stack_file_config("dev")
    ops = {k: v for k, v in raw["ops"].items() if k != "alarmEmail"}
    result = run("dev", config_overrides={"ops": ops})
    subscriptions = result.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert "ops-alarms-email" not in {s.name for s in subscriptions}
    assert any(
        s.name == "ops-alarms-email" for s in planned("dev").of_type("aws:sns/topicSubscription:TopicSubscription")
    )


def test_both_stacks_export_an_itemised_cost_with_a_total() -> None:
    for stack in ("dev", "prod"):
        cost = planned(stack).outputs["monthly_cost_usd"]
        assert cost["total"] > 0
        # Categories are rounded to cents, so their sum may differ from the total by a few cents.
        assert abs(cost["total"] - sum(v for k, v in cost.items() if k != "total")) < 0.05
