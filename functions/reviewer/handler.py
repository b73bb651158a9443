"""Reviewer Lambda: the reviewer API (a separate API from the tenant API) and the reviewer console page.

The caller is a reviewer whose token API Gateway's Cognito authorizer has verified (locally, the local stack's
reviewer key); the reviewer id recorded with every action comes from the token's claims, never from the body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from warden.adapters.audit_store import S3RecordReader
from warden.adapters.case_store import DynamoCaseStore, InvalidCursorError
from warden.adapters.reviewer_log import DynamoReviewerLog
from warden.adapters.tenant_store import DynamoTenantStore
from warden.adapters.user_store import DynamoUserStore
from warden.api_errors import anthropic_error_body, error_response
from warden.constants import HEADER_REQUEST_ID
from warden.domain import decisions, reviewing
from warden.domain.strikes import StrikeLadder
from warden.errors import DependencyUnavailableError, InvalidRequestError, StorageError, WardenError
from warden.settings import reviewer_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

_JSON = "application/json"
_NO_STORE = {"cache-control": "no-store"}


@cache
def cases() -> DynamoCaseStore:
    return DynamoCaseStore(reviewer_settings().cases_table)


@cache
def users() -> DynamoUserStore:
    settings = reviewer_settings()
    return DynamoUserStore(
        settings.users_table, StrikeLadder(settings.config.strike_ladder), actions_table=settings.cases_table
    )


@cache
def action_log() -> DynamoReviewerLog:
    return DynamoReviewerLog(reviewer_settings().cases_table)


@cache
def records() -> S3RecordReader:
    return S3RecordReader(reviewer_settings().audit_bucket)


@cache
def tenants() -> DynamoTenantStore:
    return DynamoTenantStore(reviewer_settings().tenants_table)


@cache
def console_page() -> str:
    return resources.files("warden").joinpath("console/index.html").read_text(encoding="utf-8")


def _request_id() -> str:
    return str(app.current_event.request_context.request_id or "")


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type=_JSON,
        body=json.dumps(body),
        headers={HEADER_REQUEST_ID: _request_id(), **_NO_STORE},
    )


def _reviewer() -> reviewing.Reviewer:
    claims = (app.current_event.request_context.authorizer or {}).get("claims")
    reviewer = reviewing.reviewer_from_claims(claims)
    logger.append_keys(reviewer=reviewer.reviewer_id)
    return reviewer


def _query(name: str) -> str | None:
    return app.current_event.get_query_string_value(name)


def _body() -> str | None:
    return app.current_event.decoded_body


def _tenant_ladder(tenant_id: str) -> StrikeLadder | None:
    """The case's tenant's own strike ladder (None: the deployment's)."""
    for record in tenants().records_of(tenant_id):
        if record.tenant.strike_ladder is not None:
            return StrikeLadder(record.tenant.strike_ladder)
    return None


# ---------------------------------------------------------------- the console (no credential: it holds no data)


@app.get("/review/console")
def get_console() -> Response[str]:
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=console_page(),
        headers={
            "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self' https://*.amazonaws.com; img-src 'self' data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            **_NO_STORE,
        },
    )


@app.get("/review/console/config")
def get_console_config() -> Response[str]:
    settings = reviewer_settings()
    return _json(
        200,
        {
            "auth": settings.auth,
            "region": settings.aws_region,
            "user_pool_id": settings.user_pool_id,
            "client_id": settings.client_id,
        },
    )


# ---------------------------------------------------------------- reads


@app.get("/review/me")
def get_me() -> Response[str]:
    reviewer = _reviewer()
    return _json(200, {"reviewer": reviewer.reviewer_id, "groups": list(reviewer.groups), "senior": reviewer.senior})


@app.get("/review/cases")
@tracer.capture_method
def list_cases() -> Response[str]:
    _reviewer()
    body = reviewing.list_cases(
        cases(),
        status=_query("status"),
        tenant_id=_query("tenant"),
        user_hash=_query("user_hash"),
        limit=_query("limit"),
        cursor=_query("cursor"),
    )
    return _json(200, body)


@app.get("/review/cases/<case_id>")
@tracer.capture_method
def get_case(case_id: str) -> Response[str]:
    _reviewer()
    return _json(200, reviewing.case_detail(cases(), records(), action_log(), users(), case_id, datetime.now(UTC)))


