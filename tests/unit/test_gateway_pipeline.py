"""`serve_messages` end to end with in-memory fakes of every port: what is served, refused, recorded and queued."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from warden.config import FailMode
from warden.constants import HEADER_REQUEST_ID, HEADER_WARNING
from warden.domain.gateway import GatewayDeps, MessagesResult, serve_messages
from warden.domain.identity import hash_user_id
from warden.domain.moderator import ClaudeModerator
from warden.domain.review import PRIORITY_BLOCKED, PRIORITY_FLAGGED, PRIORITY_UNCHECKED
from warden.domain.strikes import StrikeLadder
from warden.errors import (
    DependencyUnavailableError,
    InvalidRequestError,
    PermissionDeniedError,
    UpstreamError,
    WardenError,
)
from warden.models import Decision, ScreenerVerdict, Tenant, UserStatus, UserTurn
from warden.taxonomy import Category

from tests.support.pictures import gif_of_size, jpeg_of_size, png_with_words
from tests.unit.fakes import (
    MODEL,
    ConversationReadingScreener,
    FailingScreener,
    FakeUserStore,
    KeywordScreener,
    RecordingAuditStore,
    RecordingReviewQueue,
    ScriptedClaude,
    StaticScreener,
    claude_message,
    runtime_config,
)

KEY = b"unit-test-user-hash-key"
TENANT = "tenant-a"
RAW_USER_ID = "alice-raw-id-7f3a"
USER_HASH = hash_user_id(KEY, TENANT, RAW_USER_ID)
REQUEST_ID = "wrq_01TEST"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
BLOCKING_SCORES = {Category.WEAPONS_ILLEGAL_GOODS: 0.95}
FLAGGING_SCORES = {Category.MISINFORMATION: 0.9}  # action "flag" in the test config


@dataclass
class Pipeline:
    deps: GatewayDeps
    users: FakeUserStore
    audit: RecordingAuditStore
    review: RecordingReviewQueue
    claude: ScriptedClaude
    screener: StaticScreener | FailingScreener | KeywordScreener | ConversationReadingScreener

    def serve(self, **overrides: Any) -> MessagesResult:
        return serve_messages(request_body(**overrides), Tenant(tenant_id=TENANT, name=TENANT), REQUEST_ID, self.deps)

    def refused(self, error: type[WardenError] = WardenError, **overrides: Any) -> WardenError:
        with pytest.raises(error) as caught:
            self.serve(**overrides)
        return caught.value


def request_body(**overrides: Any) -> bytes:
    body: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 256,
        "temperature": 0.3,
        "system": "You are a helpful assistant.",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "metadata": {"user_id": RAW_USER_ID},
        **overrides,
    }
    return json.dumps(body).encode()


def pipeline(
    screener: StaticScreener
    | FailingScreener
    | KeywordScreener
    | ConversationReadingScreener
    | ClaudeModerator
    | None = None,
    claude: ScriptedClaude | None = None,
    fail_mode: FailMode = FailMode.CLOSED,
    audit: RecordingAuditStore | None = None,
    review: RecordingReviewQueue | None = None,
    users: FakeUserStore | None = None,
) -> Pipeline:
    config = runtime_config(
        fail_mode=fail_mode.value,
        screening={
            "categories": {
                **{c.value: {"action": "block", "threshold": 0.5} for c in Category},
                Category.MISINFORMATION.value: {"action": "flag", "threshold": 0.5},
            }
        },
    )
    screener = screener or StaticScreener("fast")
    claude = claude or ScriptedClaude(claude_message())
    audit = audit or RecordingAuditStore()
    review = review or RecordingReviewQueue()
    users = users or FakeUserStore(StrikeLadder(config.strike_ladder))
    deps = GatewayDeps(
        config=config,
        user_hash_key=KEY,
        users=users,
        screeners=[screener],
        claude=claude,
        audit=audit,
        review=review,
        provider_label="anthropic",
        clock=lambda: NOW,
    )
    return Pipeline(deps, users, audit, review, claude, screener)


# ------------------------------------------------------------------ allowed


def test_allowed_request_returns_claudes_body_unchanged() -> None:
    answer = claude_message("Paris.", message_id="msg_paris")

    result = pipeline(claude=ScriptedClaude(answer)).serve()

    assert result.body == claude_message("Paris.", message_id="msg_paris")


def test_allowed_request_names_the_request_in_a_header() -> None:
    assert pipeline().serve().headers == {HEADER_REQUEST_ID: REQUEST_ID}


def test_claude_receives_the_user_hash_never_the_raw_id() -> None:
    flow = pipeline()

    flow.serve()

    sent = flow.claude.calls[0]
    assert sent["metadata"] == {"user_id": USER_HASH}
    assert RAW_USER_ID not in json.dumps(sent)


def test_claude_receives_the_rest_of_the_request_as_sent() -> None:
    flow = pipeline()

    flow.serve()

    sent = dict(flow.claude.calls[0])
    sent.pop("metadata")
    original = json.loads(request_body())
    original.pop("metadata")
    assert sent == original


@pytest.mark.parametrize("scores", [{}, FLAGGING_SCORES, BLOCKING_SCORES], ids=["allowed", "flagged", "blocked"])
def test_audit_record_holds_the_user_hash_and_nowhere_the_raw_id(scores: dict[Category, float]) -> None:
    flow = pipeline(StaticScreener("fast", scores))

    with contextlib.suppress(PermissionDeniedError):
        flow.serve()

    [record] = flow.audit.records
    assert record.user_hash == USER_HASH
    assert RAW_USER_ID not in record.model_dump_json()


def test_allowed_request_is_audited_with_claudes_answer() -> None:
    flow = pipeline(claude=ScriptedClaude(claude_message("Paris.", message_id="msg_paris")))

    flow.serve()

    [record] = flow.audit.records
    assert (record.request_id, record.tenant_id, record.decision) == (REQUEST_ID, TENANT, Decision.ALLOWED)
    assert record.claude_message_id == "msg_paris"
    assert record.completion is not None
    assert record.completion.content == [{"type": "text", "text": "Paris."}]


def test_allowed_request_queues_nothing_for_review() -> None:
    flow = pipeline()

    flow.serve()

    assert flow.review.items == []


def test_warned_user_is_served_with_a_warning_header() -> None:
    # Given a user who already has one active strike (warn_at=1 by default)
    flow = pipeline()
    flow.users.add_strike(USER_HASH, TENANT, "wrq_earlier", [Category.FRAUD_ABUSE], NOW)

    # When they send a benign request
    result = flow.serve()

    # Then it is served, and the app is told how close the user is to suspension
    assert result.headers[HEADER_WARNING] == (
        "this user has 1 usage-policy violation(s) in the current window; 4 more will suspend access"
    )


def test_screeners_see_the_text_of_every_user_turn_but_not_the_system_prompt_or_assistant_turns() -> None:
    flow = pipeline()
    turns = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "assistant answer"},
        {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image", "source": {}}]},
    ]

    flow.serve(messages=turns, system="tenant system prompt")

    assert isinstance(flow.screener, StaticScreener)
    assert flow.screener.texts == ["first question\n\nsecond"]


def test_screeners_see_the_text_of_documents_but_not_tool_results() -> None:
    # A document block is text the user gives Claude as surely as a text block: left unread, it would carry any
    # request past screening.
    flow = pipeline()
    pdf = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}
    turns = [
        {
            "role": "user",
            "content": [
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}},
                {"type": "document", "title": "Notes", "source": {"type": "content", "content": [
                    {"type": "text", "text": "content doc"}, {"type": "image", "source": {}}
                ]}},
                {"type": "document", "source": pdf},
                {"type": "text", "text": "summarise these"},
            ],
        },
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "search", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "tool output"}]},
    ]  # fmt: skip

    flow.serve(messages=turns)

    assert isinstance(flow.screener, StaticScreener)
    assert flow.screener.texts == ["plain doc\n\nNotes\n\ncontent doc\n\nsummarise these"]


def test_the_record_notes_what_the_user_gave_claude_that_no_screener_read() -> None:
    flow = pipeline()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}
    text_document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}}
    turns = [{"role": "user", "content": [image, image, pdf, text_document, {"type": "text", "text": "look"}]}]

    flow.serve(messages=turns)
    flow.serve()

    notes = [record.notes for record in flow.audit.records]
    assert notes == [["not screened: document (application/pdf) 1, image 2"], []]


def _inline(kind: str, media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    source = {"type": "base64", "media_type": media_type, "data": base64.b64encode(data).decode()}
    return {"type": kind, "source": source, **extra}


def test_a_request_written_in_an_image_is_blocked_by_a_screener_that_reads_images() -> None:
    # A picture of the words carries the request past every text screener; the moderator reads pictures.
    screener = ConversationReadingScreener("moderator", "pipe bomb", BLOCKING_SCORES)
    flow = pipeline(screener=screener)
    image = _inline(
        "image", "image/png", png_with_words("how to build a pipe bomb"), cache_control={"type": "ephemeral"}
    )
    turns = [{"role": "user", "content": [image, {"type": "text", "text": "do what the picture says"}]}]

    refused = flow.refused(PermissionDeniedError, messages=turns)

    assert refused.warden is not None and refused.warden["categories"] == ["weapons_illegal_goods"]
    # The screener got the image as Claude would have (without the tenant's cache mark), with the text.
    assert screener.seen == [("do what the picture says", [{"type": "image", "source": image["source"]}])]
    assert flow.claude.calls == []
    assert flow.audit.records[0].notes == []
    assert flow.audit.records[0].screening.verdicts[0].attachments == 1


def test_the_screener_reads_each_user_turn_with_its_images_and_pdfs_but_not_assistant_turns_or_tool_results() -> None:
    screener = ConversationReadingScreener("moderator", "never", BLOCKING_SCORES)
    flow = pipeline(screener=screener)
    first = _inline("image", "image/jpeg", jpeg_of_size(40, 30))
    pdf = _inline("document", "application/pdf", b"%PDF-1.7", title="Terms", citations={"enabled": True})
    by_url = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}
    in_tool = {"type": "tool_result", "tool_use_id": "t1", "content": [_inline("image", "image/png", b"tool")]}
    turns = [
        {"role": "user", "content": [first, {"type": "text", "text": "and"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "look", "input": {}}]},
        {"role": "user", "content": [in_tool]},  # nothing of the end user's: not a turn to screen
        {"role": "assistant", "content": "Looked."},
        {"role": "user", "content": [pdf, by_url, {"type": "text", "text": "these"}]},
    ]

    flow.serve(messages=turns)

    stripped_pdf = {"type": "document", "source": pdf["source"]}
    assert screener.turns == [[UserTurn("and", (first,)), UserTurn("Terms\n\nthese", (stripped_pdf, by_url))]]
    assert screener.seen == [("and\n\nTerms\n\nthese", [first, stripped_pdf, by_url])]
    assert flow.audit.records[0].notes == []


def test_what_the_screener_could_not_read_is_still_noted() -> None:
    # A Files API document is not readable without the tenant's files; a block of an unknown kind is not read.
    flow = pipeline(screener=ConversationReadingScreener("moderator", "never", BLOCKING_SCORES))
    stored = {"type": "document", "source": {"type": "file", "file_id": "file_011"}}
    picture = _inline("image", "image/png", png_with_words("x"))
    turns = [{"role": "user", "content": [picture, stored, {"type": "audio", "data": "?"}]}]

    flow.serve(messages=turns)

    assert flow.audit.records[0].notes == ["not screened: audio 1, document (file) 1"]


class _ReadsPngsOnly(ConversationReadingScreener):
    """Reads the PNG images alone, as the guardrail reads only what it can take (`guardrails.screen_images`)."""

    def screen_turns(self, turns: Sequence[UserTurn]) -> ScreenerVerdict:
        verdict = super().screen_turns(turns)
        pngs = sum(a["source"].get("media_type") == "image/png" for turn in turns for a in turn.attachments)
        return verdict.model_copy(update={"attachments": pngs})


def test_attachments_count_as_screened_only_when_a_screener_read_them_all() -> None:
    flow = pipeline(screener=_ReadsPngsOnly("guardrails", "never", BLOCKING_SCORES))
    png = _inline("image", "image/png", png_with_words("x"))
    gif = _inline("image", "image/gif", gif_of_size(4, 4))

    flow.serve(messages=[{"role": "user", "content": [png, {"type": "text", "text": "one"}]}])
    flow.serve(messages=[{"role": "user", "content": [png, gif, {"type": "text", "text": "two"}]}])

    assert [record.notes for record in flow.audit.records] == [[], ["not screened: image 2"]]


def test_attachments_a_failed_screener_was_given_are_noted_as_unscreened() -> None:
    flow = pipeline(
        screener=ConversationReadingScreener("moderator", "x", BLOCKING_SCORES, fail=True),
        fail_mode=FailMode.ALLOW_AND_FLAG,
    )
    turns = [
        {
            "role": "user",
            "content": [_inline("image", "image/png", png_with_words("x")), {"type": "text", "text": "hi"}],
        }
    ]

    flow.serve(messages=turns)

    assert flow.audit.records[0].notes == ["not screened: image 1"]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        (_inline("image", "image/bmp", b"BM"), "image content block 0: source.media_type must be one of image/jpeg"),
        (_inline("document", "text/plain", b"hi"), "document content block 0: source.media_type must be one of"),
        ({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "not base64!"}},
         "image content block 0: source.data is not valid base64"),
        ({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}},
         "image content block 0: source.data must be a non-empty base64 string"),
        ({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "aGk=é"}},
         "image content block 0: source.data is not valid base64"),
        (_inline("image", "image/jpeg", png_with_words("x")),
         "image content block 0: source.data is a PNG image, but source.media_type says image/jpeg"),
        (_inline("image", "image/png", b"just some bytes"),
         "image content block 0: source.data is not a JPEG, PNG, GIF or WebP image"),
        (_inline("image", "image/gif", gif_of_size(8001, 600)),
         "image content block 0: the image is 8001x600 pixels; Claude takes at most 8000 on a side"),
        (_inline("document", "application/pdf", b"<html>not a pdf</html>"),
         "document content block 0: source.data is not a PDF"),
    ],
    ids=["image-media-type", "pdf-media-type", "bad-base64", "empty", "non-ascii", "mismatched-type", "not-an-image",
         "too-large", "not-a-pdf"],
)  # fmt: skip
def test_an_unreadable_inline_image_or_pdf_is_a_clear_400_before_anything_is_called(
    block: dict[str, Any], problem: str
) -> None:
    # Claude would refuse it, and so would the moderator's call, which fail-closed would turn into an outage.
    flow = pipeline(screener=ConversationReadingScreener("moderator", "x", BLOCKING_SCORES))

    refused = flow.refused(InvalidRequestError, messages=[{"role": "user", "content": [block]}])

    assert problem in refused.message
    assert refused.message.startswith("messages.0.content")
    assert flow.screener.seen == [] and flow.claude.calls == [] and flow.audit.records == []


@pytest.mark.parametrize(("count", "refused"), [(21, True), (20, False)])
def test_in_a_request_of_more_than_twenty_images_a_side_over_2000_pixels_is_a_400(count: int, refused: bool) -> None:
    # Claude's rule for many-image requests, checked before the moderator's call would fail on it
    flow = pipeline(screener=ConversationReadingScreener("moderator", "never", BLOCKING_SCORES))
    small = _inline("image", "image/png", png_with_words("a", 2000, 2000))
    large = _inline("image", "image/jpeg", jpeg_of_size(2001, 100))
    first = {"role": "user", "content": [small] * (count - 10) + [{"type": "text", "text": "look"}]}
    second = {"role": "user", "content": [small] * 9 + [large, {"type": "text", "text": "and these"}]}
    turns = [first, {"role": "assistant", "content": "Yes?"}, second]

    if refused:
        error = flow.refused(InvalidRequestError, messages=turns)
        assert error.message == (
            "messages.2.content.9: the image is 2001x100 pixels; in a request of more than 20 images Claude takes "
            "at most 2000 on a side"
        )
        assert flow.screener.seen == [] and flow.claude.calls == []
    else:
        flow.serve(messages=turns)
        assert len(flow.claude.calls) == 1


def test_an_attachment_claude_refuses_in_the_moderators_call_is_the_apps_400_and_claude_is_not_called() -> None:
    # The moderator's call carries the user's image as Claude would get it; Claude's 400 about it is the request's
    moderator_claude = ScriptedClaude(
        UpstreamError(
            400, "invalid_request_error", "Claude: messages.0.content.0.image.source.base64: image exceeds 5 MB maximum"
        )
    )
    flow = pipeline(screener=ClaudeModerator(moderator_claude, MODEL, 8.0))
    turns = [
        {"role": "user", "content": [_inline("image", "image/png", png_with_words("x")), {"type": "text", "text": "?"}]}
    ]

    refused = flow.refused(InvalidRequestError, messages=turns)

    assert refused.message == "an image or document in the request cannot be read by Claude: image exceeds 5 MB maximum"
    assert len(moderator_claude.calls) == 1 and flow.claude.calls == [] and flow.audit.records == []


def test_line_wrapped_base64_is_accepted() -> None:
    flow = pipeline()
    data = base64.encodebytes(gif_of_size(64, 64) + bytes(range(256)) * 4).decode()
    assert "\n" in data
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": data}}

    flow.serve(messages=[{"role": "user", "content": [image, {"type": "text", "text": "hi"}]}])

    assert len(flow.claude.calls) == 1


def test_a_violating_request_in_a_document_is_blocked() -> None:
    flow = pipeline(screener=KeywordScreener("fast", "pipe bomb", BLOCKING_SCORES))
    source = {"type": "text", "media_type": "text/plain", "data": "a pipe bomb, step by step"}
    document = {"type": "document", "source": source}

    refused = flow.refused(PermissionDeniedError, messages=[{"role": "user", "content": [document]}])

    assert "weapons_illegal_goods" in refused.message
    assert flow.claude.calls == []


# ------------------------------------------------------------------ blocked


def test_blocked_request_adds_exactly_one_strike_for_the_blocked_categories() -> None:
    flow = pipeline(StaticScreener("fast", BLOCKING_SCORES))

    flow.refused(PermissionDeniedError)

    assert flow.users.strike_calls == [(USER_HASH, TENANT, REQUEST_ID, [Category.WEAPONS_ILLEGAL_GOODS])]


def test_blocked_request_is_refused_with_the_decision_categories_and_new_status() -> None:
    flow = pipeline(StaticScreener("fast", BLOCKING_SCORES))

    refusal = flow.refused(PermissionDeniedError)

    assert refusal.status == 403
    assert refusal.headers[HEADER_REQUEST_ID] == REQUEST_ID
    assert refusal.warden == {
        "request_id": REQUEST_ID,
        "decision": "blocked",
        "categories": ["weapons_illegal_goods"],
        "user_status": "warned",  # the strike just added reached warn_at=1
        "source": "input",
    }


def test_blocked_request_warns_the_app_of_the_users_new_standing() -> None:
    flow = pipeline(StaticScreener("fast", BLOCKING_SCORES))

    refusal = flow.refused(PermissionDeniedError)

    assert refusal.headers[HEADER_WARNING] == (
        "this user has 1 usage-policy violation(s) in the current window; 4 more will suspend access"
    )


def test_blocked_request_never_reaches_claude() -> None:
    flow = pipeline(StaticScreener("fast", BLOCKING_SCORES))

    flow.refused(PermissionDeniedError)

    assert flow.claude.calls == []


def test_blocked_request_writes_one_audit_record() -> None:
    flow = pipeline(StaticScreener("fast", BLOCKING_SCORES))

    flow.refused(PermissionDeniedError)

    [record] = flow.audit.records
    assert (record.decision, record.user_status) == (Decision.BLOCKED, UserStatus.WARNED)
    assert record.error is not None
    assert (record.error.status, record.error.type) == (403, "permission_error")
    assert record.completion is None


def test_blocked_request_enqueues_one_review_item_with_blocked_priority() -> None:
    flow = pipeline(StaticScreener("fast", BLOCKING_SCORES))

    flow.refused(PermissionDeniedError)

    [item] = flow.review.items
    assert (item.request_id, item.decision, item.categories) == (
        REQUEST_ID,
        Decision.BLOCKED,
        [Category.WEAPONS_ILLEGAL_GOODS],
    )
    assert item.priority == PRIORITY_BLOCKED
    assert item.s3_key == f"records/fake/{REQUEST_ID}.json"


def test_blocked_request_is_still_refused_and_recorded_when_the_strike_cannot_be_written() -> None:
    flow = pipeline(
        StaticScreener("fast", BLOCKING_SCORES),
        users=FakeUserStore(StrikeLadder(runtime_config().strike_ladder), fail_strikes=True),
    )

    refusal = flow.refused(PermissionDeniedError)

    [record] = flow.audit.records
    assert refusal.warden["user_status"] == "active"
    assert record.notes == ["strike not recorded: strike write failed: fake"]


# ------------------------------------------------------------------ suspended


def suspended_pipeline() -> Pipeline:
    flow = pipeline(StaticScreener("fast"))
    flow.users.set_status(USER_HASH, UserStatus.SUSPENDED)
    return flow


def test_suspended_user_is_refused_before_screening_and_claude() -> None:
    flow = suspended_pipeline()

    refusal = flow.refused(PermissionDeniedError)

    assert isinstance(flow.screener, StaticScreener)
    assert flow.screener.texts == []
    assert flow.claude.calls == []
    assert refusal.warden == {
        "request_id": REQUEST_ID,
        "decision": "suspended",
        "categories": [],
        "user_status": "suspended",
    }


def test_suspended_users_refusal_is_audited_without_a_new_strike() -> None:
    flow = suspended_pipeline()

    flow.refused(PermissionDeniedError)

    [record] = flow.audit.records
    assert record.decision is Decision.SUSPENDED
    assert flow.users.strike_calls == []


# ------------------------------------------------------------------ screener failure


def test_failing_screener_with_fail_mode_closed_is_unavailable_and_claude_is_not_called() -> None:
    flow = pipeline(FailingScreener("moderator"), fail_mode=FailMode.CLOSED)

    refusal = flow.refused(DependencyUnavailableError)

    assert refusal.status == 503
    assert refusal.warden["decision"] == "unavailable"
    assert "moderator failed" in refusal.message
    assert flow.claude.calls == []


def test_failing_screener_with_fail_mode_closed_is_audited() -> None:
    flow = pipeline(FailingScreener("moderator"), fail_mode=FailMode.CLOSED)

    flow.refused(DependencyUnavailableError)

    [record] = flow.audit.records
    assert (record.decision, record.screening.unchecked) == (Decision.UNAVAILABLE, ["moderator"])


def test_failing_screener_with_allow_and_flag_is_served_and_queued_as_unchecked() -> None:
    # Given a screener that fails and a tenant that prefers serving to refusing
    flow = pipeline(FailingScreener("moderator"), fail_mode=FailMode.ALLOW_AND_FLAG)

    # When a request arrives
    result = flow.serve()

    # Then Claude's answer is served, and a reviewer is asked to look at what was not checked
    assert result.body == claude_message()
    [item] = flow.review.items
    assert (item.decision, item.categories, item.priority) == (Decision.FLAGGED, [], PRIORITY_UNCHECKED)


# ------------------------------------------------------------------ flagged


def test_flagged_category_is_served_and_queued_for_review() -> None:
    flow = pipeline(StaticScreener("fast", FLAGGING_SCORES))

    result = flow.serve()

    assert result.body == claude_message()
    [item] = flow.review.items
    assert (item.decision, item.categories, item.priority) == (
        Decision.FLAGGED,
        [Category.MISINFORMATION],
        PRIORITY_FLAGGED,
    )


def test_flagged_request_adds_no_strike() -> None:
    flow = pipeline(StaticScreener("fast", FLAGGING_SCORES))

    flow.serve()

    assert flow.users.strike_calls == []


def test_a_review_queue_failure_does_not_fail_a_served_request() -> None:
    flow = pipeline(StaticScreener("fast", FLAGGING_SCORES), review=RecordingReviewQueue(fail=True))

    result = flow.serve()

    assert result.body == claude_message()


# ------------------------------------------------------------------ dependencies


@pytest.mark.parametrize(
    ("status", "error_type"), [(429, "rate_limit_error"), (529, "overloaded_error")], ids=["429", "529"]
)
def test_claude_error_propagates_with_the_request_id_header(status: int, error_type: str) -> None:
    upstream = UpstreamError(status, error_type, "Claude: busy", headers={"retry-after": "2"})
    flow = pipeline(claude=ScriptedClaude(upstream))

    refusal = flow.refused(UpstreamError)

    assert refusal is upstream
    assert refusal.headers == {"retry-after": "2", HEADER_REQUEST_ID: REQUEST_ID}


def test_claude_error_is_still_audited() -> None:
    flow = pipeline(claude=ScriptedClaude(UpstreamError(529, "overloaded_error", "Claude: Overloaded")))

    flow.refused(UpstreamError)

    [record] = flow.audit.records
    assert record.error is not None
    assert record.error.model_dump() == {"status": 529, "type": "overloaded_error", "message": "Claude: Overloaded"}
    assert record.completion is None


def test_audit_store_failure_is_dependency_unavailable() -> None:
    flow = pipeline(audit=RecordingAuditStore(fail=True))

    refusal = flow.refused(DependencyUnavailableError)

    assert refusal.status == 503
    assert refusal.headers == {HEADER_REQUEST_ID: REQUEST_ID}


def test_user_store_failure_is_dependency_unavailable_and_nothing_is_screened() -> None:
    flow = pipeline(users=FakeUserStore(StrikeLadder(runtime_config().strike_ladder), fail_reads=True))

    flow.refused(DependencyUnavailableError)

    assert isinstance(flow.screener, StaticScreener)
    assert flow.screener.texts == []


def test_invalid_request_is_refused_with_the_request_id_header() -> None:
    refusal = pipeline().refused(InvalidRequestError, stream=True)

    assert refusal.headers == {HEADER_REQUEST_ID: REQUEST_ID}
