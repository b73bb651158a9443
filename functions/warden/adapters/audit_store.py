"""The audit record store: S3 first, an SQS fallback queue second, never silently dropped.

boto3 already retries S3 (standard mode); on top of that the put is retried with backoff. If S3 still
fails, the record goes gzip-compressed to the fallback queue, which the audit-drain function writes to
S3 later under the same key. Only when both fail does `write` raise.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.constants import audit_record_key
from warden.errors import NotFoundError, StorageError
from warden.models import AuditRecord

logger = logging.getLogger(__name__)

# SQS accepts 256 KiB per message; leave room for the envelope.
_FALLBACK_LIMIT = 240 * 1024


def record_key(record: AuditRecord) -> str:
    received = datetime.fromisoformat(record.received_at.replace("Z", "+00:00"))
    return audit_record_key(record.request_id, received.strftime("%Y-%m-%d"), received.strftime("%H"))


def encode_fallback(key: str, body: bytes) -> str:
    return json.dumps({"key": key, "gzip_b64": base64.b64encode(gzip.compress(body)).decode()})


def decode_fallback(message: str) -> tuple[str, bytes]:
    envelope: dict[str, Any] = json.loads(message)
    body = gzip.decompress(base64.b64decode(envelope["gzip_b64"], validate=True))
    if not body:
        raise ValueError(f"fallback envelope for {envelope['key']} holds an empty record")
    return envelope["key"], body


def _strip_binary(record: AuditRecord) -> bytes:
    """A copy small enough for the queue: base64 payloads (images, documents) replaced by their size."""
    data = json.loads(record.model_dump_json())

    def shrink(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("type") == "base64" and isinstance(value.get("data"), str):
                return {**value, "data": f"<{len(value['data'])} base64 chars omitted: S3 was unavailable>"}
            return {key: shrink(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shrink(item) for item in value]
        return value

    shrunk = shrink(data)
    shrunk["notes"] = [*shrunk.get("notes", []), "binary content omitted: written through the fallback queue"]
    return json.dumps(shrunk, separators=(",", ":")).encode()


class S3AuditStore:
    def __init__(self, bucket: str, fallback_queue_url: str, attempts: int = 3, backoff_seconds: float = 0.1):
        self.bucket = bucket
        self.fallback_queue_url = fallback_queue_url
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds

    def put(self, key: str, body: bytes) -> None:
        """Write one record body to S3 (used by the drain as well)."""
        client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", ServerSideEncryption="aws:kms"
        )

    def write(self, record: AuditRecord) -> str:
        key = record_key(record)
        body = record.model_dump_json().encode()
        last_error: Exception | None = None
        for attempt in range(self.attempts):
            try:
                self.put(key, body)
                return key
            except (ClientError, BotoCoreError) as error:
                last_error = error
                if attempt + 1 < self.attempts:
                    time.sleep(self.backoff_seconds * 2**attempt)
        logger.warning(
            "audit record %s not written to S3 (%s); using the fallback queue", record.request_id, last_error
        )
        message = encode_fallback(key, body)
        if len(message) > _FALLBACK_LIMIT:
            message = encode_fallback(key, _strip_binary(record))
        if len(message) > _FALLBACK_LIMIT:
            raise StorageError(f"audit record {record.request_id} is too large for the fallback queue and S3 failed")
        try:
            client("sqs").send_message(QueueUrl=self.fallback_queue_url, MessageBody=message)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"audit record {record.request_id}: S3 and the fallback queue both failed") from error
        return key


class S3RecordReader:
    """Reads audit records back for reviewers (read-only: the reviewer function may only get records)."""

    def __init__(self, bucket: str):
        self.bucket = bucket

    def read(self, key: str) -> dict[str, Any]:
        try:
            body = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in ("NoSuchKey", "404"):
                raise NotFoundError(f"no audit record {key}") from error
            raise StorageError(f"audit record read failed: {type(error).__name__}") from error
        except BotoCoreError as error:
            raise StorageError(f"audit record read failed: {type(error).__name__}") from error
        try:
            record: dict[str, Any] = json.loads(body)
        except ValueError as error:
            raise StorageError(f"audit record {key} is not JSON") from error
        return record
