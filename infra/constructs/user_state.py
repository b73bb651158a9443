"""Who may call and how each end user stands: the tenants table and the users (standing + strikes) table."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from warden.constants import (
    TENANTS_ID_INDEX,
    TENANTS_ID_INDEX_PK,
    TENANTS_TABLE,
    USERS_TABLE,
    USERS_VIOLATIONS_INDEX,
    USERS_VIOLATIONS_INDEX_PK,
    USERS_VIOLATIONS_INDEX_SK,
)

from infra.constructs._dynamodb import table_from_shape


class UserState(Construct):
    """DynamoDB tables for tenants (keyed by API-key hash) and end users (keyed by user hash)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.tenants_table = self._build_tenants_table()
        self.users_table = self._build_users_table()

    def _build_tenants_table(self) -> dynamodb.Table:
        table = table_from_shape(self, "TenantsTable", TENANTS_TABLE)
        # Tenant administration (`warden tenants`) finds a tenant's key items by tenant id; the authorizer never
        # reads it (it looks keys up by hash).
        table.add_global_secondary_index(
            index_name=TENANTS_ID_INDEX,
            partition_key=dynamodb.Attribute(name=TENANTS_ID_INDEX_PK, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        return table

    def _build_users_table(self) -> dynamodb.Table:
        table = table_from_shape(self, "UsersTable", USERS_TABLE)
        # Reviewers' "users by violations" (sparse: only users who ever had a strike carry the partition key).
        table.add_global_secondary_index(
            index_name=USERS_VIOLATIONS_INDEX,
            partition_key=dynamodb.Attribute(name=USERS_VIOLATIONS_INDEX_PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=USERS_VIOLATIONS_INDEX_SK, type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        return table
