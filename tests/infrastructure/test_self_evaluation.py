"""Athena over the audit records: the Glue table matches the record model, the workgroup encrypts, nothing drifts."""

from __future__ import annotations

from typing import Any

from warden import constants
from warden.audit_schema import JSON_SERDE, audit_record_columns

from infra.athena_queries import named_queries
from infra.constructs.self_evaluation import TABLE_NAME
from tests.infrastructure.synth import SynthesizedStack, actions_of, resources_of_type


def _table(synthesized: SynthesizedStack) -> dict[str, Any]:
    (table,) = resources_of_type(synthesized.resources, "AWS::Glue::Table").values()
    return table["Properties"]["TableInput"]  # type: ignore[no-any-return]


def test_table_columns_are_the_record_model(synthesized: SynthesizedStack) -> None:
    columns = _table(synthesized)["StorageDescriptor"]["Columns"]

    assert [(c["Name"], c["Type"]) for c in columns] == [(n, t.ddl()) for n, t in audit_record_columns()]


def test_table_reads_json_under_records_with_projected_partitions(synthesized: SynthesizedStack) -> None:
    bucket_id = synthesized.logical_id(synthesized.stack.audit.bucket)
    table = _table(synthesized)
    parameters = table["Parameters"]

    assert table["Name"] == TABLE_NAME
    assert [key["Name"] for key in table["PartitionKeys"]] == ["dt", "hour"]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == JSON_SERDE
    assert parameters["projection.enabled"] == "true"
    assert (parameters["projection.dt.type"], parameters["projection.dt.format"]) == ("date", "yyyy-MM-dd")
    assert (parameters["projection.hour.range"], parameters["projection.hour.digits"]) == ("0,23", "2")
    template = str(parameters["storage.location.template"])
    assert bucket_id in template and "records/dt=${dt}/hour=${hour}/" in template


def test_workgroup_encrypts_results_with_the_audit_key_and_enforces_it(synthesized: SynthesizedStack) -> None:
    (workgroup,) = resources_of_type(synthesized.resources, "AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    key_id = synthesized.logical_id(synthesized.stack.audit.key)
    results_id = synthesized.logical_id(synthesized.stack.self_evaluation.results_bucket)

    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS",
        "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert results_id in str(configuration["ResultConfiguration"]["OutputLocation"])


def test_results_bucket_is_encrypted_private_and_short_lived(synthesized: SynthesizedStack) -> None:
    results = synthesized.resources[synthesized.logical_id(synthesized.stack.self_evaluation.results_bucket)]
    properties = results["Properties"]
    rules = properties["LifecycleConfiguration"]["Rules"]

    assert (
        properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "aws:kms"
    )
    assert properties["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert rules[0]["ExpirationInDays"] == synthesized.config.retention.athena_results_days


def test_every_named_query_is_in_the_workgroup(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    workgroup_id = stack.resolve(stack.get_logical_id(stack.self_evaluation.workgroup))
    queries = resources_of_type(synthesized.resources, "AWS::Athena::NamedQuery").values()
    expected = {query.name for query in named_queries("db", TABLE_NAME)}

    assert {query["Properties"]["Name"] for query in queries} == expected
    assert all(query["Properties"]["WorkGroup"] == {"Ref": workgroup_id} for query in queries)
    assert all(query["Properties"]["Database"] == synthesized.stack.self_evaluation.database_name for query in queries)


def test_reader_policy_grants_reads_and_no_wildcard_actions(synthesized: SynthesizedStack) -> None:
    policy = synthesized.resources[synthesized.logical_id(synthesized.stack.self_evaluation.reader_policy)]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = actions_of(statements)

    assert "s3:GetObject" in actions and "athena:StartQueryExecution" in actions
    assert not any(action.endswith("*") for action in actions)
    assert not {"s3:DeleteObject", "s3:PutObject"} & actions_of(
        [s for s in statements if "records/*" in str(s["Resource"])]
    )


def test_outputs_name_the_workgroup_database_and_policy(synthesized: SynthesizedStack) -> None:
    outputs = synthesized.template.to_json()["Outputs"]

    for output in (
        constants.OUTPUT_ATHENA_WORKGROUP,
        constants.OUTPUT_ATHENA_DATABASE,
        constants.OUTPUT_SELF_EVALUATION_POLICY_ARN,
    ):
        assert output in outputs