@app.get("/review/users")
@tracer.capture_method
def list_users() -> Response[str]:
    _reviewer()
    body = reviewing.list_users(
        users(), sort=_query("sort"), limit=_query("limit"), cursor=_query("cursor"), now=datetime.now(UTC)
    )
    return _json(200, body)


@app.get("/review/users/<user_hash>")
@tracer.capture_method
def get_user(user_hash: str) -> Response[str]:
    _reviewer()
    return _json(200, reviewing.user_detail(users(), cases(), action_log(), user_hash, datetime.now(UTC)))


@app.get("/review/stats/false-positives")
def get_false_positives() -> Response[str]:
    _reviewer()
    counts = cases().false_positive_counts()
    return _json(200, {"false_positives": {category.value: dict(by) for category, by in counts.items()}})


# ---------------------------------------------------------------- actions (each one logged, append-only)


@app.post("/review/cases/<case_id>/claim")
@tracer.capture_method
def claim_case(case_id: str) -> Response[str]:
    reviewer = _reviewer()
    case = decisions.claim_case(
        cases(), reviewing.require_case_id(case_id), reviewer.reviewer_id, datetime.now(UTC), senior=reviewer.senior
    )
    metrics.add_metric(name="CasesClaimed", unit=MetricUnit.Count, value=1)
    return _json(200, {"case": reviewing.case_view(case)})


@app.post("/review/cases/<case_id>/decision")
@tracer.capture_method
def decide_case(case_id: str) -> Response[str]:
    reviewer = _reviewer()
    body = reviewing.json_body(_body())
    decided = decisions.decide_case(
        cases(),
        users(),
        reviewing.require_case_id(case_id),
        reviewer.reviewer_id,
        reviewing.text_field(body, "decision"),
        reviewing.text_field(body, "note"),
        datetime.now(UTC),
        _tenant_ladder,
        senior=reviewer.senior,
    )
    if not decided.replayed:
        metrics.add_metric(name="CaseDecisions", unit=MetricUnit.Count, value=1)
    return _json(
        200,
        {
            "case": reviewing.case_view(decided.case),
            "standing": reviewing.standing_view(decided.standing),
            "replayed": decided.replayed,
        },
    )


_USER_ACTIONS = {
    "suspend": decisions.suspend_user,
    "reinstate": decisions.reinstate_user,
    "clear-strikes": decisions.clear_user_strikes,
}


@app.post("/review/users/<user_hash>/<action>")
@tracer.capture_method
def act_on_user(user_hash: str, action: str) -> Response[str]:
    reviewer = _reviewer()
    operation = _USER_ACTIONS.get(action)
    if operation is None:
        return handle_not_found(None)
    reason = reviewing.reason_of(_body())
    standing = operation(users(), user_hash, reviewer.reviewer_id, reason, datetime.now(UTC))
    metrics.add_metric(name="UserActions", unit=MetricUnit.Count, value=1)
    return _json(200, {"standing": reviewing.standing_view(standing)})


# ---------------------------------------------------------------- errors


@app.exception_handler(WardenError)
def handle_warden_error(error: WardenError) -> Response[str]:
    status, body, headers = error_response(error, _request_id())
    if status >= 500:
        logger.warning("reviewer request refused", extra={"status": status, "error_type": body["error"]["type"]})
    response = _json(status, body)
    response.headers.update(headers)
    return response


@app.exception_handler(InvalidCursorError)
def handle_bad_cursor(error: InvalidCursorError) -> Response[str]:
    return handle_warden_error(InvalidRequestError(str(error)))


@app.exception_handler(StorageError)
def handle_storage_error(error: StorageError) -> Response[str]:
    logger.exception("storage failure")
    return handle_warden_error(DependencyUnavailableError("a storage dependency is unavailable; retry later"))


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return _json(500, anthropic_error_body("api_error", "internal reviewer API error", {"request_id": _request_id()}))


@app.not_found
def handle_not_found(_: Exception | None) -> Response[str]:
    event = app.current_event
    return _json(404, anthropic_error_body("not_found_error", f"no such endpoint: {event.http_method} {event.path}"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
