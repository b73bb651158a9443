"""Self-evaluation over the audit records: a Glue table for Athena, an encrypted workgroup, named queries,
and one managed policy that lets an analyst (or `warden report`) read what they need and nothing else.

The table's columns are generated from the record model (`warden.audit_schema`); partition projection on
`dt` and `hour` means Athena computes the partitions from the key layout, so no crawler or MSCK is needed.
"""

from __future__ import annotations

import re

from aws_cdk import Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct
from warden.audit_schema import JSON_SERDE, PARTITION_KEYS, audit_record_columns
from warden.config import RetentionConfig
from warden.constants import AUDIT_RECORDS_PREFIX, CASES_STATUS_INDEX

from infra.athena_queries import named_queries
from infra.constructs.audit_storage import AuditStorage
from infra.nag import acknowledge, arn_of, wildcard_resource

TABLE_NAME = "records"
# The first day partition projection knows of: records before it are not queried.
PROJECTION_START = "2025-01-01"
ENGINE_VERSION = "Athena engine version 3"
RESULTS_PREFIX = "results/"
RESULTS_ACCESS_LOG_PREFIX = "athena-results/"


def glue_name(stack_name: str) -> str:
    """Glue database names: lower case letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", stack_name.lower()) + "_audit"


def projection_parameters(bucket_name: str) -> dict[str, str]:
    return {
        "classification": "json",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{PROJECTION_START},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "projection.hour.type": "integer",
        "projection.hour.range": "0,23",
        "projection.hour.digits": "2",
        "storage.location.template": f"s3://{bucket_name}/{AUDIT_RECORDS_PREFIX}dt=${{dt}}/hour=${{hour}}/",
    }


class SelfEvaluation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        audit: AuditStorage,
        cases_table: dynamodb.ITable,
        retention: RetentionConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.database_name = glue_name(stack.stack_name)
        self.workgroup_name = f"{stack.stack_name}-self-evaluation"
        self.database = self._build_database()
        self.table = self._build_table(audit)
        self.results_bucket = self._build_results_bucket(audit, retention)
        self.workgroup = self._build_workgroup(audit)
        self.queries = self._build_named_queries()
        self.reader_policy = self._build_reader_policy(audit, cases_table)

    def _build_database(self) -> glue.CfnDatabase:
        return glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Stack.of(self).account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="Warden audit records (self-evaluation)"
            ),
        )

    def _build_table(self, audit: AuditStorage) -> glue.CfnTable:
        bucket = audit.bucket.bucket_name
        table = glue.CfnTable(
            self,
            "RecordsTable",
            catalog_id=Stack.of(self).account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=TABLE_NAME,
                description="One row per request: warden.models.AuditRecord (docs/audit-record.md)",
                table_type="EXTERNAL_TABLE",
                parameters=projection_parameters(bucket),
                partition_keys=[glue.CfnTable.ColumnProperty(name=key, type="string") for key in PARTITION_KEYS],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=kind.ddl())
                        for name, kind in audit_record_columns()
                    ],
                    location=f"s3://{bucket}/{AUDIT_RECORDS_PREFIX}",
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=JSON_SERDE, parameters={"ignore.malformed.json": "true"}
                    ),
                ),
            ),
        )
        table.add_resource_dependency(self.database)
        return table

    def _build_results_bucket(self, audit: AuditStorage, retention: RetentionConfig) -> s3.Bucket:
        # Query results hold prompts and completions too: the audit bucket's protections, and a short life.
        return audit.content_bucket(
            self,
            "ResultsBucket",
            access_log_prefix=RESULTS_ACCESS_LOG_PREFIX,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-query-results",
                    expiration=Duration.days(retention.athena_results_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )

    def _build_workgroup(self, audit: AuditStorage) -> athena.CfnWorkGroup:
        return athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=self.workgroup_name,
            description="Warden self-evaluation: queries over the audit records, results encrypted with the audit key",
            state="ENABLED",
            # Deleting the stack deletes the workgroup with its named queries and query history.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version=ENGINE_VERSION),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results_bucket.s3_url_for_object(RESULTS_PREFIX),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=audit.key.key_arn
                    ),
                ),
            ),
        )

    def _build_named_queries(self) -> list[athena.CfnNamedQuery]:
        built = []
        for query in named_queries(self.database_name, TABLE_NAME):
            named = athena.CfnNamedQuery(
                self,
                f"Query-{query.name}",
                name=query.name,
                description=query.description,
                database=self.database_name,
                query_string=query.sql,
                work_group=self.workgroup.ref,
            )
            named.add_resource_dependency(self.table)
            built.append(named)
        return built

    def _build_reader_policy(self, audit: AuditStorage, cases_table: dynamodb.ITable) -> iam.ManagedPolicy:
        stack = Stack.of(self)
        catalog = stack.format_arn(service="glue", resource="catalog")
        database = stack.format_arn(service="glue", resource="database", resource_name=self.database_name)
        table = stack.format_arn(service="glue", resource="table", resource_name=f"{self.database_name}/{TABLE_NAME}")
        workgroup = stack.format_arn(service="athena", resource="workgroup", resource_name=self.workgroup_name)
        records = audit.bucket.arn_for_objects(f"{AUDIT_RECORDS_PREFIX}*")
        results = self.results_bucket.arn_for_objects(f"{RESULTS_PREFIX}*")
        policy = iam.ManagedPolicy(
            self,
            "ReaderPolicy",
            description="Read the Warden audit records: Athena in the self-evaluation workgroup, and warden report",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "athena:StartQueryExecution",
                        "athena:StopQueryExecution",
                        "athena:GetQueryExecution",
                        "athena:GetQueryResults",
                        "athena:GetWorkGroup",
                        "athena:ListNamedQueries",
                        "athena:GetNamedQuery",
                        "athena:BatchGetNamedQuery",
                    ],
                    resources=[workgroup],
                ),
                iam.PolicyStatement(
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
                    resources=[catalog, database, table],
                ),
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[records]),
                iam.PolicyStatement(
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[audit.bucket.bucket_arn, self.results_bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], resources=[results]
                ),
                iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[audit.key.key_arn]),
                # warden report: the reviewers' decisions and the stack's outputs.
                iam.PolicyStatement(
                    actions=["dynamodb:Query", "dynamodb:GetItem"],
                    resources=[cases_table.table_arn, f"{cases_table.table_arn}/index/{CASES_STATUS_INDEX}"],
                ),
                iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[stack.stack_id]),
            ],
        )
        acknowledge(
            policy,
            wildcard_resource(f"{arn_of(audit.bucket)}/{AUDIT_RECORDS_PREFIX}*"),
            "Reading the audit records means reading every object under records/ (Athena scans the partitions a "
            "query selects; warden report fetches a window's records); the policy allows no other prefix.",
        )
        acknowledge(
            policy,
            wildcard_resource(f"{arn_of(self.results_bucket)}/{RESULTS_PREFIX}*"),
            "Athena writes each query's result under a new key below results/ in the workgroup's own results "
            "bucket, and the analyst reads it back; the keys are not known in advance.",
        )
        return policy
