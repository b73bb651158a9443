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


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(requests: int = 300, with_moderator: bool = True) -> dict[str, Any]:
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
        handler = importlib.import_module("gateway.handler")
        wiring = importlib.import_module("gateway.wiring")
        deps = wiring.gateway_deps()
        timed = TimedClaude(deps.claude)
        deps.claude = timed
        for screener in deps.screeners:
            if hasattr(screener, "client"):
                screener.client = timed

        def one(index: int) -> tuple[float, float, int]:
            body = {
                "model": "claude-haiku-4-5",
                "max_tokens": 256,
                "metadata": {"user_id": f"bench-user-{index % 50}"},
                "messages": [{"role": "user", "content": f"Summarise a novel about a lighthouse, #{index}."}],
            }
            timed.waited = 0.0
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # the metrics lines (EMF) go to stdout
                response = handler.lambda_handler(_event(body), LocalLambdaContext("bench-gateway"))
            wall = time.perf_counter() - started
            return wall, timed.waited, response["statusCode"]

        for index in range(20):  # warm-up: clients, caches, the SDK import
            one(index)
        overheads, walls = [], []
        for index in range(requests):
            wall, waited, status = one(index)
            assert status == 200, status
            overheads.append((wall - waited) * 1000)
            walls.append(wall * 1000)
        with counting_aws_calls() as calls:
            one(10_000)
    return {
        "requests": requests,
        "moderator": with_moderator,
        "overhead_ms_p50": round(statistics.median(overheads), 2),
        "overhead_ms_p99": round(_percentile(overheads, 0.99), 2),
        "wall_ms_p50_including_fake_claude": round(statistics.median(walls), 2),
        "aws_calls_allowed_path": calls,
    }
