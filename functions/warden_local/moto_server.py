"""The moto server that stands in for AWS locally and in tests, with DynamoDB's isolation restored.

DynamoDB runs each transaction in isolation. moto does not: a `TransactWriteItems` snapshots the tables it
touches, applies its items one at a time, and on a failed condition puts the snapshot back, so a concurrent
request can see half a transaction, and a transaction that fails can undo writes other requests made in between
(seen in the strike concurrency test: a retried strike write rolled back the first write's counter). Warden's
concurrency guarantees rest on that isolation, so moto's DynamoDB requests are served one at a time here; other
services stay concurrent.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

_DYNAMODB_LOCK = threading.RLock()


def serialize_dynamodb() -> None:
    """Make moto's DynamoDB handle one request at a time (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "warden_serialized", False):
        return

    @functools.wraps(original)
    def call_action(self: DynamoHandler) -> Any:
        with _DYNAMODB_LOCK:
            return original(self)

    call_action.warden_serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def start_moto_server(host: str, port: int) -> ThreadedMotoServer:
    """Start a moto server on host:port, with serialized DynamoDB; the caller stops it."""
    from moto.server import ThreadedMotoServer

    serialize_dynamodb()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server
