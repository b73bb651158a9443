"""The one way this stack builds a DynamoDB table: from the key shape the functions and tests share."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from warden.constants import TableShape


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def table_from_shape(
    scope: Construct,
    construct_id: str,
    shape: TableShape,
    *,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> dynamodb.Table:
    """On-demand, point-in-time-recoverable, encrypted table with the keys and TTL attribute of `shape`.

    Retained by default: strikes, tenants and review decisions are records the organisation keeps, and a
    stack delete must not drop them.
    """
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=_string_key(shape.partition_key),
        sort_key=_string_key(shape.sort_key) if shape.sort_key else None,
        time_to_live_attribute=shape.ttl_attribute,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        removal_policy=removal_policy,
    )
