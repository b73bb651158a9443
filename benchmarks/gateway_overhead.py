"""Warm per-request gateway overhead: handler wall time minus the time spent waiting on Claude.

AWS is moto in-process (`mock_aws`); Claude is the fake Anthropic server over real HTTP, and the time
spent in the Claude client (moderator and completion calls) is subtracted. Also counts the AWS calls the
allowed path makes, in order.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.client
from warden import constants as c
from warden.config import Provider, parse_config
from warden.models import ClaudeReply
from warden_local.lambda_runtime import LocalLambdaContext
from warden_local.resources import create_tenant, function_environment, provision

TENANT_KEY = "bench-tenant-key"


class TimedClaude:
    """Wraps the gateway's Claude client to add up the time spent waiting on it."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.waited = 0.0

    def create_message(self, body: dict[str, Any], *, timeout: float | None = None) -> ClaudeReply:
        started = time.perf_counter()
        try:
            reply: ClaudeReply = self.inner.create_message(body, timeout=timeout)
            return reply
        finally:
            self.waited += time.perf_counter() - started


@contextmanager
def counting_aws_calls() -> Iterator[list[str]]:
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: Any) -> Any:
        calls.append(f"{self.meta.service_model.service_name}:{operation_name}")
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def _event(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": "/v1/messages",
        "path": "/v1/messages",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json", "x-api-key": TENANT_KEY},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/messages",
            "httpMethod": "POST",
            "path": "/prod/v1/messages",
            "stage": "prod",
            "requestId": "bench",
            "accountId": "000000000000",
            "apiId": "bench",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"tenant_id": "bench", "principalId": "bench"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class BenchStack:
    """The gateway handler in this process over moto (`mock_aws`) and the fake Anthropic server."""

    handler: Any
    deps: Any
    timed: TimedClaude

    def invoke(self, body: dict[str, Any], tenant_settings: dict[str, Any] | None = None) -> tuple[float, float, int]:
        """Serve one request: (wall seconds, seconds waiting on Claude, status)."""
        event = _event(body)
        if tenant_settings is not None:
            event["requestContext"]["authorizer"][c.AUTH_CONTEXT_SETTINGS] = json.dumps(tenant_settings)
        self.timed.waited = 0.0
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the metrics lines (EMF) go to stdout
            response = self.handler.lambda_handler(event, LocalLambdaContext("bench-gateway"))
        return time.perf_counter() - started, self.timed.waited, int(response["statusCode"])


@contextmanager
def bench_stack(with_moderator: bool) -> Iterator[BenchStack]:
    """The deployment of cdk.json (optionally without the moderator) with a tenant, ready to serve."""
    from moto import mock_aws

    from tests.fakes.anthropic_server import FakeAnthropic

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": c.LOCAL_REGION,
            "AWS_REGION": c.LOCAL_REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop(c.ENV_AWS_ENDPOINT_URL, None)
    config = parse_config(json.loads(Path("cdk.json").read_text())["context"]["warden"])
    screeners = config.screening.screeners if with_moderator else config.screening.screeners[:1]
    config = config.model_copy(
        update={
            "provider": Provider.ANTHROPIC,
            "screening": config.screening.model_copy(update={"screeners": screeners}),
        }
    )
    with FakeAnthropic() as fake, mock_aws():
        fake.tool_responder = lambda body: {"violations": []}
        resources = provision(None, anthropic_api_key=fake.api_key)
        create_tenant(resources, "bench", TENANT_KEY)
        env = function_environment(resources, config.runtime().model_dump_json(), 0)
        env[c.ENV_ANTHROPIC_BASE_URL] = fake.base_url
        os.environ.update(env)
        _forget_containers()
        handler = importlib.import_module("gateway.handler")
        wiring = importlib.import_module("gateway.wiring")
        deps = wiring.gateway_deps()
        timed = TimedClaude(deps.claude)
        deps.claude = timed
        for screener in deps.screeners:
            if hasattr(screener, "client"):
                screener.client = timed
        yield BenchStack(handler, deps, timed)


def _forget_containers() -> None:
    """A new 'container' per stack: settings, clients and wiring built afresh from this environment."""
    from warden import settings
    from warden.adapters import aws as aws_clients
    from warden.adapters import secrets as secret_cache

    for cached in (settings.gateway_settings, aws_clients.client, secret_cache.secret_string):
        cached.cache_clear()
    wiring = importlib.import_module("gateway.wiring")
    for name in ("gateway_deps", "user_store", "user_hash_key"):
        getattr(wiring, name).cache_clear()


def ordinary_request(index: int, user_id: str | None = None) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "metadata": {"user_id": user_id or f"bench-user-{index % 50}"},
        "messages": [{"role": "user", "content": f"Summarise a novel about a lighthouse, #{index}."}],
    }


def run(requests: int = 300, with_moderator: bool = True) -> dict[str, Any]:
    with bench_stack(with_moderator) as stack:
        for index in range(20):  # warm-up: clients, caches, the SDK import
            stack.invoke(ordinary_request(index))
        overheads, walls = [], []
        for index in range(requests):
            wall, waited, status = stack.invoke(ordinary_request(index))
            assert status == 200, status
            overheads.append((wall - waited) * 1000)
            walls.append(wall * 1000)
        with counting_aws_calls() as calls:
            stack.invoke(ordinary_request(10_000))
    return {
        "requests": requests,
        "moderator": with_moderator,
        "overhead_ms_p50": round(statistics.median(overheads), 2),
        "overhead_ms_p99": round(percentile(overheads, 0.99), 2),
        "wall_ms_p50_including_fake_claude": round(statistics.median(walls), 2),
        "aws_calls_allowed_path": calls,
    }
