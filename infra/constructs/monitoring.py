"""Alarms on what must never go unnoticed: review items or audit records stuck in a DLQ, gateway errors."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs._sns import encrypted_topic

ALARM_PERIOD = Duration.minutes(5)


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
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarm_topic = self._build_alarm_topic()
        self._alarm_on_dlq("ReviewDlqNotEmpty", review_dlq, "Review items failed processing and wait in the review DLQ")
        self._alarm_on_dlq(
            "AuditFallbackDlqNotEmpty",
            audit_fallback_dlq,
            "Audit records could not be drained into the audit bucket and wait in the audit fallback DLQ",
        )
        self._alarm_on_gateway_errors(gateway)

    def _build_alarm_topic(self) -> sns.Topic:
        # CloudWatch publishes alarm notifications into the encrypted topic.
        return encrypted_topic(
            self, "AlarmTopic", display_name="Warden alarms", publishing_services=("cloudwatch.amazonaws.com",)
        )

    def _add(self, alarm: cloudwatch.Alarm) -> None:
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))

    def _alarm_on_dlq(self, construct_id: str, dlq: sqs.IQueue, description: str) -> None:
        self._add(
            cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=dlq.metric_approximate_number_of_messages_visible(period=ALARM_PERIOD, statistic="Maximum"),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _alarm_on_gateway_errors(self, gateway: lambda_.IFunction) -> None:
        self._add(
            cloudwatch.Alarm(
                self,
                "GatewayErrors",
                alarm_description="The gateway function failed with unhandled errors",
                metric=gateway.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
