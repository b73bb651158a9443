"""boto3 clients, created once per container and shared by the adapters."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Short timeouts and standard retries: a Lambda behind API Gateway has ~29 s in all.
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    tcp_keepalive=True,
)


@cache
def client(service: str) -> Any:
    """One client per service per container. Endpoint and region come from the standard AWS environment."""
    return boto3.session.Session().client(service, config=_CLIENT_CONFIG)  # type: ignore[call-overload]
