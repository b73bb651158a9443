"""AWS clients, created once per container and shared by the adapters.

Built from botocore directly rather than boto3: boto3's import pulls in s3transfer (~80 ms of a cold
start) for managed transfers Warden never uses. The clients are the same; endpoint, region and credentials
come from the standard AWS environment (including `AWS_ENDPOINT_URL`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from warden.errors import StorageError

# Short timeouts and standard retries: a Lambda behind API Gateway has ~29 s in all.
_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    tcp_keepalive=True,
)


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def client(service: str) -> Any:
    """One client per service per container."""
    return _session().create_client(service, config=_CLIENT_CONFIG)


def transact_once(what: str, items: list[dict[str, Any]]) -> bool:
    """One DynamoDB transaction; False when a condition in it failed (done before, or changed under the caller)."""
    try:
        client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code != "TransactionCanceledException":
            raise StorageError(f"{what} failed: {code}") from error
        reasons = error.response.get("CancellationReasons") or []
        if not any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
            raise StorageError(f"{what} was cancelled") from error
        return False
    except BotoCoreError as error:
        raise StorageError(f"{what} failed: {type(error).__name__}") from error
    return True
