"""Secrets Manager: read once per container, never logged."""

from __future__ import annotations

from functools import cache

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.errors import StorageError


@cache
def secret_string(secret_id: str) -> str:
    try:
        response = client("secretsmanager").get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as error:
        raise StorageError(f"cannot read secret {secret_id.rsplit(':', 1)[-1]}: {type(error).__name__}") from error
    value = response.get("SecretString")
    if not value:
        raise StorageError(f"secret {secret_id.rsplit(':', 1)[-1]} has no string value")
    return str(value)
