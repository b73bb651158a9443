"""Alarms on what must never go unnoticed, and one dashboard of the gateway's health and decisions.

Alarms (all notify the alarm topic): review items or audit records stuck in a DLQ, gateway errors and
throttles, a slow gateway (p99 duration), API 5XX answers, a review backlog older than configured,
failing moderator calls, and a spike in the block rate. Thresholds come from `monitoring` in cdk.json.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from warden.config import MonitoringConfig
from warden.constants import (
    METRIC_MODERATOR_FAILURES,
    METRIC_REQUESTS_BLOCKED,
    METRIC_REQUESTS_FLAGGED,
    METRIC_REQUESTS_RECORDED,
    METRICS_NAMESPACE,
    SERVICE_NAME,
)

from infra.constructs._sns import encrypted_topic

ALARM_PERIOD = Duration.minutes(5)
# The block rate is judged over a longer period: a handful of requests says little about a rate.
BLOCK_RATE_PERIOD = Duration.minutes(15)
# A slow gateway must stay slow for this many periods before anyone is woken.
DURATION_EVALUATION_PERIODS = 3
WIDGET_WIDTH = 8


class Monitoring(Construct):
    """CloudWatch alarms publishing to an encrypted, TLS-only SNS topic (subscribe your on-call to it)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        review_dlq: sqs.IQueue,
        audit_fallback_dlq: sqs.IQueue,
        gateway: lambda_.IFunction,
        review_queue: sqs.IQueue,
        api: apigw.RestApi,
        config: MonitoringConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.alarm_topic = self._build_alarm_topic()
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm_on_dlq("ReviewDlqNotEmpty", review_dlq, "Review items failed processing and wait in the review DLQ")
        self._alarm_on_dlq(
            "AuditFallbackDlqNotEmpty",
            audit_fallback_dlq,
            "Audit records could not be drained into the audit bucket and wait in the audit fallback DLQ",
        )
        self._alarm_on_gateway_errors(gateway)
        self._alarm_on_gateway_throttles(gateway)
        self._alarm_on_gateway_duration(gateway)
        self._alarm_on_api_server_errors(api)
        self._alarm_on_review_backlog(review_queue)
        self._alarm_on_moderator_failures()
        self._alarm_on_block_rate()
        self.dashboard = self._build_dashboard(gateway, api, review_queue, review_dlq, audit_fallback_dlq)

    def _build_alarm_topic(self) -> sns.Topic:
        # CloudWatch publishes alarm notifications into the encrypted topic.
        return encrypted_topic(
            self, "AlarmTopic", display_name="Warden alarms", publishing_services=("cloudwatch.amazonaws.com",)
        )

    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)
        return alarm

    def _alarm_on_dlq(self, construct_id: str, dlq: sqs.IQueue, description: str) -> None:
        metric = dlq.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD, statistic="Maximum")
        self._alarm(construct_id, description, metric, threshold=0)

    def _alarm_on_gateway_errors(self, gateway: lambda_.IFunction) -> None:
        metric = gateway.metric_errors(period=ALARM_PERIOD, statistic="Sum")
        self._alarm("GatewayErrors", "The gateway function failed with unhandled errors", metric, threshold=0)

    def _alarm_on_gateway_throttles(self, gateway: lambda_.IFunction) -> None:
        metric = gateway.metric_throttles(period=ALARM_PERIOD, statistic="Sum")
        description = "Lambda throttled the gateway function (account or reserved concurrency exhausted)"
        self._alarm("GatewayThrottles", description, metric, threshold=0)

    def _alarm_on_gateway_duration(self, gateway: lambda_.IFunction) -> None:
        metric = gateway.metric_duration(period=ALARM_PERIOD, statistic="p99")
        description = (
            f"Gateway p99 duration over {self.config.gateway_p99_ms} ms for {DURATION_EVALUATION_PERIODS} periods "
            "(API Gateway gives up at 29 s)"
        )
        self._alarm(
            "GatewayP99Duration",
            description,
            metric,
            threshold=self.config.gateway_p99_ms,
            evaluation_periods=DURATION_EVALUATION_PERIODS,
        )

    def _alarm_on_api_server_errors(self, api: apigw.RestApi) -> None:
        metric = api.metric_server_error(period=ALARM_PERIOD, statistic="Sum")
        description = f"More than {self.config.api_5xx} 5XX answers from the API in 5 minutes"
        self._alarm("Api5xx", description, metric, threshold=self.config.api_5xx)

    def _alarm_on_review_backlog(self, review_queue: sqs.IQueue) -> None:
        metric = review_queue.metric_approximate_age_of_oldest_message(period=ALARM_PERIOD, statistic="Maximum")
        minutes = self.config.review_backlog_minutes
        description = f"A review item has waited over {minutes} minutes in the review queue"
        self._alarm("ReviewBacklogAge", description, metric, threshold=minutes * 60)

    def _alarm_on_moderator_failures(self) -> None:
        metric = _warden_metric(METRIC_MODERATOR_FAILURES, ALARM_PERIOD)
        count = self.config.moderator_failures
        description = f"More than {count} Claude moderator calls failed in 5 minutes (prompts went unchecked)"
        self._alarm("ModeratorFailures", description, metric, threshold=count)

    def block_rate(self) -> cloudwatch.MathExpression:
        """Blocked requests per 100 recorded, 0 while there are too few requests to judge."""
        return cloudwatch.MathExpression(
            expression=f"IF(requests >= {self.config.block_rate_min_requests}, 100 * blocked / requests, 0)",
            using_metrics={
                "requests": _warden_metric(METRIC_REQUESTS_RECORDED, BLOCK_RATE_PERIOD),
                "blocked": _warden_metric(METRIC_REQUESTS_BLOCKED, BLOCK_RATE_PERIOD),
            },
            label="block rate (%)",
            period=BLOCK_RATE_PERIOD,
        )

    def _alarm_on_block_rate(self) -> None:
        description = (
            f"Over {self.config.block_rate_percent:g}% of requests blocked in 15 minutes (at least "
            f"{self.config.block_rate_min_requests} requests): an attack, a misbehaving app or a screening regression"
        )
        self._alarm("BlockRateSpike", description, self.block_rate(), threshold=self.config.block_rate_percent)

    def _build_dashboard(
        self,
        gateway: lambda_.IFunction,
        api: apigw.RestApi,
        review_queue: sqs.IQueue,
        review_dlq: sqs.IQueue,
        audit_fallback_dlq: sqs.IQueue,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=4),
        )
        dashboard.add_widgets(
            _graph(
                "Requests and decisions",
                [
                    _warden_metric(METRIC_REQUESTS_RECORDED, ALARM_PERIOD, "recorded"),
                    _warden_metric(METRIC_REQUESTS_BLOCKED, ALARM_PERIOD, "blocked"),
                    _warden_metric(METRIC_REQUESTS_FLAGGED, ALARM_PERIOD, "flagged"),
                ],
            ),
            _graph("Block rate (%)", [self.block_rate()]),
            _graph("Moderator failures", [_warden_metric(METRIC_MODERATOR_FAILURES, ALARM_PERIOD, "failures")]),
        )
        dashboard.add_widgets(
            _graph(
                "Gateway errors and throttles",
                [
                    gateway.metric_errors(period=ALARM_PERIOD, statistic="Sum", label="errors"),
                    gateway.metric_throttles(period=ALARM_PERIOD, statistic="Sum", label="throttles"),
                ],
            ),
            _graph(
                "Gateway duration (ms)",
                [
                    gateway.metric_duration(period=ALARM_PERIOD, statistic="p50", label="p50"),
                    gateway.metric_duration(period=ALARM_PERIOD, statistic="p99", label="p99"),
                ],
            ),
            _graph(
                "API answers",
                [
                    api.metric_count(period=ALARM_PERIOD, statistic="Sum", label="requests"),
                    api.metric_client_error(period=ALARM_PERIOD, statistic="Sum", label="4XX"),
                    api.metric_server_error(period=ALARM_PERIOD, statistic="Sum", label="5XX"),
                ],
            ),
        )
        dashboard.add_widgets(
            _graph(
                "Review queue",
                [
                    review_queue.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD, label="waiting"),
                    review_queue.metric_approximate_age_of_oldest_message(period=ALARM_PERIOD, label="oldest (s)"),
                ],
            ),
            _graph(
                "Dead-letter queues",
                [
                    review_dlq.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD, label="review"),
                    audit_fallback_dlq.metric_approximate_number_of_messages_visible(
                        period=ALARM_PERIOD, label="audit fallback"
                    ),
                ],
            ),
        )
        return dashboard


def _warden_metric(name: str, period: Duration, label: str | None = None) -> cloudwatch.Metric:
    """A gateway custom metric (Powertools EMF: namespace Warden, dimension service)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic="Sum",
        period=period,
        label=label,
    )


def _graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics, width=WIDGET_WIDTH, height=6)
