"""Integration fixtures: moto's server as AWS with the stack's resources, and a fake Claude over real HTTP.

The resources are created by `warden_local.resources.provision` from the same constants the CDK stack
uses. Handlers are imported after the environment is set, exactly as a Lambda container would start.
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from warden import constants as c
from warden.config import Provider, WardenConfig, parse_config
from warden_local.lambda_runtime import LocalLambdaContext
from warden_local.moto_server import start_moto_server
from warden_local.resources import LocalResources, create_tenant, function_environment, provision

from tests.conftest import free_port
from tests.fakes.anthropic_server import FakeAnthropic

TENANT_ID = "acme"


@dataclass
class AwsStack:
    resources: LocalResources
    tenant_key: str
    endpoint_url: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=c.LOCAL_REGION)  # type: ignore[call-overload]


@pytest.fixture(scope="session")
def fake_claude() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _reset_fake(request: pytest.FixtureRequest) -> None:
    if "fake_claude" in request.fixturenames:
        request.getfixturevalue("fake_claude").reset()


@pytest.fixture(scope="session")
def warden_config(cdk_context: dict[str, Any]) -> WardenConfig:
    return parse_config(cdk_context["warden"])


@pytest.fixture(scope="session")
def aws(fake_claude: FakeAnthropic, warden_config: WardenConfig) -> Iterator[AwsStack]:
    """A moto server with every resource, a tenant, and the functions' environment set in this process."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": c.LOCAL_REGION,
            "AWS_REGION": c.LOCAL_REGION,
            c.ENV_AWS_ENDPOINT_URL: endpoint,
        }
    )
    server = start_moto_server("127.0.0.1", port)
    try:
        resources = provision(endpoint, anthropic_api_key=fake_claude.api_key, visibility_timeout=1)
        tenant_key = "wk_" + secrets.token_urlsafe(24)
        create_tenant(resources, TENANT_ID, tenant_key)
        config = warden_config.model_copy(update={"provider": Provider.ANTHROPIC})
        env = function_environment(resources, config.runtime().model_dump_json(), cache_seconds=0)
        env[c.ENV_ANTHROPIC_BASE_URL] = fake_claude.base_url
        env["POWERTOOLS_METRICS_NAMESPACE"] = c.METRICS_NAMESPACE
        os.environ.update(env)
        yield AwsStack(resources=resources, tenant_key=tenant_key, endpoint_url=endpoint)
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def sqs(aws: AwsStack) -> Any:
    return aws.client("sqs")


@pytest.fixture(scope="session")
def s3(aws: AwsStack) -> Any:
    return aws.client("s3")


@pytest.fixture(scope="session")
def dynamodb(aws: AwsStack) -> Any:
    return aws.client("dynamodb")


def _clear_caches() -> None:
    """Forget per-container state (settings, clients, wiring) so a test's environment takes effect."""
    from warden import settings
    from warden.adapters import aws as aws_clients
    from warden.adapters import secrets as secret_cache

    for cached in (
        settings.gateway_settings,
        settings.authorizer_settings,
        settings.review_settings,
        settings.audit_drain_settings,
        settings.reviewer_settings,
        aws_clients.client,
        secret_cache.secret_string,
    ):
        cached.cache_clear()
    for module, names in (
        ("gateway.wiring", ("gateway_deps", "user_store", "user_hash_key")),
        ("authorizer.handler", ("resolver", "verifier")),
        ("review.handler", ("cases", "notifier")),
        ("audit_drain.handler", ("store",)),
        ("reviewer.handler", ("cases", "users", "action_log", "records", "tenants")),
    ):
        loaded = importlib.import_module(module)
        for name in names:
            getattr(loaded, name).cache_clear()


@pytest.fixture
def environment(aws: AwsStack) -> Iterator[Callable[..., None]]:
    """Override function environment variables for one test (a 'new container'); restored afterwards."""
    saved = dict(os.environ)

    def apply(**overrides: str | None) -> None:
        for name, value in overrides.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _clear_caches()

    _clear_caches()
    yield apply
    os.environ.clear()
    os.environ.update(saved)
    _clear_caches()


@pytest.fixture
def lambda_context() -> Callable[[str], LocalLambdaContext]:
    return LocalLambdaContext


def unique_user() -> str:
    return "user-" + secrets.token_hex(6)
