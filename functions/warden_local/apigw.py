"""A small HTTP server that does what API Gateway does for Warden's REST API, for the same handlers.

Each request becomes a REQUEST-authorizer event for the authorizer handler; when it allows, a REST proxy
event (with the authorizer context) for the gateway handler. Refusals before the Lambda use the same
gateway responses as the CDK stack (`warden.api_errors.GATEWAY_RESPONSES`).
"""

from __future__ import annotations

import fnmatch
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from warden.api_errors import GATEWAY_RESPONSES, REVIEWER_UNAUTHORIZED, anthropic_error_body
from warden.constants import (
    HEADER_REQUEST_ID,
    LOCAL_REVIEWER_ID,
    REVIEW_CONSOLE_ROUTES,
    REVIEW_PATH_PREFIX,
    REVIEW_ROUTES,
    TENANT_ROUTES,
)
from warden.domain.decisions import SENIOR_REVIEWERS_GROUP
from warden.domain.reviewing import REVIEWERS_GROUP

from warden_local.lambda_runtime import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

ACCOUNT_ID = "000000000000"
API_ID = "local"
STAGE = "prod"
# API Gateway's own payload limit.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


def _compile(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


def _compile_all(routes: tuple[tuple[str, str], ...]) -> list[tuple[str, str, re.Pattern[str]]]:
    return [(method, template, _compile(template)) for method, template in routes]


_COMPILED_ROUTES = _compile_all(TENANT_ROUTES)
_REVIEW_CONSOLE_ROUTES = _compile_all(REVIEW_CONSOLE_ROUTES)
_REVIEW_ROUTES = _compile_all(REVIEW_ROUTES)
# What API Gateway's Cognito authorizer passes on from a reviewer's ID token; locally, the one local reviewer.
LOCAL_REVIEWER_CLAIMS = {
    "cognito:username": LOCAL_REVIEWER_ID,
    "cognito:groups": f"{REVIEWERS_GROUP},{SENIOR_REVIEWERS_GROUP}",
}


def match_route(
    method: str, path: str, routes: list[tuple[str, str, re.Pattern[str]]] | None = None
) -> tuple[str, dict[str, str]] | None:
    for route_method, template, pattern in _COMPILED_ROUTES if routes is None else routes:
        found = pattern.match(path)
        if found and route_method == method:
            return template, found.groupdict()
    return None


def _policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    allowed = False
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, resource) for resource in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


