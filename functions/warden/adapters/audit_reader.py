"""Reading audit records back from the bucket (`warden report`): list each hour partition, fetch in parallel.

A report reads thousands of small objects, so listing and fetching run on a thread pool (botocore clients
are thread-safe); the caller gets the bodies as they arrive and is told about progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.constants import AUDIT_RECORDS_PREFIX
from warden.domain.report import Partition
from warden.errors import StorageError

DEFAULT_WORKERS = 32

Progress = Callable[[int, int], None]


def partition_prefix(partition: Partition) -> str:
    return f"{AUDIT_RECORDS_PREFIX}dt={partition.dt}/hour={partition.hour}/"


class S3AuditReader:
    def __init__(self, s3: Any, bucket: str, workers: int = DEFAULT_WORKERS):
        self.s3 = s3
        self.bucket = bucket
        self.workers = workers

    def keys(self, partition: Partition) -> list[str]:
        """The record keys of one hour partition."""
        keys: list[str] = []
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=partition_prefix(partition)
            )
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".json"))
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"cannot list s3://{self.bucket}/{partition_prefix(partition)}: {error}") from error
        return keys

    def body(self, key: str) -> bytes:
        try:
            data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"cannot read s3://{self.bucket}/{key}: {error}") from error
        return data

    def list_partitions(self, partitions: Sequence[Partition]) -> dict[Partition, list[str]]:
        """Every partition's keys (an empty list for an empty partition), listed side by side."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="warden-report-list") as pool:
            return dict(zip(partitions, pool.map(self.keys, partitions), strict=True))

    def bodies(self, keys: Sequence[str], progress: Progress | None = None) -> Iterator[bytes]:
        """The bodies of `keys`, in the order they arrive; `progress(done, total)` after each."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="warden-report-read") as pool:
            futures = [pool.submit(self.body, key) for key in keys]
            for done, future in enumerate(as_completed(futures), start=1):
                if progress is not None:
                    progress(done, len(keys))
                yield future.result()
