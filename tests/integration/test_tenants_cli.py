"""`warden tenants` against the moto server: the local stack's resources, and a "deployed" stack found from
CloudFormation outputs (a stack created in moto with the outputs the real one exports)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from warden import constants as c
from warden.adapters.tenant_store import DynamoTenantStore
from warden.cli import main
from warden.domain.identity import hash_api_key
from warden.domain.tenants import TenantResolver
from warden.models import TenantStatus

from tests.conftest import ROOT
from tests.integration.conftest import AwsStack

CDK_JSON = ROOT / "cdk.json"


@pytest.fixture
def warden(aws: AwsStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Any]:
    """Run `warden tenants ...` against the moto server; returns (exit code, stdout, stderr)."""
    port = aws.endpoint_url.rsplit(":", 1)[1]
    monkeypatch.setenv(c.ENV_LOCAL_AWS_PORT, port)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["tenants", *args, "--config", str(CDK_JSON)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="module")
def deployed_stack(aws: AwsStack) -> str:
    """A CloudFormation stack in moto whose outputs name the local resources, as the deployed stack's would."""
    name = "Warden-" + secrets.token_hex(3)
    outputs = {
        c.OUTPUT_TENANTS_TABLE: aws.resources.tenants_table,
        c.OUTPUT_REST_API_ID: aws.resources.rest_api_id,
        c.OUTPUT_API_STAGE: aws.resources.stage_name,
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    aws.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


def _where(request: pytest.FixtureRequest, mode: str) -> list[str]:
    return ["--local"] if mode == "local" else ["--stack", request.getfixturevalue("deployed_stack")]


MODES = ["local", "deployed"]


def _create(warden: Callable[..., Any], where: list[str], *extra: str) -> dict[str, Any]:
    tenant_id = "t-" + secrets.token_hex(4)
    code, out, err = warden("create", "Test tenant", "--tenant-id", tenant_id, *extra, *where, "--json")
    assert code == 0, err
    created: dict[str, Any] = json.loads(out)
    return created


@pytest.mark.parametrize("mode", MODES)
def test_create_shows_the_key_once_and_stores_only_its_hash(
    aws: AwsStack, warden: Callable[..., Any], request: pytest.FixtureRequest, mode: str
) -> None:
    created = _create(warden, _where(request, mode), "--rate", "5", "--burst", "10", "--quota-per-month", "1000")

    api_key = created["api_key"]
    assert api_key.startswith("wk_") and len(api_key) >= 40
    item = aws.client("dynamodb").get_item(
        TableName=aws.resources.tenants_table, Key={c.TENANTS_TABLE.partition_key: {"S": hash_api_key(api_key)}}
    )["Item"]
    assert item["tenant_id"]["S"] == created["tenant_id"]
    assert api_key not in json.dumps(item)
    plan = aws.client("apigateway").get_usage_plan(usagePlanId=item["usage_plan_id"]["S"])
    assert plan["throttle"] == {"rateLimit": 5.0, "burstLimit": 10}
    assert plan["quota"]["limit"] == 1000
    assert plan["apiStages"] == [{"apiId": aws.resources.rest_api_id, "stage": aws.resources.stage_name}]


def test_create_human_output_and_overrides(aws: AwsStack, warden: Callable[..., Any]) -> None:
    code, out, _ = warden(
        "create", "Kids App", "--local", "--profile", "strict", "--identity", "jwt",
        "--fail-mode", "allow_and_flag", "--require-policy-acceptance", "--redact", "email", "--redact", "card",
        "--strike-ladder", '{"warn_at": 1, "throttle_at": null, "suspend_at": 2, "window_days": 7}',
    )  # fmt: skip

    assert code == 0
    assert "Created tenant kids-app" in out and "shown once" in out
    api_key = out.split("hash):\n", 1)[1].splitlines()[0]
    tenant = DynamoTenantStore(aws.resources.tenants_table).find_by_key_hash(hash_api_key(api_key))
    assert tenant is not None
    assert (tenant.profile, tenant.identity, tenant.fail_mode) == ("strict", "jwt", "allow_and_flag")
    assert tenant.require_policy_acceptance and tenant.strike_ladder and tenant.strike_ladder.suspend_at == 2
    assert tenant.redaction == ("email", "card")


@pytest.mark.parametrize("mode", MODES)
def test_list_shows_tenants_without_keys(warden: Callable[..., Any], request: pytest.FixtureRequest, mode: str) -> None:
    where = _where(request, mode)
    created = _create(warden, where, "--rate", "7")

    code, out, _ = warden("list", *where, "--json")
    human_code, human, _ = warden("list", *where)

    assert code == human_code == 0
    listed = {t["tenant_id"]: t for t in json.loads(out)}
    mine = listed[created["tenant_id"]]
    assert mine["status"] == "active" and mine["profile"] == "default" and mine["identity"] == "trusted_backend"
    assert mine["usage_plan"]["rate_limit"] == 7
    assert created["api_key"] not in out + human
    assert hash_api_key(created["api_key"]) not in out + human
    assert "usage_key" not in out
    assert created["tenant_id"] in human and "7 req/s" in human


@pytest.mark.parametrize("mode", MODES)
def test_rotate_key_replaces_the_key(
    aws: AwsStack, warden: Callable[..., Any], request: pytest.FixtureRequest, mode: str
) -> None:
    where = _where(request, mode)
    created = _create(warden, where)

    code, out, _ = warden("rotate-key", created["tenant_id"], *where, "--json")

    assert code == 0
    new_key = json.loads(out)["api_key"]
    store = DynamoTenantStore(aws.resources.tenants_table)
    assert new_key != created["api_key"]
    assert store.find_by_key_hash(hash_api_key(created["api_key"])) is None
    renewed = store.find_by_key_hash(hash_api_key(new_key))
    assert renewed is not None and renewed.tenant_id == created["tenant_id"]


@pytest.mark.parametrize("mode", MODES)
def test_disable_stops_the_key_within_the_authorizer_cache_ttl(
    aws: AwsStack, warden: Callable[..., Any], request: pytest.FixtureRequest, mode: str
) -> None:
    # Given a tenant whose key an authorizer container has just resolved (and cached for 60 s)
    where = _where(request, mode)
    created = _create(warden, where)
    now = [1000.0]
    resolver = TenantResolver(DynamoTenantStore(aws.resources.tenants_table), ttl_seconds=60, clock=lambda: now[0])
    assert resolver.resolve(created["api_key"]).status is TenantStatus.ACTIVE  # type: ignore[union-attr]

    # When the tenant is disabled
    code, _, _ = warden("disable", created["tenant_id"], *where)

    # Then the cached answer lasts until the TTL, and the key is refused from then on
    assert code == 0
    now[0] += 59
    assert resolver.resolve(created["api_key"]).status is TenantStatus.ACTIVE  # type: ignore[union-attr]
    now[0] += 1
    assert resolver.resolve(created["api_key"]).status is TenantStatus.DISABLED  # type: ignore[union-attr]
    item = aws.client("dynamodb").get_item(
        TableName=aws.resources.tenants_table,
        Key={c.TENANTS_TABLE.partition_key: {"S": hash_api_key(created["api_key"])}},
    )["Item"]
    api_key = aws.client("apigateway").get_api_key(apiKey=item["usage_key_id"]["S"])
    assert api_key["enabled"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rotate-key", "no-such-tenant", "--local"), "no tenant with id 'no-such-tenant'"),
        (("disable", "no-such-tenant", "--local"), "no tenant with id 'no-such-tenant'"),
        (("create", "X", "--profile", "nope", "--local"), "screening profile 'nope' is not configured"),
        (("create", "X", "--strike-ladder", "{bad", "--local"), "invalid tenant"),
        (("create", "X", "--rate", "-1", "--local"), "invalid usage plan"),
        (("list", "--stack", "NoSuchStack"), "stack 'NoSuchStack' not found"),
    ],
)
def test_operator_errors_exit_2_without_a_traceback(
    warden: Callable[..., Any], args: tuple[str, ...], message: str
) -> None:
    code, out, err = warden(*args)

    assert code == 2
    assert message in err
    assert "Traceback" not in err and out == ""


def test_create_refuses_a_duplicate_tenant_id(warden: Callable[..., Any]) -> None:
    created = _create(warden, ["--local"])

    code, _, err = warden("create", "Again", "--tenant-id", created["tenant_id"], "--local")

    assert code == 2 and "already exists" in err


def test_unreachable_local_stack_is_a_clear_error(
    warden: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.conftest import free_port

    monkeypatch.setenv(c.ENV_LOCAL_AWS_PORT, str(free_port()))

    code, _, err = warden("list", "--local")

    assert code == 2 and "start it with `warden local`" in err


def test_no_aws_region_is_a_clear_error(warden: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an operator whose AWS configuration names no region (and no --region)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")

    code, out, err = warden("list", "--stack", "Warden")

    assert code == 2
    assert "AWS: You must specify a region" in err
    assert "Traceback" not in err and out == ""
