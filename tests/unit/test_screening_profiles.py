"""Screening profiles per tenant: resolution, shadow mode, and output screening through `serve_messages`."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from warden.config import DEFAULT_PROFILE, Action, FailMode, InvalidConfigurationError, RuntimeConfig, parse_config
from warden.constants import HEADER_REQUEST_ID
from warden.domain.gateway import GatewayDeps, MessagesResult, serve_messages
from warden.domain.identity import hash_user_id
from warden.domain.ports import Screener
from warden.domain.review import PRIORITY_BLOCKED
from warden.domain.screening import resolve_profile
from warden.domain.strikes import StrikeLadder
from warden.errors import DependencyUnavailableError, PermissionDeniedError, WardenError
from warden.models import Decision, ReviewSource, Tenant, UserStatus
from warden.taxonomy import Category

from tests.unit.fakes import (
    MODEL,
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

KEY = b"unit-test-key"
TENANT = "tenant-a"
REQUEST_ID = "wrq_01PROFILE"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
HARMFUL_PROMPT = "how do I build a pipe bomb"
HARMFUL_ANSWER = "Step one: acquire the pipe bomb parts."
WEAPONS = {Category.WEAPONS_ILLEGAL_GOODS: 0.95}

SCREENING: dict[str, Any] = {
    "categories": {
        **{c.value: {"action": "block", "threshold": 0.5} for c in Category},
        Category.MISINFORMATION.value: {"action": "flag", "threshold": 0.5},
    },
    "profiles": {
        "shadow-trial": {"shadow": True},
        "strict": {
            "output_screening": True,
            "categories": {Category.MISINFORMATION.value: {"action": "block", "threshold": 0.6}},
        },
        "strict-shadow": {"output_screening": True, "shadow": True},
        "lenient": {"categories": {Category.WEAPONS_ILLEGAL_GOODS.value: {"action": "flag", "threshold": 0.9}}},
    },
}


def config(**screening: Any) -> RuntimeConfig:
    return runtime_config(screening={**SCREENING, **screening})


@dataclass
class Flow:
    deps: GatewayDeps
    users: FakeUserStore
    audit: RecordingAuditStore
    review: RecordingReviewQueue
    claude: ScriptedClaude

    def serve(self, profile: str, text: str = "What is the capital of France?") -> MessagesResult:
        body = {
            "model": MODEL,
            "max_tokens": 256,
            "messages": [{"role": "user", "content": text}],
            "metadata": {"user_id": "alice"},
        }
        return serve_messages(
            json.dumps(body).encode(), Tenant(tenant_id=TENANT, name=TENANT, profile=profile), REQUEST_ID, self.deps
        )

    def refused(self, error: type[WardenError], profile: str, text: str = "What is the capital?") -> WardenError:
        with pytest.raises(error) as caught:
            self.serve(profile, text)
        return caught.value


def flow(
    screeners: Sequence[Screener],
    answer: str = "Paris.",
    fail_mode: FailMode = FailMode.CLOSED,
    executor: ThreadPoolExecutor | None = None,
) -> Flow:
    runtime = config().model_copy(update={"fail_mode": fail_mode})
    users = FakeUserStore(StrikeLadder(runtime.strike_ladder))
    audit, review, claude = RecordingAuditStore(), RecordingReviewQueue(), ScriptedClaude(claude_message(answer))
    deps = GatewayDeps(
        config=runtime,
        user_hash_key=KEY,
        users=users,
        screeners=list(screeners),
        claude=claude,
        audit=audit,
        review=review,
        provider_label="anthropic",
        clock=lambda: NOW,
        executor=executor,
    )
    return Flow(deps, users, audit, review, claude)


def weapons_screener() -> KeywordScreener:
    return KeywordScreener("fast", "pipe bomb", WEAPONS)


# ------------------------------------------------------------------ configuration and resolution


def test_a_profile_overrides_only_the_categories_it_names() -> None:
    policy = resolve_profile(config().screening, "strict")

    assert policy.profile == "strict"
    assert policy.categories[Category.MISINFORMATION].action is Action.BLOCK
    assert policy.categories[Category.MISINFORMATION].threshold == 0.6
    assert policy.categories[Category.FRAUD_ABUSE] == config().screening.categories[Category.FRAUD_ABUSE]
    assert (policy.shadow, policy.output_screening) == (False, True)


def test_a_profile_inherits_the_modes_it_does_not_set() -> None:
    screening = config(shadow=True, output_screening=True).screening

    policy = resolve_profile(screening, "lenient")

    assert (policy.shadow, policy.output_screening) == (True, True)


def test_the_default_profile_is_the_top_level_screening() -> None:
    screening = config().screening

    policy = resolve_profile(screening, DEFAULT_PROFILE)

    assert (policy.profile, policy.categories, policy.shadow) == (DEFAULT_PROFILE, screening.categories, False)


def test_an_unknown_profile_gets_the_default_policy_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="warden.domain.screening"):
        policy = resolve_profile(config().screening, "no-such-profile")

    assert policy.profile == DEFAULT_PROFILE
    assert [record.profile for record in caplog.records] == ["no-such-profile"]  # type: ignore[attr-defined]


def test_a_profile_named_default_is_refused() -> None:
    with pytest.raises(InvalidConfigurationError, match="must not define 'default'"):
        parse_config({"models": {"allowed": [MODEL]}, "screening": {"profiles": {"default": {"shadow": True}}}})


def test_a_profile_with_an_unknown_category_is_refused() -> None:
    profiles = {"p": {"categories": {"not_a_category": {"action": "block"}}}}

    with pytest.raises(InvalidConfigurationError, match="not_a_category"):
        parse_config({"models": {"allowed": [MODEL]}, "screening": {"profiles": profiles}})


def test_a_tenants_profile_must_be_configured() -> None:
    screening = config().screening

    assert screening.require_profile("strict") == "strict"
    with pytest.raises(InvalidConfigurationError, match="known profiles: default, shadow-trial"):
        screening.require_profile("strictest")


# ------------------------------------------------------------------ per-profile policy


def test_a_profiles_override_blocks_what_the_default_only_flags() -> None:
    misinformation = KeywordScreener("fast", "moon landing", {Category.MISINFORMATION: 0.8})

    served = flow([misinformation]).serve(DEFAULT_PROFILE, "the moon landing was faked")
    refusal = flow([misinformation]).refused(PermissionDeniedError, "strict", "the moon landing was faked")

    assert served.body["content"][0]["text"] == "Paris."
    assert refusal.warden["categories"] == ["misinformation"]


def test_a_profiles_raised_threshold_lets_a_score_below_it_through() -> None:
    weapons = KeywordScreener("fast", "pipe bomb", {Category.WEAPONS_ILLEGAL_GOODS: 0.7})
    pipeline = flow([weapons])

    pipeline.serve("lenient", HARMFUL_PROMPT)

    [record] = pipeline.audit.records
    assert (record.decision, record.screening.profile) == (Decision.ALLOWED, "lenient")


def test_an_unknown_profile_is_screened_with_the_default_policy_not_refused() -> None:
    pipeline = flow([weapons_screener()])

    pipeline.refused(PermissionDeniedError, "deleted-profile", HARMFUL_PROMPT)

    [record] = pipeline.audit.records
    assert (record.decision, record.screening.profile) == (Decision.BLOCKED, DEFAULT_PROFILE)


# ------------------------------------------------------------------ shadow mode


def test_shadow_mode_serves_a_violating_prompt_unchanged() -> None:
    pipeline = flow([weapons_screener()])

    result = pipeline.serve("shadow-trial", HARMFUL_PROMPT)

    assert result.body == claude_message("Paris.")
    assert result.headers == {HEADER_REQUEST_ID: REQUEST_ID}
    assert len(pipeline.claude.calls) == 1


def test_shadow_mode_adds_no_strike() -> None:
    pipeline = flow([weapons_screener()])

    pipeline.serve("shadow-trial", HARMFUL_PROMPT)

    assert pipeline.users.strike_calls == []


def test_shadow_mode_records_the_decision_it_would_have_made() -> None:
    pipeline = flow([weapons_screener()])

    pipeline.serve("shadow-trial", HARMFUL_PROMPT)

    [record] = pipeline.audit.records
    assert (record.screening.decision, record.screening.shadow) == (Decision.BLOCKED, True)
    assert record.screening.blocked_categories == [Category.WEAPONS_ILLEGAL_GOODS]
    assert record.decision is Decision.FLAGGED
    assert record.user_status is UserStatus.ACTIVE
    assert record.completion is not None


def test_shadow_mode_sends_a_would_be_block_to_review_as_flagged() -> None:
    pipeline = flow([weapons_screener()])

    pipeline.serve("shadow-trial", HARMFUL_PROMPT)

    [item] = pipeline.review.items
    assert (item.decision, item.source, item.categories) == (
        Decision.FLAGGED,
        ReviewSource.INPUT,
        [Category.WEAPONS_ILLEGAL_GOODS],
    )


def test_shadow_mode_serves_a_clean_prompt_as_allowed_without_review() -> None:
    pipeline = flow([weapons_screener()])

    pipeline.serve("shadow-trial")

    [record] = pipeline.audit.records
    assert (record.decision, record.screening.shadow) == (Decision.ALLOWED, True)
    assert pipeline.review.items == []


def test_shadow_mode_serves_when_a_screener_fails_under_fail_closed() -> None:
    pipeline = flow([FailingScreener("moderator")], fail_mode=FailMode.CLOSED)

    pipeline.serve("shadow-trial")

    [record] = pipeline.audit.records
    assert (record.screening.decision, record.decision) == (Decision.UNAVAILABLE, Decision.FLAGGED)
    assert record.screening.unchecked == ["moderator"]


def test_shadow_mode_still_refuses_a_suspended_user() -> None:
    pipeline = flow([weapons_screener()])
    pipeline.users.set_status(hash_user_id(KEY, TENANT, "alice"), UserStatus.SUSPENDED)

    refusal = pipeline.refused(PermissionDeniedError, "shadow-trial")

    assert refusal.warden["decision"] == "suspended"


# ------------------------------------------------------------------ output screening


def test_output_screening_is_off_unless_the_profile_turns_it_on() -> None:
    screener = StaticScreener("fast")
    pipeline = flow([screener], answer=HARMFUL_ANSWER)

    pipeline.serve(DEFAULT_PROFILE)

    assert screener.texts == ["What is the capital of France?"]
    assert pipeline.audit.records[0].output_screening is None


def test_output_screening_screens_the_text_of_claudes_answer() -> None:
    screener = StaticScreener("fast")
    pipeline = flow([screener], answer=HARMFUL_ANSWER)

    pipeline.serve("strict")

    assert screener.texts == ["What is the capital of France?", HARMFUL_ANSWER]
    [record] = pipeline.audit.records
    assert record.output_screening is not None
    assert record.output_screening.decision is Decision.ALLOWED
    assert "output_screening" in record.latency_ms


def test_answers_go_to_the_output_screeners_when_the_deployment_has_them() -> None:
    prompts, answers = StaticScreener("fast"), StaticScreener("fast")
    pipeline = flow([prompts], answer=HARMFUL_ANSWER)
    pipeline.deps.output_screeners = [answers]

    pipeline.serve("strict")

    assert (prompts.texts, answers.texts) == (["What is the capital of France?"], [HARMFUL_ANSWER])


def test_a_blocked_answer_is_withheld_with_a_permission_error_naming_the_output() -> None:
    pipeline = flow([weapons_screener()], answer=HARMFUL_ANSWER)

    refusal = pipeline.refused(PermissionDeniedError, "strict")

    assert refusal.status == 403
    assert refusal.warden == {
        "request_id": REQUEST_ID,
        "decision": "blocked",
        "categories": ["weapons_illegal_goods"],
        "user_status": "warned",
        "source": "output",
    }
    assert HARMFUL_ANSWER not in json.dumps(refusal.warden)


def test_a_blocked_answer_adds_a_strike() -> None:
    pipeline = flow([weapons_screener()], answer=HARMFUL_ANSWER)

    pipeline.refused(PermissionDeniedError, "strict")

    [(_, tenant, request_id, categories)] = pipeline.users.strike_calls
    assert (tenant, request_id, categories) == (TENANT, REQUEST_ID, [Category.WEAPONS_ILLEGAL_GOODS])


def test_a_blocked_answer_is_recorded_with_the_completion_and_the_output_verdicts() -> None:
    pipeline = flow([weapons_screener()], answer=HARMFUL_ANSWER)

    pipeline.refused(PermissionDeniedError, "strict")

    [record] = pipeline.audit.records
    assert record.decision is Decision.BLOCKED
    assert record.screening.decision is Decision.ALLOWED
    assert record.output_screening is not None
    assert record.output_screening.blocked_categories == [Category.WEAPONS_ILLEGAL_GOODS]
    assert record.completion is not None
    assert record.completion.content == [{"type": "text", "text": HARMFUL_ANSWER}]
    assert record.error is not None and record.error.status == 403


def test_a_blocked_answer_goes_to_review_with_source_output() -> None:
    pipeline = flow([weapons_screener()], answer=HARMFUL_ANSWER)

    pipeline.refused(PermissionDeniedError, "strict")

    [item] = pipeline.review.items
    assert (item.source, item.decision, item.priority) == (ReviewSource.OUTPUT, Decision.BLOCKED, PRIORITY_BLOCKED)


def test_a_flagged_answer_is_served_and_goes_to_review_with_source_output() -> None:
    misinformation = KeywordScreener("fast", "flat", {Category.MISINFORMATION: 0.55})  # under strict's 0.6 block
    lenient_output = config(output_screening=True)
    pipeline = flow([misinformation], answer="The earth is flat.")
    pipeline.deps.config = lenient_output

    result = pipeline.serve(DEFAULT_PROFILE)

    assert result.body["content"][0]["text"] == "The earth is flat."
    [record] = pipeline.audit.records
    assert record.decision is Decision.FLAGGED
    [item] = pipeline.review.items
    assert (item.source, item.decision, item.categories) == (
        ReviewSource.OUTPUT,
        Decision.FLAGGED,
        [Category.MISINFORMATION],
    )


def test_a_blocked_answer_in_shadow_mode_is_served_and_flagged_for_review() -> None:
    pipeline = flow([weapons_screener()], answer=HARMFUL_ANSWER)

    result = pipeline.serve("strict-shadow")

    assert result.body["content"][0]["text"] == HARMFUL_ANSWER
    assert pipeline.users.strike_calls == []
    [record] = pipeline.audit.records
    assert record.output_screening is not None
    assert (record.output_screening.decision, record.decision) == (Decision.BLOCKED, Decision.FLAGGED)
    [item] = pipeline.review.items
    assert (item.source, item.decision) == (ReviewSource.OUTPUT, Decision.FLAGGED)


def test_an_answer_that_cannot_be_screened_is_withheld_when_failing_closed() -> None:
    class FailsOnAnswers(FailingScreener):
        def screen(self, text: str) -> Any:
            if text == HARMFUL_ANSWER:
                return super().screen(text)
            return StaticScreener(self.name).screen(text)

    pipeline = flow([FailsOnAnswers("moderator")], answer=HARMFUL_ANSWER)

    refusal = pipeline.refused(DependencyUnavailableError, "strict")

    assert refusal.status == 503
    assert refusal.warden["source"] == "output"
    [record] = pipeline.audit.records
    assert record.decision is Decision.UNAVAILABLE
    assert record.completion is not None


def test_an_answer_with_no_text_is_not_screened() -> None:
    screener = StaticScreener("fast")
    tool_call = {**claude_message(), "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]}
    pipeline = flow([screener])
    pipeline.claude.script = [tool_call]

    pipeline.serve("strict")

    assert len(screener.texts) == 1
    [record] = pipeline.audit.records
    assert record.output_screening is not None and record.output_screening.verdicts == []


def test_output_screening_runs_the_same_screeners_on_the_executor() -> None:
    moderator = KeywordScreener("moderator", "pipe bomb", WEAPONS)
    guardrails = StaticScreener("guardrails")
    with ThreadPoolExecutor(max_workers=2) as executor:
        pipeline = flow([StaticScreener("fast"), moderator, guardrails], answer=HARMFUL_ANSWER, executor=executor)

        refusal = pipeline.refused(PermissionDeniedError, "strict")

    assert refusal.warden["source"] == "output"
    assert moderator.texts == ["What is the capital?", HARMFUL_ANSWER]
    assert guardrails.texts == ["What is the capital?", HARMFUL_ANSWER]
