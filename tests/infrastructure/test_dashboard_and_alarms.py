"""The operations alarms (thresholds from cdk.json `monitoring`) and the dashboard, asserted on the template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from warden import constants

from tests.infrastructure.synth import SynthesizedStack, resources_of_type


def _alarms(synthesized: SynthesizedStack) -> dict[str, dict[str, Any]]:
    """Alarm properties by the construct id of the alarm."""
    found = {}
    for alarm in synthesized.stack.monitoring.alarms:
        found[alarm.node.id] = synthesized.resources[synthesized.logical_id(alarm)]["Properties"]
    return found


def test_every_alarm_notifies_the_alarm_topic(synthesized: SynthesizedStack) -> None:
    topic = {"Ref": synthesized.logical_id(synthesized.stack.monitoring.alarm_topic)}
    in_template = resources_of_type(synthesized.resources, "AWS::CloudWatch::Alarm")

    assert len(in_template) == len(_alarms(synthesized)) == 9
    assert all(alarm["Properties"]["AlarmActions"] == [topic] for alarm in in_template.values())


@pytest.mark.parametrize(
    ("alarm_id", "namespace", "metric", "statistic"),
    [
        ("GatewayThrottles", "AWS/Lambda", "Throttles", "Sum"),
        ("GatewayP99Duration", "AWS/Lambda", "Duration", "p99"),
        ("Api5xx", "AWS/ApiGateway", "5XXError", "Sum"),
        ("ReviewBacklogAge", "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum"),
        ("ModeratorFailures", constants.METRICS_NAMESPACE, constants.METRIC_MODERATOR_FAILURES, "Sum"),
    ],
)
def test_alarm_watches_its_metric(
    synthesized: SynthesizedStack, alarm_id: str, namespace: str, metric: str, statistic: str
) -> None:
    alarm = _alarms(synthesized)[alarm_id]

    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    assert alarm.get("Statistic", alarm.get("ExtendedStatistic")) == statistic


def test_thresholds_come_from_the_monitoring_configuration(synthesized: SynthesizedStack) -> None:
    config = synthesized.config.monitoring
    alarms = _alarms(synthesized)

    assert alarms["GatewayP99Duration"]["Threshold"] == config.gateway_p99_ms
    assert alarms["GatewayP99Duration"]["EvaluationPeriods"] == 3
    assert alarms["ReviewBacklogAge"]["Threshold"] == config.review_backlog_minutes * 60
    assert alarms["ModeratorFailures"]["Threshold"] == config.moderator_failures
    assert alarms["BlockRateSpike"]["Threshold"] == config.block_rate_percent


def test_gateway_metrics_are_read_with_the_dimension_powertools_writes(synthesized: SynthesizedStack) -> None:
    alarm = _alarms(synthesized)["ModeratorFailures"]

    assert alarm["Dimensions"] == [{"Name": "service", "Value": constants.SERVICE_NAME}]


def test_block_rate_alarm_divides_blocked_by_recorded_requests(synthesized: SynthesizedStack) -> None:
    queries = {query["Id"]: query for query in _alarms(synthesized)["BlockRateSpike"]["Metrics"]}
    minimum = synthesized.config.monitoring.block_rate_min_requests

    expression = next(query["Expression"] for query in queries.values() if "Expression" in query)
    assert expression == f"IF(requests >= {minimum}, 100 * blocked / requests, 0)"
    assert queries["requests"]["MetricStat"]["Metric"]["MetricName"] == constants.METRIC_REQUESTS_RECORDED
    assert queries["blocked"]["MetricStat"]["Metric"]["MetricName"] == constants.METRIC_REQUESTS_BLOCKED
    assert queries["blocked"]["MetricStat"]["Period"] == 900


def test_dashboard_charts_decisions_gateway_api_review_and_dlqs(synthesized: SynthesizedStack) -> None:
    dashboard = synthesized.resources[synthesized.logical_id(synthesized.stack.monitoring.dashboard)]
    stack: Stack = synthesized.stack
    body = json.dumps(stack.resolve(dashboard["Properties"]["DashboardBody"]))

    for title in ("Alarms", "Requests and decisions", "Block rate", "Gateway duration", "Review queue", "Dead-letter"):
        assert title in body
    for metric in (constants.METRIC_REQUESTS_BLOCKED, "Throttles", "5XXError", "ApproximateAgeOfOldestMessage"):
        assert metric in body