class LocalApiGateway:
    """Turns HTTP requests into API Gateway events for the authorizer and gateway handlers."""

    def __init__(
        self, authorizer: Handler, gateway: Handler, reviewer: Handler | None = None, reviewer_key: str | None = None
    ):
        self.authorizer = authorizer
        self.gateway = gateway
        # The reviewer API (a separate API deployed, behind Cognito): here, the same port and a bearer key.
        self.reviewer = reviewer
        self.reviewer_key = reviewer_key
        self._reviewer_lock = threading.Lock()
        # A Lambda container serves one request at a time, and handlers keep per-request state in module
        # scope (Powertools' resolver context, the logger's keys): invoke each function one at a time too.
        self._authorizer_lock = threading.Lock()
        self._gateway_lock = threading.Lock()

    def _gateway_response(self, kind: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
        status, error_type, message = GATEWAY_RESPONSES[kind]
        body = anthropic_error_body(error_type, message, {"request_id": request_id})
        return status, {"content-type": "application/json", HEADER_REQUEST_ID: request_id}, json.dumps(body).encode()

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        request_id = str(uuid.uuid4())
        parts = urlsplit(raw_path)
        if parts.path.startswith(REVIEW_PATH_PREFIX) and self.reviewer is not None:
            return self._handle_review(method, parts.path, parts.query, headers, body, request_id)
        route = match_route(method, parts.path)
        if route is None:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id)
        if len(body) > MAX_PAYLOAD_BYTES:
            return self._gateway_response("REQUEST_TOO_LARGE", request_id)
        resource, path_parameters = route
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()} or None
        method_arn = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{parts.path}"
        request_context = _request_context(request_id, resource, method, parts.path, headers)
        authorizer_event = {
            "type": "REQUEST",
            "methodArn": method_arn,
            "resource": resource,
            "path": parts.path,
            "httpMethod": method,
            "headers": headers,
            "queryStringParameters": query,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": request_context,
        }
        try:
            with self._authorizer_lock:
                decision = self.authorizer(authorizer_event, LocalLambdaContext("warden-authorizer"))
        except Exception as error:  # API Gateway: "Unauthorized" → 401, anything else → 500
            kind = "UNAUTHORIZED" if str(error) == "Unauthorized" else "DEFAULT_5XX"
            return self._gateway_response(kind, request_id)
        if not _policy_allows(decision.get("policyDocument", {}), method_arn):
            return self._gateway_response("ACCESS_DENIED", request_id)
        authorizer_context = {**(decision.get("context") or {}), "principalId": decision.get("principalId")}
        event = proxy_event(
            resource, method, parts.path, headers, query, path_parameters, request_context, authorizer_context, body
        )
        try:
            with self._gateway_lock:
                result = self.gateway(event, LocalLambdaContext("warden-gateway"))
        except Exception:
            return self._gateway_response("DEFAULT_5XX", request_id)
        return _http_response(result)

    def _handle_review(
        self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes, request_id: str
    ) -> tuple[int, dict[str, str], bytes]:
        """What the deployed reviewer API does: the console routes open, every other route behind a reviewer token."""
        assert self.reviewer is not None
        route = match_route(method, path, _REVIEW_CONSOLE_ROUTES)
        authorizer_context: dict[str, Any] = {}
        if route is None:
            route = match_route(method, path, _REVIEW_ROUTES)
            if route is None:
                return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id)
            if not self._is_reviewer(headers.get("authorization", "")):
                status, error_type, message = REVIEWER_UNAUTHORIZED
                payload = anthropic_error_body(error_type, message, {"request_id": request_id})
                headers_out = {"content-type": "application/json", HEADER_REQUEST_ID: request_id}
                return status, headers_out, json.dumps(payload).encode()
            authorizer_context = {"claims": dict(LOCAL_REVIEWER_CLAIMS)}
        if len(body) > MAX_PAYLOAD_BYTES:
            return self._gateway_response("REQUEST_TOO_LARGE", request_id)
        resource, path_parameters = route
        query = {key: values[-1] for key, values in parse_qs(raw_query).items()} or None
        request_context = _request_context(request_id, resource, method, path, headers)
        event = proxy_event(
            resource, method, path, headers, query, path_parameters, request_context, authorizer_context, body
        )
        try:
            with self._reviewer_lock:
                result = self.reviewer(event, LocalLambdaContext("warden-reviewer"))
        except Exception:
            return self._gateway_response("DEFAULT_5XX", request_id)
        return _http_response(result)

    def _is_reviewer(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return (
            self.reviewer_key is not None
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), self.reviewer_key.encode())
        )


def _request_context(request_id: str, resource: str, method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "stage": STAGE,
        "requestId": request_id,
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{STAGE}{path}",
        "protocol": "HTTP/1.1",
        "requestTimeEpoch": int(time.time() * 1000),
        "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "")},
    }


def proxy_event(
    resource: str,
    method: str,
    path: str,
    headers: dict[str, str],
    query: dict[str, str] | None,
    path_parameters: dict[str, str],
    request_context: dict[str, Any],
    authorizer_context: dict[str, Any],
    body: bytes,
) -> dict[str, Any]:
    """A REST API Lambda proxy event, as API Gateway sends it."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {**request_context, "authorizer": authorizer_context},
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


def _http_response(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    response_headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        response_headers[name.lower()] = ", ".join(str(value) for value in values)
    payload = result.get("body") or ""
    return int(result.get("statusCode", 502)), response_headers, payload.encode()


def serve(api: LocalApiGateway, host: str, port: int) -> ThreadingHTTPServer:
    """Start the HTTP server in a daemon thread; the caller shuts it down."""

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _respond(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, response_headers, payload = api.handle(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in response_headers.items():
                if name not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _respond  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            return  # the handlers log structured lines themselves

    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="warden-local-api", daemon=True).start()
    return server
